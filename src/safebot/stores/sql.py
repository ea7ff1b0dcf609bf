"""``SqlStore``: conversations, trackers, transcript, audit, vault, consent and outbox in one
database (SQLite by default, PostgreSQL at scale), through SQLAlchemy 2.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.schema import CreateSchema

from safebot.audit.signing import AuditSigner
from safebot.errors import ConfigError, KeyProviderError

# Every table module registers its tables on Base; create_all below makes them all.
from safebot.stores import _notify_schema, _serving_schema  # noqa: F401  (tables only; _notify_schema: issue 10)
from safebot.stores._engine import WRITE_OPTION, is_memory_url, make_engine, private_sqlite_file
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import (
    AuditRow,
    Base,
    ConsentRow,
    Conversation,
    OutboxRow,
    TranscriptRow,
    ValueIndexRow,
    VaultRow,
    now,
)
from safebot.stores._uow import ConnectionKeyStorage, UnitOfWork
from safebot.stores._upgrade import upgrade
from safebot.stores.vault import KeyRing

#: kept equal to safebot.audit.chain.CHECKPOINT_EVERY (not imported: that module imports this package)
CHECKPOINT_EVERY = 1000

__all__ = ["STATE_DIR", "SqlStore"]

#: a bot's own state directory, inside the bot directory; never committed
STATE_DIR = ".safebot"


class SqlStore:
    """The store. Tables are created on first use; the schema is the same on both backends.

    >>> store = SqlStore("sqlite://", keyring=KeyRing.generate())
    >>> with store.unit_of_work() as uow:
    ...     uow.ensure_conversation("c1", "console")
    >>> store.conversations()
    ['c1']
    >>> store.close()

    ``sqlite://`` (in-memory) is served from a private temporary file deleted at
    :meth:`close`, so it behaves exactly like a file store. ``schema`` (PostgreSQL only) puts every table in that schema, created if missing.
    Every database failure surfaces as ``StoreError("store operation failed (<Type>)")``:
    no SQL, no bound values.
    """

    def __init__(
        self, url: str, *, keyring: KeyRing, schema: str | None = None, audit_key: bytes | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
    ) -> None:
        if not isinstance(keyring, KeyRing):
            raise TypeError("SqlStore needs a KeyRing")
        self._keyring = keyring
        # With the audit key, every ``checkpoint_every``-th audit record is followed by a signed
        # checkpoint (issue 11); without it the chain is still hashed, and checkpoints come from
        # ``safebot audit checkpoint`` and retention runs.
        self._audit_signer = AuditSigner(audit_key) if audit_key is not None else None
        self._checkpoint_every = checkpoint_every
        self._cleanup: Callable[[], None] | None = None
        if is_memory_url(url):
            url, cleanup = private_sqlite_file()
            # Removed at close(), or when the store is garbage-collected without one.
            self._cleanup = weakref.finalize(self, cleanup)
        self._engine: Engine = make_engine(url, schema=schema)
        self._write: Engine = self._engine.execution_options(**{WRITE_OPTION: True})
        self.backend = self._engine.dialect.name
        with mapped_errors():
            if self.backend == "postgresql":
                # Several processes start at once: one creates the schema, the others wait for it.
                with self._engine.begin() as conn:
                    conn.execute(text("SELECT pg_advisory_xact_lock(8431207712)"))
                    if schema is not None:
                        conn.execute(CreateSchema(schema, if_not_exists=True))
                    Base.metadata.create_all(conn)
                    upgrade(conn, schema=schema)
            else:
                with self._engine.begin() as conn:
                    Base.metadata.create_all(conn)
                    upgrade(conn, schema=None)

    @classmethod
    def for_bot_dir(
        cls, bot_dir: str | os.PathLike[str], url: str | None = None, *, keyring: KeyRing | None = None,
        schema: str | None = None, audit_key: bytes | None = None,
    ) -> SqlStore:
        """The bot's store: ``sqlite:///BOT_DIR/.safebot/safebot.sqlite3`` unless ``url`` is given.

        The master key comes from ``SAFEBOT_MASTER_KEY`` or ``BOT_DIR/.safebot/master.key``
        (created with mode 0600 on first run).

        >>> store = SqlStore.for_bot_dir("examples/bank")          # doctest: +SKIP
        """
        root = Path(bot_dir)
        if not root.is_dir():
            raise ConfigError("bot directory not found", path=str(root))
        state = root / STATE_DIR
        state.mkdir(mode=0o700, exist_ok=True)
        if keyring is None:
            from safebot.keys import provider_for

            provider = provider_for(root)
            keyring = KeyRing(provider.key("master"))
            if audit_key is None:
                try:
                    audit_key = provider.key("audit")
                except KeyProviderError:  # a KMS hook without it: the chain is hashed, not signed
                    audit_key = None
        if url is None:
            db = state / "safebot.sqlite3"
            if not db.exists():
                # Created private; SQLite gives the -wal and -shm files the same mode.
                os.close(os.open(db, os.O_WRONLY | os.O_CREAT, 0o600))
            url = f"sqlite:///{db}"
            schema = None
        return cls(url, keyring=keyring, schema=schema, audit_key=audit_key)

    def __repr__(self) -> str:
        # Not the URL: it can carry a password.
        return f"SqlStore(backend={self.backend!r})"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine for reads (and for feature modules' own tables)."""
        return self._engine

    @property
    def write_engine(self) -> Engine:
        """The engine for short write transactions (BEGIN IMMEDIATE on SQLite)."""
        return self._write

    @property
    def keyring(self) -> KeyRing:
        return self._keyring

    @property
    def audit_signer(self) -> AuditSigner | None:
        """Signs audit checkpoints (None when the store was built without the audit key)."""
        return self._audit_signer

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def unit_of_work(self) -> Iterator[UnitOfWork]:
        """One transaction: commits when the block ends, rolls back if it raises.

        Database errors become :class:`StoreError` with a safe message; any other exception
        (a TypeError for a raw string, a handler error) rolls back and propagates unchanged.
        """
        with mapped_errors(), self._write.begin() as conn:
            uow = UnitOfWork(conn, self._keyring, audit_signer=self._audit_signer, checkpoint_every=self._checkpoint_every)
            try:
                yield uow
                uow._finish()
            finally:
                uow._close()

    def forget(self, customer_key_id: str, *, checkpoint: bool = True) -> int:
        """Crypto-shred a customer: delete their data key; returns the vault rows made unreadable.

        The vault rows stay (ciphertext, no key). On SQLite the deleted key row is zeroed
        (``secure_delete``) and the WAL truncated. On PostgreSQL the old row version lives
        until VACUUM reclaims it: schedule ``VACUUM data_keys`` after erasure requests.
        """
        with mapped_errors():
            with self._write.begin() as conn:
                count = conn.execute(
                    select(func.count()).select_from(VaultRow).where(VaultRow.key_id == customer_key_id)
                ).scalar_one()
                self._keyring.with_storage(ConnectionKeyStorage(conn)).forget(customer_key_id)
            if self.backend == "sqlite" and checkpoint:
                self.checkpoint()
        return int(count)

    def erasure_scope(self, customer_key_id: str) -> set[str]:
        """The conversations erasing a customer reaches: those linked to them, and every one that
        held a value they vaulted (the value index), verified or not. (Used by safebot.erasure.)"""
        linked = set(self.conversations(customer_key_id=customer_key_id))
        with mapped_errors(), self._engine.connect() as conn:
            fps = set(conn.execute(
                select(ValueIndexRow.fingerprint).where(ValueIndexRow.conversation_id.in_(linked))
            ).scalars()) if linked else set()
            others = set(conn.execute(
                select(ValueIndexRow.conversation_id).where(ValueIndexRow.fingerprint.in_(fps))
            ).scalars()) if fps else set()
        return linked | others

    def erase_customer(self, customer_key_id: str) -> tuple[int, int]:
        """Crypto-shred every conversation linked to a customer, and every conversation that
        held one of the values they vaulted (found by the value index, so unverified
        conversations go too). Returns (conversations, vault values made unreadable)."""
        from safebot.stores.conversations import data_key_id

        refs = self.erasure_scope(customer_key_id)
        shredded = sum(self.forget(data_key_id(ref), checkpoint=False) for ref in sorted(refs))
        if refs:
            with mapped_errors(), self._write.begin() as conn:
                conn.execute(delete(ValueIndexRow).where(ValueIndexRow.conversation_id.in_(refs)))
            self.checkpoint()
        return len(refs), shredded

    def checkpoint(self) -> None:
        """SQLite: copy the WAL into the database file and truncate it (no-op elsewhere)."""
        if self.backend != "sqlite":
            return
        with mapped_errors(), self._engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reading ---------------------------------------------------------------------------
    def transcript(self, cid: str) -> list[dict[str, Any]]:
        """The conversation's transcript events, oldest first (redacted text only)."""
        t = TranscriptRow
        stmt = select(t.id, t.conversation_id, t.turn, t.time, t.kind, t.text, t.entities, t.data)
        rows = self._read(stmt.where(t.conversation_id == cid).order_by(t.id))
        return [
            {
                "id": r.id, "conversation_id": r.conversation_id, "turn": r.turn, "time": r.time,
                "kind": r.kind, "text": r.text,
                "entities": r.entities.split(",") if r.entities else [], "data": r.data or {},
            }
            for r in rows
        ]

    def audit_log(self, cid: str | None = None) -> list[dict[str, Any]]:
        """Audit records (all, or one conversation's), oldest first; None fields left out."""
        cols = [c for c in AuditRow.__table__.columns]
        stmt = select(*cols).order_by(AuditRow.id)
        if cid is not None:
            stmt = stmt.where(AuditRow.conversation_id == cid)
        return [{k: v for k, v in r._mapping.items() if v is not None} for r in self._read(stmt)]

    def conversations(self, customer_key_id: str | None = None) -> list[str]:
        """Conversation ids (all, or one customer's), oldest first."""
        stmt = select(Conversation.id).order_by(Conversation.created_at, Conversation.id)
        if customer_key_id is not None:
            stmt = stmt.where(Conversation.customer_key_id == customer_key_id)
        return [r.id for r in self._read(stmt)]

    def consents(self, cid: str) -> list[dict[str, Any]]:
        """Consent decisions of a conversation, oldest first: ``{kind, granted, time}``."""
        c = ConsentRow
        stmt = select(c.kind, c.granted, c.time).where(c.conversation_id == cid).order_by(c.id)
        return [dict(r._mapping) for r in self._read(stmt)]

    def outbox_pending(self, limit: int = 100, *, target: str | None = None) -> list[dict[str, Any]]:
        """Undelivered outbox events, oldest first: ``{id, destination, payload, attempts, created_at}``."""
        o = OutboxRow
        stmt = select(o.id, o.destination, o.payload, o.attempts, o.created_at).where(o.sent_at.is_(None))
        if target is not None:
            stmt = stmt.where(o.destination == target)
        rows = self._read(stmt.order_by(o.id).limit(limit))
        return [dict(r._mapping) for r in rows]

    def mark_sent(self, ids: Iterable[int]) -> int:
        """Mark outbox events delivered; returns how many were pending."""
        return self._outbox_update(ids, sent=True)

    def mark_failed(self, ids: Iterable[int]) -> int:
        """Count one more failed delivery attempt for these outbox events."""
        return self._outbox_update(ids, sent=False)

    def close(self) -> None:
        """Release every pooled connection (and delete the file behind ``sqlite://``)."""
        self._engine.dispose()
        if self._cleanup is not None:
            self._cleanup()

    # -- internals -------------------------------------------------------------------------
    def _read(self, stmt: Any) -> list[Any]:
        with mapped_errors(), self._engine.connect() as conn:
            return list(conn.execute(stmt))

    def _outbox_update(self, ids: Iterable[int], *, sent: bool) -> int:
        id_list = [int(i) for i in ids]
        if not id_list:
            return 0
        values: dict[str, Any] = {"attempts": OutboxRow.attempts + 1}
        if sent:
            values["sent_at"] = now()
        stmt = (
            update(OutboxRow)
            .where(OutboxRow.id.in_(id_list), OutboxRow.sent_at.is_(None))
            .values(**values)
            .returning(OutboxRow.id)
        )
        with mapped_errors(), self._write.begin() as conn:
            return len(conn.execute(stmt).all())

