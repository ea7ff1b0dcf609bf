"""The redaction boundary: raw text in, :class:`RedactedText` per destination out.

Fail closed: if detection raises or runs past the policy's time budget, every destination
gets :data:`BLOCKED_TEXT` for the whole message and an audit record says why (no text).
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from safebot.errors import RedactionError
from safebot.redaction.audit import AuditRecord, AuditSink
from safebot.redaction.detector import Detection, Detector
from safebot.redaction.policy import DESTINATIONS, Destination, Policy
from safebot.redaction.types import BLOCKED_TEXT, Finding, RedactedText, _mint
from safebot.redaction.treatments import canonical_value, placeholder_numbers, render
from safebot.sensitive import Sensitive

__all__ = ["Analysis", "Redactor", "hmac_key_from_env"]

log = logging.getLogger("safebot.redaction")

HMAC_KEY_ENV = "SAFEBOT_HMAC_KEY"


def hmac_key_from_env() -> bytes | None:
    """The analytics hashing key from ``SAFEBOT_HMAC_KEY`` (never from the policy file)."""
    value = os.environ.get(HMAC_KEY_ENV)
    return value.encode() if value else None


@dataclass(frozen=True)
class Analysis:
    """Detections for one message, holding the raw text only inside :class:`Sensitive`.

    Render it for as many destinations as needed; detection ran once.
    """

    raw: Sensitive[str]
    detections: tuple[Detection, ...]
    numbers: tuple[int, ...]
    blocked: bool = False
    reason: str | None = None

    def values(self) -> dict[str, Sensitive[str]]:
        """Placeholder -> raw value (for the vault and ``ctx.reveal``), values kept masked."""
        text = self.raw.reveal()
        return {
            f"<{d.entity_type}_{n}>": Sensitive(text[d.start : d.end])
            for d, n in zip(self.detections, self.numbers)
        }

    def canonical_values(self) -> dict[str, Sensitive[str]]:
        """As :meth:`values`, separators removed and upper-cased."""
        return {k: Sensitive(canonical_value(v.reveal())) for k, v in self.values().items()}


class Redactor:
    """Applies a :class:`~safebot.redaction.policy.Policy` to text. Build once, reuse.

    >>> from safebot.redaction import Redactor, load_policy
    >>> redactor = Redactor(load_policy("examples/bank/policy.yaml"))     # doctest: +SKIP
    >>> redactor.redact("card 4111 1111 1111 1111 please").text             # doctest: +SKIP
    'card <CREDIT_CARD_1> please'
    >>> redactor.redact("card 4111 1111 1111 1111", destination="customer").text  # doctest: +SKIP
    'card ****1111'
    """

    def __init__(
        self,
        policy: Policy,
        *,
        hmac_key: bytes | None = None,
        audit: AuditSink | None = None,
        detector: Detector | None = None,
    ) -> None:
        self.policy = policy
        self.detector = detector if detector is not None else Detector(policy)
        key = hmac_key if hmac_key is not None else hmac_key_from_env()
        if key is None:
            # Hashes stay unlinkable to values, but will not join across restarts.
            log.warning("no %s set: analytics hashes use a per-process key", HMAC_KEY_ENV)
            key = secrets.token_bytes(32)
        self._hmac_key = key
        self._audit = audit

    # -- analysis ---------------------------------------------------------------------------
    def analyze(self, text: str, *, conversation_id: str | None = None) -> Analysis:
        """Detect once; never raises for a detection failure (the analysis is then blocked)."""
        try:
            detections = self.detector.detect(text)
        except Exception as exc:  # noqa: BLE001 - any failure blocks the text
            return self._blocked(text, exc, conversation_id)
        return Analysis(Sensitive(text), tuple(detections), tuple(placeholder_numbers(text, detections)))

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        try:
            results = self.detector.detect_many(texts)
        except Exception as exc:  # noqa: BLE001
            return [self._blocked(t, exc, None) for t in texts]
        out = []
        for text, found in zip(texts, results):
            if isinstance(found, RedactionError):
                out.append(self._blocked(text, found, None))
            else:
                out.append(Analysis(Sensitive(text), tuple(found), tuple(placeholder_numbers(text, found))))
        return out

    def _blocked(self, text: str, exc: BaseException, conversation_id: str | None) -> Analysis:
        reason = "timeout" if "time budget" in str(exc) else type(exc).__name__
        log.error("redaction failed (%s); message blocked", reason)
        self._emit(AuditRecord("detection_failed", self.policy.hash, conversation_id=conversation_id, reason=reason))
        return Analysis(Sensitive(text), (), (), blocked=True, reason=reason)

    # -- rendering --------------------------------------------------------------------------
    def render(
        self, analysis: Analysis, destination: Destination, *, conversation_id: str | None = None
    ) -> RedactedText:
        """The analysed text as ``destination`` may see it; one audit record per finding."""
        if destination not in DESTINATIONS:
            raise ValueError(f"unknown destination {destination!r}; expected one of {DESTINATIONS}")
        if analysis.blocked:
            return _mint(BLOCKED_TEXT, destination, self.policy.hash, blocked=True)
        text = analysis.raw.reveal()
        rendered = render(text, analysis.detections, analysis.numbers, self.policy, destination, self._hmac_key)
        findings = tuple(
            Finding(d.entity_type, d.start, d.end, d.score, d.recognizer) for d in analysis.detections
        )
        if self._audit is not None:
            for d in analysis.detections:
                self._emit(
                    AuditRecord(
                        "redacted", self.policy.hash, entity_type=d.entity_type, recognizer=d.recognizer,
                        score=round(d.score, 3), destination=destination,
                        treatment=str(self.policy.treatment(d.entity_type, destination)),
                        conversation_id=conversation_id,
                    )
                )
        return _mint(rendered.text, destination, self.policy.hash, findings=findings, vault_tokens=rendered.vault_tokens)

    def redact(self, text: str, destination: Destination = "transcript") -> RedactedText:
        """Redact one message for one destination."""
        return self.render(self.analyze(text), destination)

    def redact_all(self, text: str) -> dict[Destination, RedactedText]:
        """Redact one message for every destination, detecting once."""
        analysis = self.analyze(text)
        return {d: self.render(analysis, d) for d in DESTINATIONS}

    def redact_many(self, texts: Sequence[str], destination: Destination = "transcript") -> list[RedactedText]:
        """Redact a batch (spaCy NER batched). A failure blocks only the text it happened on."""
        return [self.render(a, destination) for a in self.analyze_many(list(texts))]

    @property
    def hmac_key(self) -> bytes:
        """The analytics hashing key (for rendering stored placeholders for other destinations)."""
        return self._hmac_key

    def _emit(self, record: AuditRecord) -> None:
        if self._audit is None:
            return
        try:
            self._audit(record)
        except Exception:  # noqa: BLE001 - an audit sink failure must not leak or crash redaction
            log.exception("audit sink failed")
