"""The demo core-banking system: :class:`~.interface.CoreBanking` on one SQLite file.

Each call opens its own short connection and transaction, so one instance can
be shared by threads and processes. Writes take SQLite's write lock up front
(``BEGIN IMMEDIATE``) so that, for example, two transfers cannot both spend
the same balance.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from . import seed as seed_data
from .errors import (
    BackendError,
    CardStateError,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
)
from .interface import (
    Account,
    AccountType,
    BranchHours,
    Card,
    CardDelivery,
    CardReplacement,
    ContactField,
    ContactUpdateResult,
    Customer,
    Dispute,
    FeeOrRate,
    FraudAlert,
    FraudAlertResolution,
    Transaction,
    TransferResult,
)
from .schema import DDL, SCHEMA_VERSION, insert_row

Clock = Callable[[], datetime]

_CENT = Decimal("0.01")
_MAX_TRANSFER = Decimal("1000000.00")
_NEW_CARD_DELIVERY_DAYS = 5
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USABLE_FIRST = {"active": 0, "frozen": 1, "inactive": 2, "lost": 3, "closed": 4}


def _money(cents: int) -> Decimal:
    return (Decimal(cents) * _CENT).quantize(_CENT)


def _cents(amount: Decimal) -> int:
    """Convert a positive amount with at most two decimal places to cents."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise InvalidRequestError("amount is not a number", code="invalid_amount") from exc
    if not value.is_finite() or value <= 0 or value != value.quantize(_CENT):
        raise InvalidRequestError(
            "amount must be positive with at most two decimal places", code="invalid_amount"
        )
    return int(value / _CENT)


def _parse_id(prefix: str, public_id: str) -> int:
    if not isinstance(public_id, str) or not public_id.startswith(prefix):
        raise NotFoundError()
    digits = public_id[len(prefix):]
    if not digits.isdigit():
        raise NotFoundError()
    return int(digits)


def _normalise_merchant(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).casefold()
    return re.sub(r"[^a-z0-9]+", " ", folded).strip()


