"""Conversation state between turns. Stored as JSON; holds no raw customer text.

Slot values are either safe values (an amount, 'savings', a last-four) or placeholders
('<DATE_OF_BIRTH_1>') whose values, when kept at all, live encrypted in the vault.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from safebot.engine.handlers import SlotValue

__all__ = ["FormState", "Tracker"]


@dataclass
class FormState:
    """A form in progress: which form, which handler runs when it completes, what was asked."""

    form: str
    handler: str | None
    requested: str | None = None
    retries: int = 0


@dataclass
class Tracker:
    conversation_id: str
    channel: str = "api"
    turn: int = 0
    slots: dict[str, SlotValue] = field(default_factory=dict)
    form: FormState | None = None
    #: forms interrupted by another request, resumed afterwards (last in, first out)
    paused: list[FormState] = field(default_factory=list)
    customer_id: str | None = None
    auth_attempts: int = 0
    locked: bool = False
    #: handler waiting for identity verification to finish
    after_auth: str | None = None
    fallbacks: int = 0
    handed_off: bool = False
    latest_intent: str | None = None
    #: HMAC fingerprint of a value -> its placeholder, so a value keeps its token all conversation
    tokens: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    version: int | None = None

    @property
    def verified(self) -> bool:
        return self.customer_id is not None

    def to_state(self) -> dict[str, Any]:
        state = asdict(self)
        state.pop("version")
        return state

    @classmethod
    def from_state(cls, cid: str, state: dict[str, Any] | None, version: int | None = None) -> Tracker:
        if not state:
            return cls(conversation_id=cid, version=version)
        data = dict(state)
        form = data.pop("form", None)
        paused = data.pop("paused", [])
        tracker = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        tracker.form = FormState(**form) if form else None
        tracker.paused = [FormState(**p) for p in paused]
        tracker.conversation_id = cid
        tracker.version = version
        return tracker
