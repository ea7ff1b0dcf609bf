"""The unit of work: everything one turn writes, committed together or not at all."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, Table, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from safebot.audit.canonical import check_detail
from safebot.audit.signing import AuditSigner
from safebot.errors import StoreError
from safebot.events import RedactedEvent, ensure_redacted
from safebot.redaction.audit import AuditRecord
from safebot.sensitive import Sensitive
from safebot.stores._errors import VersionConflict
from safebot.stores._schema import (
    ConsentRow,
    Conversation,
    DataKeyRow,
    OutboxRow,
    Tracker,
    TranscriptRow,
    ValueIndexRow,
    VaultRow,
    now,
)
from safebot.stores.vault import DataKey, KeyRing, decrypt, encrypt, fingerprint, vault_aad

__all__ = ["LINKABLE", "ConnectionKeyStorage", "UnitOfWork"]

#: vaulted identifiers that belong to one person: a conversation holding one is erased with
#: that person (dates of birth, names and places are shared by many, so they link nothing)
LINKABLE = frozenset({
    "CREDIT_CARD", "IBAN_CODE", "BANK_ACCOUNT", "US_SSN", "US_ITIN", "EMAIL_ADDRESS", "PHONE_NUMBER",
    "ADDRESS", "PASSPORT", "PASSPORT_MRZ", "TICKET_NUMBER", "FREQUENT_FLYER", "KNOWN_TRAVELER_NUMBER",
    "REDRESS_NUMBER",
})

# These columns are stored in clear, so they must look like what they are and nothing else:
# a customer value passed by mistake as a token or kind is refused, not written.
_TOKEN = re.compile(r"<[A-Z][A-Z0-9_]*_[0-9]+>")
_ENTITY = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_FINGERPRINT = re.compile(r"[0-9a-f]{16,64}")
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_SAFE_TYPES = (str, int, float, bool, type(None))


def _upsert_dialect(conn: Connection) -> Any:
    """The dialect's ``insert`` that knows ON CONFLICT DO NOTHING, or None for another backend."""
    return {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(conn.dialect.name)


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """INSERT unless the primary/unique key exists; True if a row was inserted.

    One statement, so two writers racing on first use cannot both fail or both win.
    """
    dialect_insert = _upsert_dialect(conn)
    if dialect_insert is None:  # another backend: a savepoint keeps the outer transaction usable
        from sqlalchemy.exc import IntegrityError

        try:
            with conn.begin_nested():
                conn.execute(insert(table).values(**values))
        except IntegrityError:
            return False
        return True
    # RETURNING rather than rowcount: psycopg reports -1 for some INSERTs.
    first_pk = next(iter(table.primary_key.columns))
    stmt = dialect_insert(table).values(**values).on_conflict_do_nothing().returning(first_pk)
    return conn.execute(stmt).first() is not None


#: rows per multi-row INSERT: well under SQLite's oldest bound-parameter limit (999) at six columns
_MANY = 150


def insert_ignore_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]], key: str) -> set[Any]:
    """:func:`insert_ignore` for many rows with the same columns, in statements of at most
    :data:`_MANY` rows; returns the ``key`` column's values of the rows inserted."""
    dialect_insert = _upsert_dialect(conn)
    if dialect_insert is None:
        return {r[key] for r in rows if insert_ignore(conn, table, r)}
    inserted: set[Any] = set()
    for start in range(0, len(rows), _MANY):
        chunk = [dict(r) for r in rows[start:start + _MANY]]
        stmt = dialect_insert(table).values(chunk).on_conflict_do_nothing().returning(table.c[key])
        inserted.update(conn.execute(stmt).scalars())
    return inserted


