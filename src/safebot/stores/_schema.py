"""The store's tables: one schema for SQLite (default) and PostgreSQL.

Times are ISO-8601 UTC strings: exact round trips, sortable, and the same on both backends.
JSON columns are text (``JSONText``) so both backends store the same bytes. No column holds
raw customer text: ``transcript.text`` is redacted, ``vault.ciphertext`` is AES-GCM.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

__all__ = [
    "AuditChainRow",
    "AuditRow",
    "Base",
    "ConsentRow",
    "Conversation",
    "DataKeyRow",
    "LeaseRow",
    "OutboxRow",
    "Tracker",
    "TranscriptRow",
    "ValueIndexRow",
    "VaultRow",
    "now",
]

from safebot.stores._base import Base, BigId, JSONText, now


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_key_id: Mapped[str | None] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(64))  # as long as _uow accepts
    created_at: Mapped[str] = mapped_column(String(40), default=now)
    updated_at: Mapped[str] = mapped_column(String(40), default=now)


class Tracker(Base):
    __tablename__ = "trackers"

    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[Any] = mapped_column(JSONText)
    #: optimistic concurrency: every save is UPDATE ... WHERE version = expected
    version: Mapped[int] = mapped_column(Integer)


class TranscriptRow(Base):
    __tablename__ = "transcript"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    turn: Mapped[int] = mapped_column(Integer)
    time: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))
    #: redacted for the transcript destination
    text: Mapped[str | None] = mapped_column(Text)
    #: comma-separated entity types found in the message (never values)
    entities: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[Any] = mapped_column(JSONText, nullable=True)


class AuditRow(Base):
    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(32))
    policy_hash: Mapped[str] = mapped_column(String(128))
    entity_type: Mapped[str | None] = mapped_column(String(64))
    recognizer: Mapped[str | None] = mapped_column(String(128))
    score: Mapped[float | None] = mapped_column(Float)
    destination: Mapped[str | None] = mapped_column(String(32))
    treatment: Mapped[str | None] = mapped_column(String(64))
    # No foreign key: an audit record must be writable even for a conversation the store
    # never saw (a detection failure before the conversation exists), and must outlive it.
    conversation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    handler: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(String(128))
    time: Mapped[str] = mapped_column(String(40))
    # -- the hash chain (issue 11; written by safebot.audit.chain under the chain-head lock) --
    #: counts and names for retention, erasure and checkpoint records (never values)
    detail: Mapped[Any] = mapped_column(JSONText, nullable=True)
    #: the record's position in the chain: 1, 2, 3, ... with no gaps (retention moves the start)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    #: hex SHA-256 of the record before (zeros for the first), and of this one
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainRow(Base):
    """The audit chain's head (one row, ``id = 1``): locked ``FOR UPDATE`` by every append, so
    concurrent writers on PostgreSQL append one after another (SQLite writers are serial anyway).

    ``anchor_*`` is where the chain starts once retention has deleted its oldest records: the
    position and hash of the last deleted record, signed with the audit key.
    """

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    head_seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    anchor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    anchor_hash: Mapped[str | None] = mapped_column(String(64))
    anchor_signature: Mapped[str | None] = mapped_column(String(128))
    anchor_time: Mapped[str | None] = mapped_column(String(40))


class VaultRow(Base):
    __tablename__ = "vault"
    __table_args__ = (
        UniqueConstraint("conversation_id", "token", name="uq_vault_conversation_token"),
        Index("ix_vault_lookup", "conversation_id", "entity_type", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(96))
    entity_type: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # No foreign key to data_keys: forgetting a key must leave these rows (now unreadable).
    key_id: Mapped[str] = mapped_column(String(128), index=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[str] = mapped_column(String(40), default=now)


class DataKeyRow(Base):
    __tablename__ = "data_keys"

    key_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: nonce || AES-GCM(master key, data key)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[str] = mapped_column(String(40), default=now)


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[str] = mapped_column(String(40), default=now)
    #: which exporter the event waits for (a name, never a URL: URLs can carry secrets)
    destination: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[Any] = mapped_column(JSONText)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[str | None] = mapped_column(String(40), index=True)


class ConsentRow(Base):
    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    granted: Mapped[bool] = mapped_column(Boolean)
    time: Mapped[str] = mapped_column(String(40), default=now)


class ValueIndexRow(Base):
    """Which conversations hold a vaulted value, by a fingerprint keyed with the master key.

    Erasure of a customer shreds every conversation that ever held one of their values, also
    conversations that never got as far as verification. Only identifiers that belong to one
    person are indexed (not dates of birth or names, which many people share).
    """

    __tablename__ = "value_index"
    __table_args__ = (Index("ix_value_index_fp", "fingerprint"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)


class LeaseRow(Base):
    """Cross-process conversation leases: who runs a conversation's turn, until when.

    ``fence`` grows by one at every new lease, so a holder whose lease expired can tell
    (and its writes are fenced anyway by the tracker version).
    """

    __tablename__ = "conversation_leases"

    conversation_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    fence: Mapped[int] = mapped_column(BigInteger)
    #: seconds since the epoch (float) at which the lease lapses
    expires_at: Mapped[float] = mapped_column(Float)

