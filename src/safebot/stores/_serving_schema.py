"""Tables of ``safebot serve``: API keys, REST conversation owners, the WhatsApp inbox,
outbound messages and their delivery states.

No column holds a phone number, a WhatsApp id, a ``wamid`` or message text in clear:
``*_ref`` columns are keyed hashes (the bot's HMAC key), ``payload`` columns are AES-GCM
under the conversation's data key (so ``forget`` shreds them with the rest), and the reply
address lives in the conversation's vault. API keys are kept as a SHA-256 of the secret.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safebot.stores._base import Base, BigId, JSONText, now

__all__ = [
    "ApiConversationRow",
    "ApiKeyRow",
    "WhatsAppDeliveryRow",
    "WhatsAppInboundRow",
    "WhatsAppOutboundRow",
]


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    #: the public part of the key (``sbk_<id>_<secret>``): lookup without a scan
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: ``customer`` (the /v1 chat API), ``compliance`` (the console, issue 12), ``metrics`` (/metrics)
    role: Mapped[str] = mapped_column(String(32))
    #: hex SHA-256 of the whole key; keys are 256-bit random, so no slow hash is needed
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40), default=now)
    revoked_at: Mapped[str | None] = mapped_column(String(40))


class ApiConversationRow(Base):
    """Who started a REST conversation: only that key may read or continue it (OWASP API1)."""

    __tablename__ = "api_conversations"

    #: the engine's keyed hash of ``rest:<conversation id>``
    conversation_ref: Mapped[str] = mapped_column(String(128), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[str] = mapped_column(String(40), default=now)


class WhatsAppInboundRow(Base):
    """One inbound WhatsApp message, written before the webhook answers 200.

    ``message_ref`` is unique: the insert of a redelivered message is a no-op, which is what
    makes processing exactly-once across workers. ``id`` orders a conversation's messages.
    """

    __tablename__ = "whatsapp_inbound"
    __table_args__ = (Index("ix_whatsapp_inbound_conv_state", "conversation_ref", "state", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    message_ref: Mapped[str] = mapped_column(String(64), unique=True)
    conversation_ref: Mapped[str] = mapped_column(String(128))
    #: text | interactive | button | unsupported (its content is never stored)
    kind: Mapped[str] = mapped_column(String(16))
    #: the text to run the turn on, encrypted; wiped once the turn is done
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: pending -> processing -> done (or failed after too many attempts; dropped if shredded)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    #: seconds since the epoch at which a crashed worker's claim lapses
    lease_until: Mapped[float | None] = mapped_column(Float)
    #: Meta's timestamp of the message (seconds, as sent)
    platform_time: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[str] = mapped_column(String(40), default=now)
    done_at: Mapped[str | None] = mapped_column(String(40))


class WhatsAppOutboundRow(Base):
    """A reply queued for the Graph API, sent in ``id`` order per conversation."""

    __tablename__ = "whatsapp_outbound"
    __table_args__ = (
        UniqueConstraint("message_ref", name="uq_whatsapp_outbound_message_ref"),
        Index("ix_whatsapp_outbound_conv_state", "conversation_ref", "state", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    conversation_ref: Mapped[str] = mapped_column(String(128))
    inbound_id: Mapped[int | None] = mapped_column(BigId)
    #: text | buttons | list
    kind: Mapped[str] = mapped_column(String(16))
    #: the message as JSON (the ``customer`` rendering), encrypted; wiped once accepted
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: queued -> accepted (Graph returned an id) | failed (Graph refused it for good)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    #: a sender's claim (or a retry's not-before time), seconds since the epoch
    lease_until: Mapped[float | None] = mapped_column(Float)
    #: keyed hash of the wamid Graph returned
    message_ref: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(40), default=now)
    accepted_at: Mapped[str | None] = mapped_column(String(40))


class WhatsAppDeliveryRow(Base):
    """Delivery state of one platform message, from status webhooks. Only ever moves forward.

    Keyed by the message's hashed wamid, whoever sent it (a reply or a notification), and
    written even when the status arrives before the sender recorded the id.
    """

    __tablename__ = "whatsapp_deliveries"

    message_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: accepted < sent < delivered < read < failed (failed is final)
    state: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int] = mapped_column(Integer)
    accepted_at: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[str | None] = mapped_column(String(20))
    delivered_at: Mapped[str | None] = mapped_column(String(20))
    read_at: Mapped[str | None] = mapped_column(String(20))
    failed_at: Mapped[str | None] = mapped_column(String(20))
    #: ``[{"code": 131047, "title": "Re-engagement message"}]``: Meta's code and title only
    errors: Mapped[Any] = mapped_column(JSONText, nullable=True)
    updated_at: Mapped[str] = mapped_column(String(40), default=now)
