"""Meta's webhook shapes (``messages`` field) as pydantic models, and what safebot keeps of them.

Unknown fields are ignored, not refused (``extra="ignore"``, unlike safebot's own files): Meta
adds fields to these payloads without notice (``identity_key_hash``, ``pricing.type``...), and
a delivery refused for a new field would be retried by Meta for days and never processed.
The models' ``repr`` shows no values, and they live only while a delivery is parsed:
:func:`extract` turns them into :class:`Inbound` and :class:`StatusUpdate`, whose customer
values are :class:`~safebot.sensitive.Sensitive`. A contact's profile name is never read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from safebot.sensitive import Sensitive

__all__ = ["Delivery", "Inbound", "StatusUpdate", "extract", "run_text"]

InboundKind = Literal["text", "interactive", "button", "unsupported", "system"]
#: a reply id or payload starting with this is an intent for the engine (``/freeze_card``)
INTENT_PREFIX = "/"
#: compose.py makes repeated button ids unique with "#<n>"; the engine gets the payload back
_REPEAT = re.compile(r"#[0-9]{1,2}$")


class _Meta(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"

    __str__ = __repr__


class Text(_Meta):
    body: str


class ReplyChoice(_Meta):
    id: str
    title: str = ""
    description: str | None = None


class Interactive(_Meta):
    type: str
    button_reply: ReplyChoice | None = None
    list_reply: ReplyChoice | None = None


class QuickReply(_Meta):
    """A template's quick-reply button (message ``type: button``)."""

    payload: str | None = None
    text: str | None = None


class MessageContext(_Meta):
    """The message a reply quotes (notifications, issue 10: ties a reply to its alert)."""

    id: str | None = None


class Message(_Meta):
    from_: str = Field(alias="from")
    id: str
    timestamp: str | None = None
    type: str
    text: Text | None = None
    interactive: Interactive | None = None
    button: QuickReply | None = None
    context: MessageContext | None = None


class ErrorData(_Meta):
    details: str | None = None


class StatusErrorIn(_Meta):
    code: int
    title: str | None = None
    error_data: ErrorData | None = None


class Pricing(_Meta):
    category: str | None = None


class Status(_Meta):
    id: str
    status: str
    timestamp: str | None = None
    errors: list[StatusErrorIn] = Field(default_factory=list)
    # Notifications (issue 10): the tag a send carried, and what Meta charged it as.
    biz_opaque_callback_data: str | None = None
    pricing: Pricing | None = None


class Metadata(_Meta):
    phone_number_id: str
    display_phone_number: str | None = None


class Value(_Meta):
    messaging_product: str | None = None
    metadata: Metadata | None = None
    messages: list[Message] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)


class Change(_Meta):
    field: str
    #: parsed as :class:`Value` only for ``field == "messages"`` (other fields have other shapes)
    value: dict[str, Any] = Field(default_factory=dict)


class Entry(_Meta):
    id: str
    changes: list[Change] = Field(default_factory=list)


class Delivery(_Meta):
    object: str
    entry: list[Entry] = Field(default_factory=list)


@dataclass(frozen=True)
class Inbound:
    """One customer message as safebot keeps it."""

    message_id: Sensitive[str]
    wa_id: Sensitive[str]
    kind: InboundKind
    #: what the turn runs on; None for unsupported kinds (their content is dropped here)
    text: Sensitive[str] | None
    timestamp: str | None
    phone_number_id: str | None
    # Notifications (issue 10): the quoted message's id and a quick reply's payload tie a
    # reply to the alert it answers.
    context_id: Sensitive[str] | None = None
    payload: str | None = None


@dataclass(frozen=True)
class StatusUpdate:
    message_id: Sensitive[str]
    status: str
    timestamp: str | None
    #: Meta's error code and title only (the message and details can quote the recipient)
    errors: tuple[tuple[int, str | None], ...]
    # Notifications (issue 10): the send's biz_opaque_callback_data, the pricing category,
    # and each error's details (cleaned of numbers before they are stored).
    callback_data: str | None = None
    pricing_category: str | None = None
    error_details: tuple[str | None, ...] = ()


def run_text(message: Message) -> tuple[InboundKind, str | None]:
    """The kind of ``message`` and the text the turn runs on.

    A reply to a button or list row, or a template quick reply, runs on its id or payload
    when that is an intent (``/affirm``), else on the title the customer saw and tapped.
    """
    if message.type == "text" and message.text is not None:
        return "text", message.text.body
    if message.type == "interactive" and message.interactive is not None:
        choice = {"button_reply": message.interactive.button_reply,
                  "list_reply": message.interactive.list_reply}.get(message.interactive.type)
        if choice is not None:
            if choice.id.startswith(INTENT_PREFIX):
                return "interactive", _REPEAT.sub("", choice.id)
            return "interactive", choice.title or choice.id
    if message.type == "button" and message.button is not None:
        payload, text = message.button.payload, message.button.text
        if payload and (payload.startswith(INTENT_PREFIX) or not text):
            return "button", payload
        if text:
            return "button", text
    if message.type == "system":
        return "system", None  # e.g. "customer changed their number": nothing to answer
    return "unsupported", None


def extract(delivery: Delivery) -> Iterator[Inbound | StatusUpdate]:
    """Every message and status of every change of every entry, in delivery order."""
    for entry in delivery.entry:
        for change in entry.changes:
            if change.field != "messages":
                continue
            value = Value.model_validate(change.value)
            phone_number_id = value.metadata.phone_number_id if value.metadata else None
            for m in value.messages:
                kind, text = run_text(m)
                context = m.context.id if m.context is not None and m.context.id else None
                yield Inbound(Sensitive(m.id), Sensitive(m.from_), kind, None if text is None else Sensitive(text),
                              m.timestamp, phone_number_id, None if context is None else Sensitive(context),
                              m.button.payload if m.type == "button" and m.button is not None else None)
            for s in value.statuses:
                yield StatusUpdate(Sensitive(s.id), s.status, s.timestamp, tuple((e.code, e.title) for e in s.errors),
                                   s.biz_opaque_callback_data, s.pricing.category if s.pricing else None,
                                   tuple(e.error_data.details if e.error_data else None for e in s.errors))