class ConnectionKeyStorage:
    """Wrapped data keys in the ``data_keys`` table, inside the caller's transaction.

    Inside a unit of work this must be the unit's own connection: on SQLite a second
    connection would wait on the write lock the unit already holds.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get_wrapped(self, key_id: str) -> bytes | None:
        return self._conn.execute(
            select(DataKeyRow.wrapped).where(DataKeyRow.key_id == key_id)
        ).scalar_one_or_none()

    def add_wrapped(self, key_id: str, wrapped: bytes) -> bytes:
        insert_ignore(self._conn, DataKeyRow.__table__, {"key_id": key_id, "wrapped": wrapped, "created_at": now()})  # type: ignore[arg-type]
        stored = self.get_wrapped(key_id)
        if stored is None:  # pragma: no cover - deleted between our two statements
            raise StoreError("data key vanished while it was being created")
        return stored

    def delete_wrapped(self, key_id: str) -> bool:
        stmt = delete(DataKeyRow).where(DataKeyRow.key_id == key_id).returning(DataKeyRow.key_id)
        return self._conn.execute(stmt).first() is not None


class UnitOfWork:
    """One turn's writes on one transaction. Get it from :meth:`SqlStore.unit_of_work`.

    >>> with store.unit_of_work() as uow:                       # doctest: +SKIP
    ...     uow.ensure_conversation("c1", "whatsapp")
    ...     state = uow.get_tracker("c1") or {}
    ...     uow.append(user_event)
    ...     uow.save_tracker("c1", state, uow.tracker_version("c1"))

    Writers create a missing conversation row (channel from the event, else ``"api"``); call
    :meth:`ensure_conversation` first to record the real channel and customer.
    """

    def __init__(
        self, conn: Connection, keyring: KeyRing, *, audit_signer: AuditSigner | None = None,
        checkpoint_every: int = 1000,
    ) -> None:
        self._conn = conn
        self._keys = keyring.with_storage(ConnectionKeyStorage(conn))
        # Audit records wait here and join the hash chain in _finish (issue 11, safebot.audit).
        self._audit: list[AuditRecord] = []
        self._audit_signer = audit_signer
        self._checkpoint_every = checkpoint_every
        self._known: set[str] = set()
        self._touched: set[str] = set()
        self._versions: dict[str, int | None] = {}
        self._open = True

    def __repr__(self) -> str:
        return f"UnitOfWork(open={self._open})"

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for feature tables written in the same transaction."""
        self._check_open()
        return self._conn

    # -- conversations ---------------------------------------------------------------------
    def ensure_conversation(self, cid: str, channel: str, customer_key_id: str | None = None) -> None:
        """Create the conversation if missing; fill in ``customer_key_id`` if it had none."""
        self._check_open()
        row = self._conn.execute(
            select(Conversation.customer_key_id).where(Conversation.id == cid)
        ).first()
        if row is None:
            stamp = now()
            insert_ignore(
                self._conn,
                Conversation.__table__,  # type: ignore[arg-type]
                {"id": cid, "channel": _name(channel, "channel"), "customer_key_id": customer_key_id,
                 "created_at": stamp, "updated_at": stamp},
            )
        elif customer_key_id is not None and row.customer_key_id is None:
            self.set_customer(cid, customer_key_id)
        self._known.add(cid)

    def set_customer(self, cid: str, customer_key_id: str) -> None:
        """Link the conversation to a customer (after identity verification)."""
        self._check_open()
        self._require(cid)
        self._conn.execute(
            update(Conversation).where(Conversation.id == cid).values(customer_key_id=customer_key_id)
        )
        self._touched.add(cid)

    # -- tracker ---------------------------------------------------------------------------
    def get_tracker(self, cid: str) -> dict[str, Any] | None:
        """The saved tracker state, or None. Its version is then :meth:`tracker_version`."""
        self._check_open()
        row = self._conn.execute(
            select(Tracker.state, Tracker.version).where(Tracker.conversation_id == cid)
        ).first()
        self._versions[cid] = None if row is None else row.version
        return None if row is None else cast(dict[str, Any], row.state)

    def tracker_version(self, cid: str) -> int | None:
        """The version :meth:`get_tracker` read (or the current one); None if no tracker."""
        self._check_open()
        if cid not in self._versions:
            self._versions[cid] = self._conn.execute(
                select(Tracker.version).where(Tracker.conversation_id == cid)
            ).scalar_one_or_none()
        return self._versions[cid]

    def save_tracker(self, cid: str, state: dict[str, Any], expected_version: int | None) -> int:
        """Save ``state`` if the stored version is still ``expected_version``; return the new one.

        ``expected_version=None`` means "no tracker yet". Raises :class:`VersionConflict`
        (a StoreError) when another writer got there first.
        """
        self._check_open()
        self._require(cid)
        if expected_version is None:
            if not insert_ignore(self._conn, Tracker.__table__, {"conversation_id": cid, "state": state, "version": 1}):  # type: ignore[arg-type]
                raise VersionConflict("tracker changed concurrently (it already exists)")
            new = 1
        else:
            updated = self._conn.execute(
                update(Tracker)
                .where(Tracker.conversation_id == cid, Tracker.version == expected_version)
                .values(state=state, version=expected_version + 1)
                .returning(Tracker.version)
            ).first()
            if updated is None:
                raise VersionConflict("tracker changed concurrently (version mismatch)")
            new = expected_version + 1
        self._versions[cid] = new
        self._touched.add(cid)
        return new

    # -- events ----------------------------------------------------------------------------
    def append(self, event: RedactedEvent) -> int:
        """Add a transcript event (destination must be ``"transcript"``); returns its row id."""
        self._check_open()
        event = _checked(event, "transcript")
        self._require(event.conversation_id, event.channel)
        result = self._conn.execute(
            insert(TranscriptRow).values(
                conversation_id=event.conversation_id,
                turn=event.turn,
                time=event.time,
                kind=event.kind,
                text=None if event.text is None else event.text.text,
                entities="" if event.text is None else ",".join(event.text.entity_types),
                data=dict(event.data) or None,
            )
        )
        self._touched.add(event.conversation_id)
        return _inserted_id(result)

    def audit(self, record: AuditRecord) -> None:
        """Store one audit record (every field; none holds a value).

        The record is chained at commit (safebot.audit.chain): it gets its position and hash as
        the last statement of this transaction, so the chain-head lock is held only briefly.
        It is therefore not readable inside this unit of work.
        """
        self._check_open()
        if not isinstance(record, AuditRecord):
            raise TypeError(f"audit takes an AuditRecord, got {type(record).__name__}")
        check_detail(record.detail)
        self._audit.append(record)

    def outbox_add(self, event: RedactedEvent, *, target: str = "analytics") -> int:
        """Queue an analytics event for delivery by exporter ``target``; returns the outbox id.

        Written in the turn's transaction: the event is queued if and only if the turn commits.
        """
        self._check_open()
        event = _checked(event, "analytics")
        result = self._conn.execute(
            insert(OutboxRow).values(
                created_at=now(), destination=_name(target, "target"), payload=event.to_json(), attempts=0
            )
        )
        return _inserted_id(result)

    def consent(self, cid: str, kind: str, granted: bool) -> None:
        """Record that the customer granted or withdrew consent of ``kind`` (e.g. "transcript")."""
        self._check_open()
        self._require(cid)
        self._conn.execute(
            insert(ConsentRow).values(conversation_id=cid, kind=_name(kind, "kind"), granted=bool(granted), time=now())
        )
        self._touched.add(cid)

    # -- vault -----------------------------------------------------------------------------
    def data_key(self, key_id: str) -> DataKey:
        """The data key for ``key_id`` (created on first use, in this transaction)."""
        self._check_open()
        return self._keys.data_key(key_id)

    def fingerprint(self, key_id: str, entity_type: str, canonical_value: Sensitive[str]) -> str:
        """:func:`~safebot.stores.vault.fingerprint` under ``key_id``'s data key."""
        return fingerprint(self.data_key(key_id), entity_type, canonical_value)

    def vault_put(
        self, cid: str, token: str, entity_type: str, value: Sensitive[str], fingerprint: str, key_id: str
    ) -> None:
        """Encrypt ``value`` under ``key_id``'s data key and keep it as ``token`` in ``cid``.

        Idempotent for the same fingerprint; a different value under an existing token is a
        StoreError (placeholders must never be renumbered onto another value).
        """
        self._check_open()
        if not isinstance(value, Sensitive):
            raise TypeError("vault_put takes a Sensitive[str] value")
        _match(_TOKEN, token, "token must be a placeholder such as <CREDIT_CARD_1>")
        _match(_ENTITY, entity_type, "entity_type must be an upper-case entity name")
        _match(_FINGERPRINT, fingerprint, "fingerprint must be lower-case hex")
        self._require(cid)
        existing = self._conn.execute(
            select(VaultRow.fingerprint).where(VaultRow.conversation_id == cid, VaultRow.token == token)
        ).scalar_one_or_none()
        if existing is not None:
            if existing != fingerprint:
                raise StoreError("vault token already holds a different value")
            return
        ciphertext = encrypt(self._keys.data_key(key_id), value, vault_aad(cid, token))
        self._conn.execute(
            insert(VaultRow).values(
                conversation_id=cid, token=token, entity_type=entity_type, fingerprint=fingerprint,
                key_id=key_id, ciphertext=ciphertext, created_at=now(),
            )
        )
        if entity_type in LINKABLE:
            canonical = Sensitive("".join(c for c in value.reveal() if c.isalnum()).upper())
            self._conn.execute(
                insert(ValueIndexRow).values(
                    fingerprint=self._keys.index_fingerprint(entity_type, canonical),
                    entity_type=entity_type, conversation_id=cid,
                )
            )

    def vault_get(self, cid: str, token: str) -> Sensitive[str] | None:
        """The value behind ``token``; None if absent **or shredded** (its key was forgotten).

        A shredded value is indistinguishable from one never stored: the caller asks the
        customer again. A tampered or mis-bound row raises VaultError (a StoreError).
        """
        self._check_open()
        row = self._conn.execute(
            select(VaultRow.key_id, VaultRow.ciphertext).where(
                VaultRow.conversation_id == cid, VaultRow.token == token
            )
        ).first()
        if row is None:
            return None
        key = self._keys.existing_data_key(row.key_id)
        if key is None:
            return None
        return decrypt(key, row.ciphertext, vault_aad(cid, token))

    def vault_find(self, cid: str, entity_type: str, fingerprint: str) -> str | None:
        """The token already holding this value in ``cid`` (readable rows only), or None."""
        self._check_open()
        stmt = (
            select(VaultRow.token)
            .join(DataKeyRow, DataKeyRow.key_id == VaultRow.key_id)
            .where(
                VaultRow.conversation_id == cid,
                VaultRow.entity_type == entity_type,
                VaultRow.fingerprint == fingerprint,
            )
            .order_by(VaultRow.id)
            .limit(1)
        )
        return self._conn.execute(stmt).scalar_one_or_none()

    def vault_tokens(self, cid: str, entity_type: str | None = None) -> list[str]:
        """Tokens with a readable value in ``cid``, oldest first (shredded ones left out)."""
        self._check_open()
        stmt = (
            select(VaultRow.token)
            .join(DataKeyRow, DataKeyRow.key_id == VaultRow.key_id)
            .where(VaultRow.conversation_id == cid)
            .order_by(VaultRow.id)
        )
        if entity_type is not None:
            stmt = stmt.where(VaultRow.entity_type == entity_type)
        return list(self._conn.execute(stmt).scalars())

    # -- internals -------------------------------------------------------------------------
    def _require(self, cid: str, channel: str = "api") -> None:
        if cid not in self._known:
            self.ensure_conversation(cid, channel)

    def _finish(self) -> None:
        """Stamp ``updated_at`` once per conversation written, then close this unit."""
        if self._touched:
            self._conn.execute(
                update(Conversation).where(Conversation.id.in_(sorted(self._touched))).values(updated_at=now())
            )
        if self._audit:
            # Imported here: safebot.audit.chain imports this module (insert_ignore).
            from safebot.audit.chain import append_records

            # Last, so the chain-head lock is the last lock taken and is held only to the commit.
            append_records(self._conn, self._audit, self._audit_signer, every=self._checkpoint_every)
        self._open = False

    def _close(self) -> None:
        self._open = False

    def _check_open(self) -> None:
        if not self._open:
            raise StoreError("unit of work is closed")


def _checked(event: object, destination: str) -> RedactedEvent:
    ev = ensure_redacted(event)
    if ev.destination != destination:
        raise TypeError(f"this takes {destination!r} events, got one for {ev.destination!r}")
    for key, value in ev.data.items():
        if not isinstance(value, _SAFE_TYPES):
            raise TypeError(f"event data {key!r} has a {type(value).__name__}; only plain values are stored")
    return ev


def _inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:  # pragma: no cover - only for a backend without autoincrement ids
        raise StoreError("the database did not return the new row's id")
    return int(key[0])


def _match(pattern: re.Pattern[str], value: str, message: str) -> None:
    # The message never includes the value: it may be exactly what was passed by mistake.
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise ValueError(message)


def _name(value: str, what: str) -> str:
    _match(_NAME, value, f"{what} must be a short name (letters, digits, _ . : -)")
    return value
