"""The redaction boundary: raw text in, :class:`RedactedText` per destination out.

A :class:`Redactor` is built once per policy and is stateless between messages: detection
runs once per message (:meth:`Redactor.analyze`) and the result is rendered for as many
destinations as needed. A conversation's turn uses a
:class:`~safebot.redaction.session.RedactionSession` (``redactor.session(...)``), which adds
conversation-wide placeholder numbering, the vault hand-off and audit records on top.

Fail closed: if detection raises or runs past the policy's time budget, every destination
gets :data:`~safebot.redaction.types.BLOCKED_TEXT` for the whole message and an audit record
says why (no text).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import hmac
import logging
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from safebot.errors import RedactionError, RedactionTimeout
from safebot.redaction import _seal
from safebot.redaction.audit import AuditRecord, AuditSink
from safebot.redaction.detect.detector import NearMiss
from safebot.redaction.detector import Detection, Detector
from safebot.redaction.policy import DESTINATIONS, Destination, Policy
from safebot.redaction.treatments import render
from safebot.redaction.types import BLOCKED_TEXT, Finding, RedactedText, _mint, canonical_value
from safebot.sensitive import Sensitive

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.session import Fingerprinter, PlaceholderMemory, RedactionSession

__all__ = ["Analysis", "Redactor", "hmac_key_from_env"]

log = logging.getLogger("safebot.redaction")

HMAC_KEY_ENV = "SAFEBOT_HMAC_KEY"


def hmac_key_from_env() -> bytes | None:
    """The analytics hashing key from ``SAFEBOT_HMAC_KEY`` (never from the policy file)."""
    value = os.environ.get(HMAC_KEY_ENV)
    return value.encode() if value else None


class Analysis:
    """The detections for one message. The raw text never leaves it except through the
    redaction package; made only by :meth:`Redactor.analyze`.

    >>> analysis = redactor.analyze("card 4111 1111 1111 1111")   # doctest: +SKIP
    >>> [f.entity_type for f in analysis.findings], analysis.blocked   # doctest: +SKIP
    (['CREDIT_CARD'], False)
    """

    __slots__ = ("_blocked", "_detections", "_near", "_raw", "_reason", "_seal")

    _raw: Sensitive[str]
    _detections: tuple[Detection, ...]
    _near: tuple[NearMiss, ...]
    _blocked: bool
    _reason: str | None
    _seal: bytes

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("an Analysis is made by Redactor.analyze only")

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("Analysis is immutable")

    def __reduce__(self) -> NoReturn:
        raise TypeError("Analysis holds raw text and cannot be pickled")

    def __repr__(self) -> str:
        return f"Analysis({len(self._detections)} findings, blocked={self._blocked})"

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(Finding(d.entity_type, d.start, d.end, d.score, d.recognizer) for d in self._detections)

    @property
    def entity_types(self) -> frozenset[str]:
        return frozenset(d.entity_type for d in self._detections)

    @property
    def near_misses(self) -> tuple[NearMiss, ...]:
        """Spans scored just below their threshold (left unredacted): for the audit trail."""
        return self._near

    @property
    def blocked(self) -> bool:
        return self._blocked

    @property
    def reason(self) -> str | None:
        """Why detection failed: ``timeout`` or an exception type name (never a message)."""
        return self._reason


def _analysis(
    raw: str, detections: Sequence[Detection], *, blocked: bool = False, reason: str | None = None,
    near: Sequence[NearMiss] = (),
) -> Analysis:
    out = object.__new__(Analysis)
    setter = object.__setattr__
    kept = tuple(sorted(detections, key=lambda d: (d.start, d.end)))
    setter(out, "_raw", Sensitive(raw))
    setter(out, "_detections", kept)
    setter(out, "_near", tuple(near))
    setter(out, "_blocked", blocked)
    setter(out, "_reason", reason)
    setter(out, "_seal", _seal.seal(_analysis_fields(raw, kept, blocked)))
    return out


def _analysis_fields(raw: str, detections: tuple[Detection, ...], blocked: bool) -> bytes:
    spans = ";".join(f"{d.entity_type}:{d.start}:{d.end}" for d in detections)
    return b"analysis\x00" + raw.encode("utf-8", "surrogatepass") + b"\x00" + spans.encode() + (b"\x01" if blocked else b"\x00")


def checked_analysis(analysis: object) -> Analysis:
    """``analysis`` if the redaction package made it and it is unchanged; TypeError otherwise."""
    if type(analysis) is not Analysis:
        raise TypeError("expected an Analysis from Redactor.analyze")
    try:
        ok = _seal.check(
            _analysis_fields(analysis._raw.reveal(), analysis._detections, analysis._blocked), analysis._seal
        )
    except AttributeError:
        ok = False
    if not ok:
        raise TypeError("this Analysis was not made by Redactor.analyze")
    return analysis


def numbers_for(raw: str, detections: Sequence[Detection]) -> list[int]:
    """Placeholder numbers within one message: per entity type in order of appearance, the same
    value keeping its number."""
    seen: dict[tuple[str, str], int] = {}
    counts: dict[str, int] = {}
    out = []
    for d in detections:
        key = (d.entity_type, canonical_value(raw[d.start : d.end]))
        if key not in seen:
            counts[d.entity_type] = counts.get(d.entity_type, 0) + 1
            seen[key] = counts[d.entity_type]
        out.append(seen[key])
    return out


class Redactor:
    """Applies a :class:`~safebot.redaction.policy.Policy` to text. Build once, reuse; thread-safe.

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
        ids_key: bytes | None = None,
    ) -> None:
        self.policy = policy
        self.detector = detector if detector is not None else Detector(policy)
        key = hmac_key if hmac_key is not None else hmac_key_from_env()
        if key is None:
            # Hashes stay unlinkable to values, but will not join across restarts.
            log.warning("no %s set: analytics hashes use a per-process key", HMAC_KEY_ENV)
            key = secrets.token_bytes(32)
        self._hmac_key = key
        # Hashed ids need a key of their own: the analytics key goes to whoever reads analytics.
        self._ids_key = ids_key if ids_key is not None else hmac.digest(key, b"safebot/ids/v1", "sha256")
        self._audit = audit
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Redactor(policy={self.policy.name!r}, hash={self.policy.hash!r})"

    # -- detection ----------------------------------------------------------------------------
    def analyze(self, text: str) -> Analysis:
        """Detect once. Never raises for a detection failure: the analysis is then blocked."""
        if not isinstance(text, str):
            raise TypeError("analyze takes a str")
        try:
            detections = self.detector.detect(text)
            # From the same pass (the detector keeps them with its cached result); a detector
            # that overrides detect() decides alone what is found, and has none.
            near = self.detector.near_misses(text) if type(self.detector).detect is Detector.detect else ()
        except Exception as exc:  # noqa: BLE001 - any failure blocks the text
            return self._blocked(text, exc)
        return _analysis(text, detections, near=near)

    def analyze_many(self, texts: Sequence[str]) -> list[Analysis]:
        """Detect on a batch (spaCy NER batched). A failure blocks only its own text."""
        try:
            results = self.detector.detect_many(list(texts))
        except Exception as exc:  # noqa: BLE001
            return [self._blocked(t, exc) for t in texts]
        out = []
        for text, found in zip(texts, results, strict=True):
            out.append(self._blocked(text, found) if isinstance(found, Exception) else _analysis(text, found))
        return out

    async def analyze_async(self, text: str) -> Analysis:
        """:meth:`analyze` on a worker thread, so the event loop keeps serving.

        The detector enforces the policy's time budget while it runs; as a second line, a
        result that has not arrived within three budgets is abandoned and the text blocked.
        """
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor(), self.analyze, text)
        budget = self.policy.time_budget_ms / 1000
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=3 * budget + 0.5)
        except TimeoutError:
            return self._blocked(text, RedactionTimeout())

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="safebot-redact"
                )
            return self._pool

    def _blocked(self, text: str, exc: BaseException) -> Analysis:
        reason = exc.reason if isinstance(exc, RedactionError) else type(exc).__name__
        log.error("redaction failed (%s); message blocked", reason)
        self.emit(AuditRecord("detection_failed", self.policy.hash, reason=reason))
        return _analysis(text, (), blocked=True, reason=reason)

    # -- rendering ----------------------------------------------------------------------------
    def render(
        self,
        analysis: Analysis,
        destination: Destination,
        *,
        numbers: Sequence[int] | None = None,
        audit: AuditSink | None = None,
        conversation_id: str | None = None,
    ) -> RedactedText:
        """The analysed text as ``destination`` may see it; one audit record per finding.

        ``numbers`` gives each detection its placeholder number (a session passes the
        conversation's); by default numbering is per message.
        """
        analysis = checked_analysis(analysis)
        if destination not in DESTINATIONS:
            raise ValueError(f"unknown destination {destination!r}; expected one of {DESTINATIONS}")
        if analysis._blocked:
            return _mint(BLOCKED_TEXT, destination, self.policy.hash, blocked=True)
        raw = analysis._raw.reveal()
        detections = analysis._detections
        nums = list(numbers) if numbers is not None else numbers_for(raw, detections)
        rendered = render(raw, detections, nums, self.policy, destination, self._hmac_key)
        sink = audit if audit is not None else self._audit
        if sink is not None:
            for d in detections:
                self.emit(
                    AuditRecord(
                        "redacted", self.policy.hash, entity_type=d.entity_type, recognizer=d.recognizer,
                        score=round(d.score, 3), destination=destination,
                        treatment=str(self.policy.treatment(d.entity_type, destination)),
                        conversation_id=conversation_id,
                    ),
                    sink,
                )
        return _mint(
            rendered.text, destination, self.policy.hash, findings=analysis.findings,
            vault_tokens=rendered.vault_tokens,
        )

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

    def values_found(self, text: str) -> list[Sensitive[str]]:
        """The values detection finds in ``text`` (for PII canaries in tests), kept masked."""
        analysis = self.analyze(text)
        return [Sensitive(text[d.start : d.end]) for d in analysis._detections]

    # -- conversations --------------------------------------------------------------------------
    def session(
        self,
        conversation_ref: str,
        memory: PlaceholderMemory | None = None,
        *,
        fingerprint: Fingerprinter | None = None,
        expected: frozenset[str] = frozenset(),
        companions: frozenset[str] = frozenset(),
    ) -> RedactionSession:
        """A :class:`~safebot.redaction.session.RedactionSession` for one turn of a conversation."""
        from safebot.redaction.session import PlaceholderMemory, RedactionSession

        return RedactionSession(
            self, conversation_ref, memory if memory is not None else PlaceholderMemory(),
            fingerprint=fingerprint or self.keyed_fingerprint, expected=expected, companions=companions,
        )

    def keyed_fingerprint(self, entity_type: str, canonical: Sensitive[str]) -> str:
        """A keyed hash of a canonical value (the analytics key); for sessions without a store."""
        message = f"fingerprint\x00{entity_type}\x00{canonical.reveal()}".encode()
        return hmac.new(self._hmac_key, message, hashlib.sha256).hexdigest()[:32]

    def conversation_ref(self, external_id: str, *, namespace: str = "conversation") -> str:
        """The id safebot stores for an id a channel gives it: a keyed hash (an id can be a phone
        number). Stable for the analytics key.

        >>> redactor.conversation_ref("whatsapp:+14155550123")      # doctest: +SKIP
        'c-6f1d0a3b9e2c4d5f8a7b6c5d'
        """
        digest = hmac.new(self._ids_key, f"{namespace}\x00{external_id}".encode(), hashlib.sha256)
        return "c-" + digest.hexdigest()[:24]

    @property
    def hmac_key(self) -> bytes:
        """The analytics hashing key."""
        return self._hmac_key

    def emit(self, record: AuditRecord, sink: AuditSink | None = None) -> None:
        """Send an audit record to ``sink`` (default: the redactor's own ``audit=``)."""
        target = sink if sink is not None else self._audit
        if target is None:
            return
        try:
            target(record)
        except Exception:  # noqa: BLE001 - an audit sink failure must not leak or crash redaction
            log.error("audit sink failed")

    def close(self) -> None:
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


AuditCallback = Callable[[AuditRecord], None]
