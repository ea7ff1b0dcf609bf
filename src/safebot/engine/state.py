"""Conversation state between turns. Stored as JSON; holds no raw customer text.

Slot values are safe values (an amount, 'savings', a last-four) or placeholders
('<DATE_OF_BIRTH_1>') whose values, when kept at all, live encrypted in the vault. The
redaction memory holds keyed fingerprints only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from safebot.engine.handlers import SlotValue
from safebot.redaction.session import PlaceholderMemory

__all__ = ["ConversationState", "FormState"]


@dataclass
class FormState:
    """A form in progress: which form, which handler runs when it completes, what was asked."""

    form: str
    handler: str | None
    requested: str | None = None
    retries: int = 0


@dataclass
class ConversationState:
    """Everything the dialogue remembers. :func:`safebot.engine.dialogue.step` never mutates
    the state it is given: it works on a :meth:`copy`."""

    turn: int = 0
    channel: str = "api"
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
    #: keyed fingerprint of the last inbound message id a channel gave (written once, not per call)
    last_message: str | None = None
    redaction: PlaceholderMemory = field(default_factory=PlaceholderMemory)

    @property
    def verified(self) -> bool:
        return self.customer_id is not None

    def copy(self) -> ConversationState:
        return replace(
            self,
            slots=dict(self.slots),
            form=replace(self.form) if self.form is not None else None,
            paused=[replace(p) for p in self.paused],
            redaction=self.redaction.copy(),
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["redaction"] = self.redaction.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ConversationState:
        if not data:
            return cls()
        data = dict(data)
        form = data.pop("form", None)
        paused = data.pop("paused", None) or []
        memory = data.pop("redaction", None)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        state = cls(**known)
        state.form = FormState(**form) if form else None
        state.paused = [FormState(**p) for p in paused]
        state.redaction = PlaceholderMemory.from_json(memory)
        return state
