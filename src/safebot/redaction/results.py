"""What redaction produces. ``RedactedText`` is the only text type sinks accept."""

from __future__ import annotations

from dataclasses import dataclass, field

from safebot.redaction.policy import Destination

__all__ = ["Finding", "RedactedText", "BLOCKED_TEXT"]

#: what every destination gets when detection failed (fail closed)
BLOCKED_TEXT = "<REDACTED_MESSAGE>"


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected entity. Offsets index the input text; the value itself is not kept."""

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str

    def to_json(self) -> dict[str, object]:
        return {
            "type": self.entity_type,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 3),
            "recognizer": self.recognizer,
        }


@dataclass(frozen=True, slots=True)
class RedactedText:
    """Text after the policy's treatment for one destination. Safe to log, store and export.

    >>> r = RedactedText("my card is <CREDIT_CARD_1>", (), "transcript", "abc")
    >>> str(r)
    'my card is <CREDIT_CARD_1>'
    """

    text: str
    findings: tuple[Finding, ...]
    destination: Destination
    policy_hash: str
    blocked: bool = False
    #: placeholders whose values were encrypted into the vault (treatment ``encrypt``)
    vault_tokens: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return self.text

    @property
    def entity_types(self) -> tuple[str, ...]:
        return tuple(f.entity_type for f in self.findings)
