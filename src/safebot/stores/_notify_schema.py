"""Tables of notifications (issue 10): contacts, consent records, the suppression list,
notifications (what was asked to be sent) and deliveries (the transactional outbox).

No column holds an address, a parameter value or an idempotency key in clear: ``*_ref``
columns are keyed hashes (the bot's ``ids`` key), the address and the parameters are AES-GCM
under the contact's conversation data key (so ``forget`` shreds them with the rest), and a
platform message id is kept only as its keyed hash (a wamid embeds the phone number).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from safebot.stores._base import Base, BigId, JSONText, now

__all__ = [
    "ConsentRecordRow",
    "ContactRow",
    "DeliveryRow",
    "NotificationRow",
    "ReplyLinkRow",
    "SuppressionRow",
]


class ContactRow(Base):
    """A channel address, found by keyed hash, kept encrypted."""

    __tablename__ = "notify_contacts"

    #: the channel's conversation ref for this address (``conversation_ref("whatsapp:<number>")``):
    #: a reply from the number lands in the same conversation
    ref: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    #: the address (E.164 digits), AES-GCM under ``conversation:<ref>``'s data key
    address: Mapped[bytes] = mapped_column(LargeBinary)
    #: keyed hash of the organisation's customer id, when the request named one
    customer_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[str] = mapped_column(String(40), default=now)


class ConsentRecordRow(Base):
    """One grant of consent (or of another lawful basis) for a purpose on a channel.

    Rows are never deleted by safebot: a withdrawal fills ``revoked_*``; a new grant is a
    new row. Together they are the evidence a regulator asks for.
    """

    __tablename__ = "notify_consents"
    __table_args__ = (Index("ix_notify_consents_contact", "contact_ref", "channel", "purpose"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    contact_ref: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(64))
    #: consent | contract | legal_obligation | vital_interests | public_task | legitimate_interests
    lawful_basis: Mapped[str] = mapped_column(String(32))
    #: how it was captured: web_form, app, branch, ivr, inbound_keyword, import, api
    method: Mapped[str] = mapped_column(String(32))
    #: the version label of the wording the customer saw (``whatsapp-optin-v3``)
    shown_version: Mapped[str | None] = mapped_column(String(64))
    #: the organisation's wording itself (never customer text)
    shown_text: Mapped[str | None] = mapped_column(Text)
    #: keyed hash of the inbound message that carried a keyword, when that is how it came
    source_ref: Mapped[str | None] = mapped_column(String(64))
    captured_at: Mapped[str] = mapped_column(String(40), default=now)
    revoked_at: Mapped[str | None] = mapped_column(String(40))
    #: inbound_keyword, api, erasure...
    revoked_how: Mapped[str | None] = mapped_column(String(32))
    revoked_source_ref: Mapped[str | None] = mapped_column(String(64))


class SuppressionRow(Base):
    """Do not send: by contact (one address) or by customer (every channel), per purpose.

    ``channel`` and ``purpose`` may be ``*``. An entry is lifted (START), never deleted.
    """

    __tablename__ = "notify_suppressions"
    __table_args__ = (Index("ix_notify_suppressions_subject", "subject_ref", "lifted_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    #: a contact ref, or a customer ref (``cust-...``) for a suppression across channels
    subject_ref: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(64))
    #: opt_out, complaint, legal_hold, deceased, invalid_address, manual
    reason: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40), default=now)
    lifted_at: Mapped[str | None] = mapped_column(String(40))


class NotificationRow(Base):
    """What was asked to be sent, by whom and when: one row per request (one or many)."""

    __tablename__ = "notify_notifications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: keyed hash of the caller's idempotency key (unique: the same request twice is one)
    key_ref: Mapped[str] = mapped_column(String(64), unique=True)
    #: keyed hash of the request's content: the same key with other content is refused
    request_hash: Mapped[str] = mapped_column(String(64))
    template: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(64))
    #: an API key id, ``cli`` or ``python``
    requested_by: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[str] = mapped_column(String(40), default=now)


class DeliveryRow(Base):
    """One message to one contact: the outbox row a worker sends from.

    ``state`` only moves forward (``rank``): queued 1, sending 2, sent 3, delivered 4, read 5;
    failed, suppressed and expired are final (9). Only the holder of a ``sending`` lease
    calls the platform.
    """

    __tablename__ = "notify_deliveries"
    __table_args__ = (
        Index("ix_notify_deliveries_state", "state", "not_before"),
        Index("ix_notify_deliveries_notification", "notification_id", "state"),
        # The sweeper's "has the webhook caught up" (the latest claim with a status) while a
        # dead worker's rows wait: an index lookup, not a scan of a table of millions.
        Index("ix_notify_deliveries_reported", "sending_at", postgresql_where=text("status_at IS NOT NULL"),
              sqlite_where=text("status_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(String(32))
    #: keyed hash of this delivery's idempotency key: the unique guard against a second send
    key_ref: Mapped[str] = mapped_column(String(64), unique=True)
    contact_ref: Mapped[str] = mapped_column(String(128), index=True)
    #: keyed hash of the organisation's customer id (a suppression across channels), if known
    customer_ref: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(64))
    lawful_basis: Mapped[str] = mapped_column(String(32))
    #: the consent record relied on at send time (lawful basis ``consent``)
    consent_id: Mapped[int | None] = mapped_column(BigId)
    #: the parameters as the customer sees them (JSON), AES-GCM under the contact's data key
    params: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))
    rank: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    #: seconds since the epoch: a sending lease's end, or a retry's not-before time
    lease_until: Mapped[float | None] = mapped_column(Float)
    not_before: Mapped[float] = mapped_column(Float, default=0.0)
    expires_at: Mapped[float | None] = mapped_column(Float)
    #: when the id last went to the broker (None: the relay has not published it yet)
    published_at: Mapped[float | None] = mapped_column(Float)
    #: keyed hash of the wamid the platform returned (or a status webhook reported)
    message_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(String(128))
    error_detail: Mapped[str | None] = mapped_column(String(512))
    #: Meta's pricing category from the status webhook (utility, marketing, authentication...)
    pricing_category: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[str] = mapped_column(String(40), default=now)
    sending_at: Mapped[str | None] = mapped_column(String(40))
    #: when the first status webhook for this delivery reached us (our clock): how a sweeper
    #: tells that the webhook has caught up with a dead worker's sends
    status_at: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[str | None] = mapped_column(String(40))
    delivered_at: Mapped[str | None] = mapped_column(String(40))
    read_at: Mapped[str | None] = mapped_column(String(40))
    finished_at: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40), default=now)


class ReplyLinkRow(Base):
    """An inbound message that answers a delivery (its context id or button payload)."""

    __tablename__ = "notify_reply_links"

    #: the inbound message's keyed hash (as the WhatsApp inbox keys it)
    message_ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(BigId, index=True)
    #: the quick-reply button index the customer tapped, if any
    button: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[str] = mapped_column(String(40), default=now)
    data: Mapped[Any] = mapped_column(JSONText, nullable=True)
