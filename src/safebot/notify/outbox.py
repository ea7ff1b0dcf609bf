"""The transactional outbox: a notification request and its deliveries in one transaction.

:meth:`Outbox.enqueue` writes the request (``notify_notifications``, unique on the keyed hash
of its idempotency key), every contact (address encrypted under the contact's conversation
data key, found by keyed hash), and one delivery per recipient (``queued``, unique on the
keyed hash of its own idempotency key), all or nothing. The same request twice returns the
first one; the same key with different content is refused. Only after the commit are the
delivery *ids* handed to the broker (:mod:`safebot.notify.broker`); a crash in between
loses nothing, because the relay publishes what was never published.

Delivery states only move forward (``rank``)::

    queued(1) -> sending(2) -> sent(3) -> delivered(4) -> read(5)
                                         failed | suppressed | expired (9, final)

A ``sending`` row with no lease owner is waiting to be tried again (the platform refused
the last try, so nothing was sent); one with an owner whose lease ran out is reconciled
(:mod:`safebot.notify.sender`).

All methods block (SQLAlchemy): call them off the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, String, Table, any_, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from safebot.errors import ConfigError, SafebotError
from safebot.sensitive import Sensitive
from safebot.stores._base import now
from safebot.stores._errors import mapped_errors
from safebot.stores._notify_schema import ContactRow, DeliveryRow, NotificationRow
from safebot.stores._schema import Conversation, DataKeyRow
from safebot.stores.vault import DataKey, decrypt, encrypt, vault_aad

if TYPE_CHECKING:  # pragma: no cover
    from safebot.notify.templates import Catalog, Template
    from safebot.stores import SqlStore

__all__ = [
    "FINAL",
    "RANK",
    "Enqueued",
    "IdempotencyConflict",
    "Outbox",
    "Recipient",
    "Refs",
    "normalise_address",
]

RANK = {"queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5, "failed": 9, "suppressed": 9, "expired": 9}
FINAL = frozenset({"failed", "suppressed", "expired"})
_CHUNK = 2000


class IdempotencyConflict(SafebotError):
    """The idempotency key was used before for a different request (HTTP 409)."""

    code = "idempotency_conflict"


@dataclass(frozen=True)
class Recipient:
    """Who a notification goes to: a channel address and, if known, the organisation's
    customer id (a suppression by customer then applies on every channel).

    >>> Recipient("+1 650 555 0123", customer_id="C-1001")
    Recipient(***)
    """

    address: str
    customer_id: str | None = None
    channel: str = "whatsapp"
    #: per-recipient parameters (merged over the request's)
    params: Mapping[str, object] = field(default_factory=dict)
    #: this recipient's own idempotency key within a mass send (default: its address)
    key: str | None = None

    def __repr__(self) -> str:
        return "Recipient(***)"

    __str__ = __repr__


def normalise_address(channel: str, address: str) -> str:
    """A WhatsApp address as Meta's ``wa_id``: the E.164 number's digits, no ``+``.

    >>> normalise_address("whatsapp", "+1 (650) 555-0123")
    '16505550123'
    """
    if channel != "whatsapp":
        raise ValueError("only the whatsapp channel is supported")
    if not isinstance(address, str):
        raise ValueError("an address must be text")
    digits = "".join(c for c in address if c.isdigit())
    if not 8 <= len(digits) <= 15 or digits.startswith("0"):
        # No value in the message: it is the customer's number.
        raise ValueError("not an international phone number (country code first)")
    return digits


@dataclass(frozen=True)
class Refs:
    """The keyed hashes the outbox stores instead of values (the bot's ``ids`` key)."""

    #: ``conversation_ref(external_id)``: the channel's conversation of an address
    conversation_ref: Callable[[str], str]
    #: a keyed hash in its own namespace (idempotency keys, customer ids, request bodies)
    keyed: Callable[[str, str], str]

    def contact(self, channel: str, address: str) -> str:
        return self.conversation_ref(f"{channel}:{address}")

    def idempotency(self, key: str) -> str:
        return self.keyed(key, "notify-key")

    def customer(self, customer_id: str) -> str:
        return self.keyed(customer_id, "notify-customer")


@dataclass
class Enqueued:
    """What :meth:`Outbox.enqueue` did."""

    notification_id: str
    #: delivery ids written now (empty for a repeated request)
    delivery_ids: list[int]
    duplicate: bool = False
    #: recipients refused before queueing: (row number, reason); never a value
    rejected: list[tuple[int, str]] = field(default_factory=list)
    #: the same address twice in one request: sent once
    repeated: int = 0


def data_key_id(ref: str) -> str:
    from safebot.stores.conversations import data_key_id as engine_data_key_id

    return engine_data_key_id(ref)


def _insert_ignore(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise ConfigError("notifications need SQLite or PostgreSQL")


def _qualified(conn: Connection, table: Any) -> str:
    """``"schema"."table"`` as the store's schema translation names it (PostgreSQL)."""
    schema = (conn.get_execution_options().get("schema_translate_map") or {}).get(None)
    quote = conn.dialect.identifier_preparer.quote
    return (f"{quote(schema)}." if schema else "") + quote(table.name)


def _bulk_insert(conn: Connection, table: Any, rows: Sequence[Mapping[str, Any]], *, ignore_conflicts: bool) -> None:
    """Many rows in one go. On PostgreSQL through COPY (a 2,000-row INSERT ... VALUES costs
    more to build and parse than to run); conflicts ignored through a temporary table. Same
    transaction as the caller's."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(_insert_ignore(conn, table) if ignore_conflicts else table.insert(), list(rows))
        return
    cols = list(rows[0])
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in cols)
    target = _qualified(conn, table)
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur:
        into = target
        if ignore_conflicts:
            into = quote(f"tmp_{table.name}")
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {into} (LIKE {target}) ON COMMIT DELETE ROWS")
        with cur.copy(f"COPY {into} ({names}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(tuple(r[c] for c in cols))
        if ignore_conflicts:
            cur.execute(f"INSERT INTO {target} ({names}) SELECT {names} FROM {into} ON CONFLICT DO NOTHING")
            cur.execute(f"DELETE FROM {into}")


def _among(conn: Connection, column: Any, values: Sequence[str]) -> Any:
    """``column IN values``; on PostgreSQL as ``= ANY(array)``, one parameter however many."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(String)))
    return column.in_(list(values))


def _new_ids(conn: Connection, table: Any, n: int) -> list[int]:
    """``n`` ids from the table's own sequence (PostgreSQL), for rows written by COPY."""
    seq = conn.exec_driver_sql("SELECT pg_get_serial_sequence(%(t)s, 'id')", {"t": _qualified(conn, table)}).scalar_one()
    return [int(i) for i in conn.exec_driver_sql(
        "SELECT nextval(%(s)s) FROM generate_series(1, %(n)s)", {"s": seq, "n": n}).scalars()]


def _params_aad(ref: str, key_ref: str) -> bytes:
    return vault_aad(ref, f"notify-params:{key_ref}")


def _address_aad(ref: str) -> bytes:
    return vault_aad(ref, "notify-address")


class Outbox:
    """The notification tables of one store."""

    def __init__(self, store: SqlStore, refs: Refs) -> None:
        self.store = store
        self.refs = refs

    def __repr__(self) -> str:
        return "Outbox()"

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with mapped_errors(), self.store.write_engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with mapped_errors(), self.store.engine.connect() as conn:
            yield conn

    # -- enqueue ----------------------------------------------------------------------------------
    def enqueue(
        self,
        catalog: Catalog,
        template: Template,
        idempotency_key: str,
        recipients: Iterable[Recipient],
        *,
        params: Mapping[str, object] | None = None,
        requested_by: str,
        render_text: Callable[[str], str],
        on_progress: Callable[[int], None] | None = None,
        published: bool = False,
    ) -> Enqueued:
        """Queue ``template`` to every recipient, in one transaction (see the module doc).

        A recipient whose address or parameters are invalid is refused (``rejected``, by
        row number and reason) and the rest are queued. ``published``: the caller hands the
        ids to the broker right after the commit, so the rows are stamped as published now
        (a relay running meanwhile does not publish them a second time; if the caller dies
        before publishing, the relay publishes them once they are stale).
        """
        if not isinstance(idempotency_key, str) or not 1 <= len(idempotency_key) <= 256:
            raise ValueError("an idempotency key is 1-256 characters")
        base = dict(params or {})
        key_ref = self.refs.idempotency(idempotency_key)
        rows: list[dict[str, Any]] = []
        rejected: list[tuple[int, str]] = []
        seen: set[str] = set()
        repeated = 0
        digest = hmac.new(key_ref.encode(), template.name.encode(), hashlib.sha256)
        stamp, t = now(), time.time()
        expires = t + template.ttl_seconds if template.ttl_seconds else None
        cache: dict[str, str] = {}

        def render(text: str) -> str:
            if text not in cache:
                cache[text] = render_text(text)
            return cache[text]

        for n, r in enumerate(recipients, start=1):
            try:
                address = normalise_address(r.channel, r.address)
                values = catalog.prepare(template, {**base, **dict(r.params)}, render)
            except ValueError as exc:
                rejected.append((n, str(exc)))
                continue
            ref = self.refs.contact(r.channel, address)
            own = r.key if r.key is not None else ref
            delivery_key = self.refs.idempotency(f"{idempotency_key}\x00{own}")
            if delivery_key in seen:
                repeated += 1
                continue
            seen.add(delivery_key)
            customer_ref = self.refs.customer(r.customer_id) if r.customer_id else None
            digest.update(json.dumps([ref, own, customer_ref, values], sort_keys=True).encode())
            rows.append({
                "ref": ref, "channel": r.channel, "address": Sensitive(address), "customer_ref": customer_ref,
                "customer_key_id": f"customer:{r.customer_id}" if r.customer_id else None,
                "key_ref": delivery_key, "values": values,
            })
        if not rows and rejected:
            from safebot.notify.templates import ParamError

            raise ParamError(rejected[0][1] if len(rejected) == 1 else f"every recipient was refused; the first: {rejected[0][1]}")
        request_hash = digest.hexdigest()
        with self.tx() as conn:
            existing = conn.execute(
                select(NotificationRow.id, NotificationRow.request_hash).where(NotificationRow.key_ref == key_ref)
            ).first()
            if existing is not None:
                if not hmac.compare_digest(existing.request_hash, request_hash):
                    raise IdempotencyConflict("this idempotency key was used for a different request")
                return Enqueued(str(existing.id), [], duplicate=True, rejected=rejected, repeated=repeated)
            notification_id = "ntf_" + secrets.token_hex(12)
            # The same key from two requests at once: on PostgreSQL the second insert waits for
            # the first transaction and then does nothing (its check above saw no row yet).
            won = conn.execute(_insert_ignore(conn, NotificationRow.__table__).values(
                id=notification_id, key_ref=key_ref, request_hash=request_hash, template=template.name,
                category=template.category, purpose=template.purpose, requested_by=requested_by,
                recipients=len(rows), created_at=stamp,
            ).returning(NotificationRow.id)).first()
            if won is None:
                other = conn.execute(
                    select(NotificationRow.id, NotificationRow.request_hash).where(NotificationRow.key_ref == key_ref)
                ).one()
                if not hmac.compare_digest(other.request_hash, request_hash):
                    raise IdempotencyConflict("this idempotency key was used for a different request")
                return Enqueued(str(other.id), [], duplicate=True, rejected=rejected, repeated=repeated)
            ids: list[int] = []
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start:start + _CHUNK]
                keys = self._data_keys(conn, [r["ref"] for r in chunk])
                self._contacts(conn, chunk, keys, stamp)
                deliveries = [{
                    "notification_id": notification_id, "key_ref": r["key_ref"], "contact_ref": r["ref"],
                    "customer_ref": r["customer_ref"], "channel": r["channel"], "template": template.name,
                    "category": template.category, "purpose": template.purpose,
                    "lawful_basis": template.lawful_basis,
                    "params": encrypt(keys[r["ref"]], Sensitive(json.dumps(r["values"], ensure_ascii=False)),
                                      _params_aad(r["ref"], r["key_ref"])),
                    "state": "queued", "rank": RANK["queued"], "attempts": 0, "not_before": 0.0,
                    "expires_at": expires, "created_at": stamp, "updated_at": stamp,
                    "published_at": t if published else None,
                } for r in chunk]
                if conn.dialect.name == "postgresql":
                    # No conflict is possible: every key_ref includes this request's own key.
                    fresh = _new_ids(conn, DeliveryRow.__table__, len(deliveries))
                    _bulk_insert(conn, DeliveryRow.__table__,
                                 [{"id": i, **row} for i, row in zip(fresh, deliveries, strict=True)],
                                 ignore_conflicts=False)
                    ids += fresh
                else:
                    inserted = conn.execute(
                        _insert_ignore(conn, DeliveryRow.__table__).returning(DeliveryRow.id, sort_by_parameter_order=True),
                        deliveries,
                    ).scalars().all()
                    ids += [int(i) for i in inserted]
                if on_progress is not None:
                    on_progress(len(chunk))
        return Enqueued(notification_id, ids, rejected=rejected, repeated=repeated)

    def _data_keys(self, conn: Connection, refs: Sequence[str]) -> dict[str, DataKey]:
        """Each contact's conversation data key, created in bulk where missing (this transaction)."""
        ring = self.store.keyring
        wanted = {data_key_id(r): r for r in dict.fromkeys(refs)}
        found = dict(conn.execute(
            select(DataKeyRow.key_id, DataKeyRow.wrapped).where(_among(conn, DataKeyRow.key_id, list(wanted)))
        ).all())
        missing = [k for k in wanted if k not in found]
        if missing:
            stamp = now()
            _bulk_insert(conn, DataKeyRow.__table__, [
                {"key_id": k, "wrapped": ring.wrap(k, DataKey(secrets.token_bytes(32))), "created_at": stamp}
                for k in missing
            ], ignore_conflicts=True)
            found |= dict(conn.execute(
                select(DataKeyRow.key_id, DataKeyRow.wrapped).where(_among(conn, DataKeyRow.key_id, missing))
            ).all())
        return {wanted[k]: ring.unwrap(k, w) for k, w in found.items()}

    def _contacts(self, conn: Connection, rows: Sequence[Mapping[str, Any]], keys: Mapping[str, DataKey], stamp: str) -> None:
        unique = {r["ref"]: r for r in rows}
        _bulk_insert(conn, ContactRow.__table__, [{
            "ref": ref, "channel": r["channel"], "customer_ref": r["customer_ref"], "created_at": stamp,
            "address": encrypt(keys[ref], r["address"], _address_aad(ref)),
        } for ref, r in unique.items()], ignore_conflicts=True)
        # The channel's conversation, linked to the customer so that erasing them shreds it.
        _bulk_insert(conn, Conversation.__table__, [{
            "id": ref, "channel": r["channel"], "customer_key_id": r["customer_key_id"],
            "created_at": stamp, "updated_at": stamp,
        } for ref, r in unique.items()], ignore_conflicts=True)
        linked = [{"cid": ref, "ckey": r["customer_key_id"]} for ref, r in unique.items() if r["customer_key_id"]]
        if linked:
            c = cast(Table, Conversation.__table__)
            conn.execute(
                update(c).where(c.c.id == bindparam("cid"), c.c.customer_key_id.is_(None))
                .values(customer_key_id=bindparam("ckey")), linked,
            )
            ct = cast(Table, ContactRow.__table__)
            conn.execute(
                update(ct).where(ct.c.ref == bindparam("cid"), ct.c.customer_ref.is_(None))
                .values(customer_ref=bindparam("cref")),
                [{"cid": ref, "cref": r["customer_ref"]} for ref, r in unique.items() if r["customer_ref"]],
            )

    # -- what a sender reads ---------------------------------------------------------------------
    def contacts(self, conn: Connection, refs: Iterable[str]) -> dict[str, tuple[Sensitive[str], DataKey]]:
        """Addresses and data keys of ``refs`` in one query; erased contacts are left out."""
        refs = list(refs)
        if not refs:
            return {}
        c, k = ContactRow, DataKeyRow
        addresses = dict(conn.execute(select(c.ref, c.address).where(c.ref.in_(refs))).all())
        ids = {data_key_id(r): r for r in addresses}
        wrapped = dict(conn.execute(select(k.key_id, k.wrapped).where(k.key_id.in_(list(ids)))).all())
        ring = self.store.keyring
        out = {}
        for key_id, blob in wrapped.items():
            ref = ids[key_id]
            key = ring.unwrap(key_id, blob)
            out[ref] = (decrypt(key, addresses[ref], _address_aad(ref)), key)
        return out

    def decrypt_params(self, key: DataKey, ref: str, key_ref: str, blob: bytes) -> dict[str, str]:
        return dict(json.loads(decrypt(key, blob, _params_aad(ref, key_ref)).reveal()))

    def address(self, conn: Connection, ref: str) -> Sensitive[str] | None:
        """A contact's address, or None if unknown or erased (its data key shredded)."""
        found = self.contacts(conn, [ref]).get(ref)
        return None if found is None else found[0]

    def params(self, conn: Connection, ref: str, key_ref: str, blob: bytes | None) -> dict[str, str] | None:
        found = self.contacts(conn, [ref]).get(ref)
        if found is None or blob is None:
            return None
        return self.decrypt_params(found[1], ref, key_ref, blob)

    # -- the relay --------------------------------------------------------------------------------
    def mark_published(self, ids: Sequence[int], at: float | None = None) -> None:
        d = DeliveryRow
        t = time.time() if at is None else at
        with self.tx() as conn:
            for start in range(0, len(ids), _CHUNK):
                conn.execute(update(d).where(d.id.in_(list(ids[start:start + _CHUNK]))).values(published_at=t))

    def claim_unpublished(self, limit: int, *, republish_after: float | None, at: float | None = None) -> list[int]:
        """Ids to hand to the broker: never published, or (unless ``republish_after`` is None)
        published long ago and still waiting. Stamped as published in the same transaction,
        so two relays do not both take them."""
        d = DeliveryRow
        t = time.time() if at is None else at
        waiting = or_(d.state == "queued", (d.state == "sending") & d.lease_owner.is_(None))
        due = (d.published_at.is_(None) if republish_after is None
               else or_(d.published_at.is_(None), d.published_at < t - republish_after))
        pick = select(d.id).where(waiting, d.not_before <= t, due).order_by(d.id).limit(limit)
        with self.tx() as conn:
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = [int(i) for i in conn.execute(pick).scalars().all()]
            if ids:
                conn.execute(update(d).where(d.id.in_(ids)).values(published_at=t))
        return ids

    # -- reading ----------------------------------------------------------------------------------
    def notification(self, notification_id: str) -> dict[str, Any] | None:
        n, d = NotificationRow, DeliveryRow
        with self.read() as conn:
            row = conn.execute(select(n.id, n.template, n.category, n.purpose, n.requested_by, n.recipients,
                                      n.created_at).where(n.id == notification_id)).first()
            if row is None:
                return None
            counts = dict(conn.execute(select(d.state, func.count()).where(d.notification_id == notification_id)
                                       .group_by(d.state)).all())
        return {**dict(row._mapping), "states": {k: int(v) for k, v in counts.items()}}

    def delivery(self, delivery_id: int) -> dict[str, Any] | None:
        d = DeliveryRow
        cols = [d.id, d.notification_id, d.channel, d.template, d.category, d.purpose, d.lawful_basis, d.state,
                d.attempts, d.error_code, d.error_title, d.pricing_category, d.created_at, d.sending_at, d.sent_at,
                d.delivered_at, d.read_at, d.finished_at, d.message_ref, d.contact_ref]
        with self.read() as conn:
            row = conn.execute(select(*cols).where(d.id == int(delivery_id))).first()
        return None if row is None else dict(row._mapping)

    def deliveries_of(self, notification_id: str) -> list[int]:
        d = DeliveryRow
        with self.read() as conn:
            return [int(i) for i in conn.execute(select(d.id).where(d.notification_id == notification_id)
                                                  .order_by(d.id)).scalars()]

    def counts(self, notification_id: str | None = None) -> dict[str, int]:
        d = DeliveryRow
        stmt = select(d.state, func.count()).group_by(d.state)
        if notification_id is not None:
            stmt = stmt.where(d.notification_id == notification_id)
        with self.read() as conn:
            return {str(k): int(v) for k, v in conn.execute(stmt).all()}