class SqliteCoreBanking:
    """Demo implementation of :class:`~.interface.CoreBanking`.

    The database is created and seeded on first use. ``clock`` supplies "now"
    (tests pass a fixed one); it dates new cards, cases and transfers, and the
    seed's anchor date.
    """

    def __init__(self, path: str | Path, *, clock: Clock | None = None) -> None:
        self._path = Path(path)
        self._clock: Clock = clock or datetime.now
        self._ensure_database()

    # -- storage ---------------------------------------------------------

    @contextmanager
    def _tx(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise BackendError("cannot open the demo database") from exc
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise BackendError("demo database error") from exc
        finally:
            conn.close()

    def _ensure_database(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._tx(write=True) as conn:
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
            if has_meta is None:
                for statement in DDL.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                anchor = self._clock().date()
                seed_data.seed(conn, anchor)
                conn.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("schema_version", SCHEMA_VERSION), ("anchor", anchor.isoformat())],
                )
                return
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None or row["value"] != SCHEMA_VERSION:
                raise BackendError(
                    "the demo database has an old schema; delete it to recreate it",
                    code="schema_mismatch",
                )

    def _today(self) -> date:
        return self._clock().date()

    # -- row -> model ----------------------------------------------------

    @staticmethod
    def _account(row: sqlite3.Row) -> Account:
        return Account(
            account_id=f"A{row['id']:05d}",
            account_type=row["account_type"],
            nickname=row["nickname"],
            number_last_four=row["number"][-4:],
            balance=_money(row["balance_cents"]),
            currency=row["currency"],
        )

    @staticmethod
    def _card(row: sqlite3.Row) -> Card:
        delivery = None
        if row["delivery_status"] is not None:
            eta = row["delivery_eta"]
            delivery = CardDelivery(
                status=row["delivery_status"],
                eta=None if row["delivery_status"] == "delivered" or eta is None
                else date.fromisoformat(eta),
            )
        return Card(
            card_id=f"K{row['id']:05d}",
            kind=row["kind"],
            last_four=row["pan"][-4:],
            status=row["status"],
            expires_on=date.fromisoformat(row["expires_on"]),
            delivery=delivery,
        )

    @staticmethod
    def _transaction(row: sqlite3.Row) -> Transaction:
        return Transaction(
            transaction_id=f"T{row['id']:06d}",
            account_id=f"A{row['account_id']:05d}",
            posted_on=date.fromisoformat(row["posted_on"]),
            merchant=row["merchant"],
            amount=_money(row["amount_cents"]),
            currency=row["currency"],
            card_last_four=row["pan"][-4:] if row["pan"] else None,
        )

    @staticmethod
    def _alert(row: sqlite3.Row) -> FraudAlert:
        return FraudAlert(
            alert_id=f"FA{row['id']:05d}",
            card_id=f"K{row['card_id']:05d}",
            card_last_four=row["pan"][-4:],
            merchant=row["merchant"],
            amount=_money(row["amount_cents"]),
            currency=row["currency"],
            occurred_at=datetime.fromisoformat(row["occurred_at"]),
            status=row["status"],
        )

    # -- lookups shared by operations -----------------------------------

    @staticmethod
    def _customer_row(conn: sqlite3.Connection, customer_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM customers WHERE id = ?", (_parse_id("C", customer_id),)
        ).fetchone()
        if row is None:
            raise NotFoundError()
        return row

    @staticmethod
    def _card_row(conn: sqlite3.Connection, customer_id: str, card_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM cards WHERE id = ? AND customer_id = ?",
            (_parse_id("K", card_id), _parse_id("C", customer_id)),
        ).fetchone()
        if row is None:
            raise NotFoundError()
        return row

    @staticmethod
    def _account_row(conn: sqlite3.Connection, customer_id: str, account_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM accounts WHERE id = ? AND customer_id = ?",
            (_parse_id("A", account_id), _parse_id("C", customer_id)),
        ).fetchone()
        if row is None:
            raise NotFoundError()
        return row

    @staticmethod
    def _reload_card(conn: sqlite3.Connection, card_pk: int) -> Card:
        return SqliteCoreBanking._card(
            conn.execute("SELECT * FROM cards WHERE id = ?", (card_pk,)).fetchone()
        )

    def _open_case(
        self,
        conn: sqlite3.Connection,
        customer_pk: int,
        kind: str,
        *,
        transaction_pk: int | None = None,
        alert_pk: int | None = None,
        reason: str = "",
    ) -> str:
        case_pk = insert_row(
            conn,
            "INSERT INTO cases (customer_id, kind, transaction_id, alert_id, reason, opened_on)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (customer_pk, kind, transaction_pk, alert_pk, reason[:500],
             self._today().isoformat()),
        )
        return f"CASE-{case_pk:06d}"

    # -- verification and customer --------------------------------------

    def verify_customer(self, date_of_birth: date, card_last_four: str) -> str | None:
        """Return the customer id matching both factors, or None (also when ambiguous)."""
        last_four = str(card_last_four).strip()
        if not (len(last_four) == 4 and last_four.isdigit()):
            return None
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT DISTINCT customers.id FROM customers JOIN cards"
                " ON cards.customer_id = customers.id"
                " WHERE customers.date_of_birth = ? AND substr(cards.pan, -4) = ?"
                " AND cards.status != 'closed'",
                (date_of_birth.isoformat(), last_four),
            ).fetchall()
        if len(rows) != 1:
            return None
        return f"C{rows[0]['id']:05d}"

    def get_customer(self, customer_id: str) -> Customer:
        """Return the customer's name."""
        with self._tx() as conn:
            row = self._customer_row(conn, customer_id)
        return Customer(
            customer_id=customer_id, first_name=row["first_name"], last_name=row["last_name"]
        )

    # -- accounts and transactions --------------------------------------

    def list_accounts(self, customer_id: str) -> list[Account]:
        """Return the customer's accounts with current balances."""
        with self._tx() as conn:
            self._customer_row(conn, customer_id)
            rows = conn.execute(
                "SELECT * FROM accounts WHERE customer_id = ? ORDER BY account_type, id",
                (_parse_id("C", customer_id),),
            ).fetchall()
        return [self._account(row) for row in rows]

    def find_account(self, customer_id: str, account_type: AccountType) -> Account | None:
        """Return the customer's first account of this type, if any."""
        for account in self.list_accounts(customer_id):
            if account.account_type == account_type:
                return account
        return None

    def recent_transactions(
        self,
        customer_id: str,
        *,
        account_id: str | None = None,
        since: date | None = None,
        limit: int = 10,
    ) -> list[Transaction]:
        """Return the newest transactions first, optionally for one account or from a date."""
        if limit < 1:
            raise InvalidRequestError("limit must be at least 1", code="invalid_limit")
        sql = (
            "SELECT transactions.*, accounts.currency, cards.pan FROM transactions"
            " JOIN accounts ON accounts.id = transactions.account_id"
            " LEFT JOIN cards ON cards.id = transactions.card_id"
            " WHERE accounts.customer_id = ?"
        )
        params: list[object] = [_parse_id("C", customer_id)]
        if account_id is not None:
            sql += " AND accounts.id = ?"
            params.append(_parse_id("A", account_id))
        if since is not None:
            sql += " AND transactions.posted_on >= ?"
            params.append(since.isoformat())
        sql += " ORDER BY transactions.posted_on DESC, transactions.id DESC LIMIT ?"
        params.append(limit)
        with self._tx() as conn:
            self._customer_row(conn, customer_id)
            if account_id is not None:
                self._account_row(conn, customer_id, account_id)
            rows = conn.execute(sql, params).fetchall()
        return [self._transaction(row) for row in rows]

    def transfer(
        self, customer_id: str, from_account_id: str, to_account_id: str, amount: Decimal
    ) -> TransferResult:
        """Move money between two of the customer's own accounts; no overdraft."""
        cents = _cents(amount)
        if cents > _cents(_MAX_TRANSFER):
            raise InvalidRequestError("amount above the transfer limit", code="over_limit")
        if from_account_id == to_account_id:
            raise InvalidRequestError("source and destination are the same", code="same_account")
        with self._tx(write=True) as conn:
            source = self._account_row(conn, customer_id, from_account_id)
            target = self._account_row(conn, customer_id, to_account_id)
            if source["currency"] != target["currency"]:
                raise InvalidRequestError("accounts use different currencies", code="currency")
            if source["balance_cents"] < cents:
                raise InsufficientFundsError()
            conn.execute(
                "UPDATE accounts SET balance_cents = balance_cents - ? WHERE id = ?",
                (cents, source["id"]),
            )
            conn.execute(
                "UPDATE accounts SET balance_cents = balance_cents + ? WHERE id = ?",
                (cents, target["id"]),
            )
            now = self._clock()
            transfer_pk = insert_row(
                conn,
                "INSERT INTO transfers (customer_id, from_account, to_account, amount_cents,"
                " created_at) VALUES (?, ?, ?, ?, ?)",
                (source["customer_id"], source["id"], target["id"], cents, now.isoformat()),
            )
            reference = f"TRF-{transfer_pk:06d}"
            for account, signed, other in ((source, -cents, target), (target, cents, source)):
                conn.execute(
                    "INSERT INTO transactions (account_id, posted_on, merchant, amount_cents)"
                    " VALUES (?, ?, ?, ?)",
                    (account["id"], now.date().isoformat(),
                     f"Transfer {reference} {'to' if signed < 0 else 'from'} {other['nickname']}",
                     signed),
                )
            rows = {
                row["id"]: row
                for row in conn.execute(
                    "SELECT * FROM accounts WHERE id IN (?, ?)", (source["id"], target["id"])
                )
            }
        return TransferResult(
            reference=reference,
            amount=_money(cents),
            from_account=self._account(rows[source["id"]]),
            to_account=self._account(rows[target["id"]]),
        )

    # -- cards ------------------------------------------------------------

    def list_cards(self, customer_id: str) -> list[Card]:
        """Return all the customer's cards, including lost and closed ones."""
        with self._tx() as conn:
            self._customer_row(conn, customer_id)
            rows = conn.execute(
                "SELECT * FROM cards WHERE customer_id = ? ORDER BY id",
                (_parse_id("C", customer_id),),
            ).fetchall()
        return [self._card(row) for row in rows]

    def find_card(self, customer_id: str, last_four: str) -> Card | None:
        """Return the customer's card with these last four digits (the usable one first)."""
        matches = [card for card in self.list_cards(customer_id) if card.last_four == last_four]
        matches.sort(key=lambda card: _USABLE_FIRST[card.status])
        return matches[0] if matches else None

    def _set_card_status(
        self, customer_id: str, card_id: str, target: str, allowed_from: set[str]
    ) -> Card:
        with self._tx(write=True) as conn:
            row = self._card_row(conn, customer_id, card_id)
            if row["status"] == target:
                return self._card(row)
            if row["status"] not in allowed_from:
                raise CardStateError(f"card is {row['status']}")
            conn.execute("UPDATE cards SET status = ? WHERE id = ?", (target, row["id"]))
            return self._reload_card(conn, row["id"])

    def freeze_card(self, customer_id: str, card_id: str) -> Card:
        """Temporarily block an active card (idempotent on a frozen card)."""
        return self._set_card_status(customer_id, card_id, "frozen", {"active"})

    def unfreeze_card(self, customer_id: str, card_id: str) -> Card:
        """Lift a temporary block (idempotent on an active card)."""
        return self._set_card_status(customer_id, card_id, "active", {"frozen"})

    def _order_replacement(self, customer_id: str, card_id: str, *, lost: bool) -> CardReplacement:
        with self._tx(write=True) as conn:
            row = self._card_row(conn, customer_id, card_id)
            usable = {"active", "frozen", "inactive"}
            if row["status"] not in usable:
                raise CardStateError(f"card is {row['status']}")
            pending = conn.execute(
                "SELECT 1 FROM cards WHERE replaces_card = ? AND status = 'inactive'", (row["id"],)
            ).fetchone()
            if pending is not None and not lost:
                raise CardStateError("a replacement is already on its way", code="already_ordered")
            if lost:
                conn.execute("UPDATE cards SET status = 'lost' WHERE id = ?", (row["id"],))
            today = self._today()
            serial = conn.execute("SELECT COUNT(*) FROM cards").fetchone()[0] + 1000
            prefix = "400005" if row["kind"] == "credit" else "400000"
            pan = seed_data.make_pan(prefix, serial, f"{(serial * 7919) % 10000:04d}")
            new_pk = insert_row(
                conn,
                "INSERT INTO cards (customer_id, account_id, kind, pan, status, expires_on,"
                " delivery_status, delivery_eta, replaces_card)"
                " VALUES (?, ?, ?, ?, 'inactive', ?, 'ordered', ?, ?)",
                (row["customer_id"], row["account_id"], row["kind"], pan,
                 seed_data.end_of_month(today.year + 3, today.month).isoformat(),
                 (today + timedelta(days=_NEW_CARD_DELIVERY_DAYS)).isoformat(), row["id"]),
            )
            return CardReplacement(
                old_card=self._reload_card(conn, row["id"]),
                new_card=self._reload_card(conn, new_pk),
            )

    def report_lost_card(self, customer_id: str, card_id: str) -> CardReplacement:
        """Mark a card lost or stolen (permanently blocked) and order a new one."""
        return self._order_replacement(customer_id, card_id, lost=True)

    def replace_card(self, customer_id: str, card_id: str) -> CardReplacement:
        """Order a replacement for a damaged or expiring card; the old one works until
        the new one is activated."""
        return self._order_replacement(customer_id, card_id, lost=False)

    def activate_card(self, customer_id: str, last_four: str) -> Card:
        """Activate a newly received card; a card it replaces is closed."""
        with self._tx(write=True) as conn:
            self._customer_row(conn, customer_id)
            rows = conn.execute(
                "SELECT * FROM cards WHERE customer_id = ? AND substr(pan, -4) = ?"
                " ORDER BY status = 'inactive' DESC, id DESC",
                (_parse_id("C", customer_id), str(last_four).strip()),
            ).fetchall()
            if not rows:
                raise NotFoundError()
            row = rows[0]
            if row["status"] == "active":
                return self._card(row)
            if row["status"] != "inactive":
                raise CardStateError(f"card is {row['status']}")
            conn.execute(
                "UPDATE cards SET status = 'active', delivery_status = CASE WHEN"
                " delivery_status IS NULL THEN NULL ELSE 'delivered' END WHERE id = ?",
                (row["id"],),
            )
            if row["replaces_card"] is not None:
                conn.execute(
                    "UPDATE cards SET status = 'closed' WHERE id = ? AND status != 'lost'",
                    (row["replaces_card"],),
                )
            return self._reload_card(conn, row["id"])

    # -- disputes and fraud -----------------------------------------------

    def open_dispute(
        self,
        customer_id: str,
        *,
        transaction_id: str | None = None,
        merchant: str | None = None,
        amount: Decimal | None = None,
        reason: str = "",
    ) -> Dispute:
        """Open (or return the existing) dispute case on a transaction, found by id or by
        merchant name and amount."""
        base = (
            "SELECT transactions.* FROM transactions JOIN accounts"
            " ON accounts.id = transactions.account_id WHERE accounts.customer_id = ?"
            " AND transactions.amount_cents < 0"
        )
        customer_pk = _parse_id("C", customer_id)
        with self._tx(write=True) as conn:
            self._customer_row(conn, customer_id)
            if transaction_id is not None:
                row = conn.execute(
                    base + " AND transactions.id = ?",
                    (customer_pk, _parse_id("T", transaction_id)),
                ).fetchone()
            elif merchant is not None and amount is not None:
                wanted = _normalise_merchant(merchant)
                cents = _cents(amount)
                candidates = conn.execute(
                    base + " AND transactions.amount_cents = ?"
                    " ORDER BY transactions.posted_on DESC, transactions.id DESC",
                    (customer_pk, -cents),
                ).fetchall()
                row = next(
                    (c for c in candidates
                     if wanted and wanted in _normalise_merchant(c["merchant"])),
                    None,
                )
            else:
                raise InvalidRequestError(
                    "give a transaction id, or a merchant and an amount", code="missing_fields"
                )
            if row is None:
                raise NotFoundError()
            existing = conn.execute(
                "SELECT * FROM cases WHERE kind = 'dispute' AND transaction_id = ?", (row["id"],)
            ).fetchone()
            if existing is not None:
                case_number = f"CASE-{existing['id']:06d}"
                opened_on = date.fromisoformat(existing["opened_on"])
            else:
                case_number = self._open_case(
                    conn, customer_pk, "dispute", transaction_pk=row["id"], reason=reason
                )
                opened_on = self._today()
        return Dispute(
            case_number=case_number,
            transaction_id=f"T{row['id']:06d}",
            merchant=row["merchant"],
            amount=_money(-row["amount_cents"]),
            status="open",
            opened_on=opened_on,
        )

    _ALERT_SQL = (
        "SELECT fraud_alerts.*, cards.pan, cards.customer_id FROM fraud_alerts"
        " JOIN cards ON cards.id = fraud_alerts.card_id WHERE cards.customer_id = ?"
    )

    def pending_fraud_alert(self, customer_id: str) -> FraudAlert | None:
        """Return the oldest fraud alert awaiting the customer's answer, if any."""
        with self._tx() as conn:
            self._customer_row(conn, customer_id)
            row = conn.execute(
                self._ALERT_SQL + " AND fraud_alerts.status = 'pending'"
                " ORDER BY fraud_alerts.occurred_at, fraud_alerts.id LIMIT 1",
                (_parse_id("C", customer_id),),
            ).fetchone()
        return None if row is None else self._alert(row)

    def _resolve_alert(
        self, customer_id: str, alert_id: str, *, genuine: bool
    ) -> FraudAlertResolution:
        with self._tx(write=True) as conn:
            row = conn.execute(
                self._ALERT_SQL + " AND fraud_alerts.id = ?",
                (_parse_id("C", customer_id), _parse_id("FA", alert_id)),
            ).fetchone()
            if row is None:
                raise NotFoundError()
            if row["status"] != "pending":
                raise InvalidRequestError("alert already answered", code="alert_not_pending")
            case_number = None
            if genuine:
                conn.execute(
                    "UPDATE fraud_alerts SET status = 'confirmed' WHERE id = ?", (row["id"],)
                )
            else:
                conn.execute("UPDATE fraud_alerts SET status = 'denied' WHERE id = ?", (row["id"],))
                conn.execute(
                    "UPDATE cards SET status = 'frozen' WHERE id = ? AND status = 'active'",
                    (row["card_id"],),
                )
                case_number = self._open_case(
                    conn, row["customer_id"], "fraud", alert_pk=row["id"],
                    reason="customer denied a fraud alert",
                )
            card = self._reload_card(conn, row["card_id"])
        return FraudAlertResolution(
            alert_id=alert_id,
            outcome="confirmed" if genuine else "denied",
            card=card,
            case_number=case_number,
        )

    def confirm_fraud_alert(self, customer_id: str, alert_id: str) -> FraudAlertResolution:
        """The customer made the transaction: clear the alert."""
        return self._resolve_alert(customer_id, alert_id, genuine=True)

    def deny_fraud_alert(self, customer_id: str, alert_id: str) -> FraudAlertResolution:
        """The customer did not make it: freeze the card and open a fraud case."""
        return self._resolve_alert(customer_id, alert_id, genuine=False)

    # -- contact details --------------------------------------------------

    def update_contact_details(
        self,
        customer_id: str,
        *,
        address: str | None = None,
        phone: str | None = None,
        email: str | None = None,
    ) -> ContactUpdateResult:
        """Replace the given contact details; returns only which fields changed."""
        changes: dict[ContactField, str] = {}
        if address is not None:
            cleaned = " ".join(address.split())
            if not 5 <= len(cleaned) <= 200:
                raise InvalidRequestError("address length is out of range", code="invalid_address")
            changes["address"] = cleaned
        if phone is not None:
            digits = re.sub(r"[\s().\-]", "", phone)
            if not re.fullmatch(r"\+?\d{7,15}", digits):
                raise InvalidRequestError("not a phone number", code="invalid_phone")
            changes["phone"] = digits
        if email is not None:
            cleaned = email.strip()
            if len(cleaned) > 254 or not _EMAIL.match(cleaned):
                raise InvalidRequestError("not an email address", code="invalid_email")
            changes["email"] = cleaned
        if not changes:
            raise InvalidRequestError("nothing to update", code="missing_fields")
        with self._tx(write=True) as conn:
            row = self._customer_row(conn, customer_id)
            for column, value in changes.items():  # column names come from the Literal above
                conn.execute(f"UPDATE customers SET {column} = ? WHERE id = ?", (value, row["id"]))
        return ContactUpdateResult(updated_fields=tuple(changes))

    # -- public information -----------------------------------------------

    def branch_hours(self, branch: str | None = None) -> list[BranchHours]:
        """Return opening hours of all branches, or of those whose name contains ``branch``."""
        with self._tx() as conn:
            rows = conn.execute("SELECT * FROM branches ORDER BY id").fetchall()
        wanted = _normalise_merchant(branch or "").removesuffix(" branch")
        return [
            BranchHours(
                branch_id=f"B{row['id']:03d}",
                name=row["name"],
                address=row["address"],
                weekday_hours=row["weekday_hours"],
                saturday_hours=row["saturday_hours"],
                sunday_hours=row["sunday_hours"],
                atm_hours=row["atm_hours"],
            )
            for row in rows
            if wanted in _normalise_merchant(row["name"])
        ]

    def fees_and_rates(self) -> list[FeeOrRate]:
        """Return the published fees and interest rates."""
        with self._tx() as conn:
            rows = conn.execute("SELECT * FROM fees_and_rates ORDER BY position").fetchall()
        return [
            FeeOrRate(
                code=row["code"],
                description=row["description"],
                kind=row["kind"],
                value=Decimal(row["value"]),
                unit=row["unit"],
                notes=row["notes"],
            )
            for row in rows
        ]
