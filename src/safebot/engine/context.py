"""What a handler sees: redacted text, slots, the verified customer, and audited ``reveal``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from safebot.engine.handlers import SlotValue
from safebot.errors import RevealError
from safebot.nlu.placeholders import EntityCandidate
from safebot.redaction.audit import AuditRecord
from safebot.redaction.types import Placeholder
from safebot.sensitive import Sensitive

__all__ = ["Context"]

ValueLookup = Callable[[str], Sensitive[str] | None]


@dataclass
class Context:
    """Per-turn context passed to a handler's ``run``.

    ``text`` is the customer's message as the NLU saw it (placeholders instead of values).

    >>> ctx = Context("c1", "freeze <CREDIT_CARD_1>", "freeze_card", 0.97, {}, (), None)
    >>> ctx.slot("card", "none")
    'none'
    """

    conversation_id: str
    text: str
    intent: str | None
    confidence: float
    slots: Mapping[str, SlotValue]
    entities: Sequence[EntityCandidate]
    customer_id: str | None
    channel: str = "api"
    handler: str = ""
    _allowed: frozenset[str] = frozenset()
    _lookup: ValueLookup | None = None
    _audit: Callable[[AuditRecord], None] | None = None
    _policy_hash: str = ""

    def __post_init__(self) -> None:
        self.slots = MappingProxyType(dict(self.slots))

    def slot(self, name: str, default: SlotValue = None) -> SlotValue:
        return self.slots.get(name, default)

    def entity(self, entity: str) -> str | None:
        """The first entity candidate of this type in the message (a placeholder or a value)."""
        return next((c.value for c in self.entities if c.entity == entity), None)

    def reveal(self, placeholder: str) -> str:
        """The original value behind ``placeholder``, if this handler declared its type.

        Every call is audited (entity type, handler, conversation; never the value).
        Raises :class:`~safebot.errors.RevealError` for an undeclared type or unknown token.
        """
        ph = Placeholder.parse(placeholder)
        if ph is None:
            raise RevealError(f"handler {self.handler!r}: not a placeholder")
        entity = ph.entity_type
        if entity not in self._allowed:
            self._emit("reveal_denied", entity)
            raise RevealError(
                f"handler {self.handler!r} may not reveal {entity}; declare it in reveals=... to allow it"
            )
        value = self._lookup(placeholder.strip()) if self._lookup is not None else None
        if value is None:
            raise RevealError(f"handler {self.handler!r}: no value is held for that {entity} placeholder")
        self._emit("revealed", entity)
        return value.reveal()

    def _emit(self, event: str, entity: str) -> None:
        if self._audit is not None:
            self._audit(
                AuditRecord(
                    event,  # type: ignore[arg-type]
                    self._policy_hash,
                    entity_type=entity,
                    conversation_id=self.conversation_id,
                    handler=self.handler,
                )
            )
