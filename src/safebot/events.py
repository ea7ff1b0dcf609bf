"""Events: what a turn tells the world. Sinks accept :class:`RedactedEvent` and nothing else.

An event carries text only as a :class:`~safebot.redaction.RedactedText` rendered for the
destination of the sink it is sent to, and structured data whose values are never customer
text (intent names, confidences, slot *names*, placeholders, counts). The engine renders one
event per destination, so a transcript store gets transcript text and an analytics exporter
gets analytics text (keyed hashes), from the same detection.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from safebot.redaction.policy import Destination
from safebot.redaction.types import RedactedText, is_sealed

__all__ = ["EventKind", "RedactedEvent", "Sink", "ensure_redacted"]

EventKind = Literal[
    "user",          # a customer message (text: redacted)
    "bot",           # a reply (text: redacted for the sink's destination)
    "intent",        # NLU result: data = {intent, confidence}
    "slot",          # slot set: data = {slot, value} where value is a placeholder or a safe value
    "form",          # form started / completed / interrupted: data = {form, state}
    "auth",          # identity verification: data = {result: passed|failed|locked}
    "handoff",       # passed to a human: data = {reason}
    "fallback",      # out of scope / not understood
    "error",         # something failed; data = {code} (never an exception message)
    "session",       # conversation started or ended
]

SafeValue = str | int | float | bool | None


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class RedactedEvent:
    """One event, safe for ``destination``.

    >>> e = RedactedEvent("user", "c1", 1, "transcript", redactor.redact("hi Mary"))  # doctest: +SKIP
    >>> e.text.text                                                                     # doctest: +SKIP
    'hi <PERSON_1>'
    """

    kind: EventKind
    conversation_id: str
    turn: int
    destination: Destination
    text: RedactedText | None = None
    data: Mapping[str, SafeValue] = field(default_factory=dict)
    channel: str = "api"
    time: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        if self.text is not None and not is_sealed(self.text):
            raise TypeError("RedactedEvent.text must be a RedactedText made by safebot.redaction, never a raw string")
        if self.text is not None and self.text.destination != self.destination:
            raise TypeError(
                f"event for {self.destination!r} carries text rendered for {self.text.destination!r}"
            )

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": self.kind,
            "conversation_id": self.conversation_id,
            "turn": self.turn,
            "channel": self.channel,
            "time": self.time,
        }
        if self.text is not None:
            out["text"] = self.text.text
            out["entities"] = list(self.text.entity_types)
        if self.data:
            out["data"] = dict(self.data)
        return out


def ensure_redacted(event: object) -> RedactedEvent:
    """Raise TypeError unless ``event`` is a RedactedEvent. Every sink calls this first."""
    if not isinstance(event, RedactedEvent):
        raise TypeError(f"sinks accept RedactedEvent only, got {type(event).__name__}")
    return event


@runtime_checkable
class Sink(Protocol):
    """Something that receives events: a store, an exporter, a log.

    ``destination`` says which rendering it receives. ``emit`` must call
    :func:`ensure_redacted` (a raw string is a type error and a runtime error).
    """

    destination: Destination

    def emit(self, event: RedactedEvent) -> None: ...

    def close(self) -> None: ...
