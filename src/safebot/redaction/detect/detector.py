"""Detection: normalise, run spaCy NER and every recognizer of the policy, resolve overlaps.

Built once per policy. Every recognizer is a Presidio ``EntityRecognizer`` held in the
policy's :class:`~safebot.redaction.recognizers.registry.PolicyRegistry`, and the detector
calls its ``analyze()`` (safebot's own and third-party ones alike). The time budget is
enforced while detection runs: every pattern is a ``regex`` search whose timeout is the time
left, the clock is read between recognizers, and an overrun raises
:class:`~safebot.errors.RedactionTimeout` (the caller blocks the text: fail closed).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safebot.errors import RedactionError
from safebot.redaction._imports import import_nlp_stack

import_nlp_stack()  # before presidio_analyzer below
from presidio_analyzer import RecognizerResult  # noqa: E402

from safebot.redaction.detect.cache import DetectionCache  # noqa: E402
from safebot.redaction.detect.ner import load_spacy, ner_can_matter, ner_spans  # noqa: E402
from safebot.redaction.detect.resolve import Candidate, near_misses, resolve  # noqa: E402
from safebot.redaction.normalise import Normalised, normalise  # noqa: E402
from safebot.redaction.policy import Policy  # noqa: E402
from safebot.redaction.recognizers import budget  # noqa: E402
from safebot.redaction.recognizers.engines.base import CUE_KEY, VALID_KEY, lower_of  # noqa: E402
from safebot.redaction.recognizers.packs import ner_labels  # noqa: E402
from safebot.redaction.recognizers.registry import Entry, PolicyRegistry  # noqa: E402

if TYPE_CHECKING:  # pragma: no cover
    from presidio_analyzer.nlp_engine import NlpArtifacts
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = ["NEAR_MISS_MARGIN", "Detection", "Detector", "NearMiss", "load_spacy"]

#: Presidio's context enhancement, applied to third-party recognizers with context words the
#: way its AnalyzerEngine would (LemmaContextAwareEnhancer's defaults)
_CONTEXT_FACTOR, _CONTEXT_MIN = 0.35, 0.4
#: a span scored this close below its entity's threshold is a near miss (issue 12)
NEAR_MISS_MARGIN = 0.25


@dataclass(frozen=True, slots=True)
class Detection:
    """A span of the original text with its type, score and the recognizer that found it."""

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str


@dataclass(frozen=True, slots=True)
class NearMiss:
    """A span scored below its entity's threshold (within :data:`NEAR_MISS_MARGIN`), left
    unredacted. Only its type, recognizer and score are ever recorded (``near_miss`` audit
    records); the offsets let a caller drop the ones a later step redacted after all."""

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str


#: what a detection pass yields: the detections, and the near misses beside them
_Result = tuple[tuple[Detection, ...], tuple[NearMiss, ...]]


class Detector:
    """Finds the policy's entities in text. Thread-safe after construction.

    >>> detector = Detector(load_policy("examples/bank/policy.yaml"))   # doctest: +SKIP
    >>> [d.entity_type for d in detector.detect("card 4111 1111 1111 1111")]  # doctest: +SKIP
    ['CREDIT_CARD']
    """

    def __init__(
        self,
        policy: Policy,
        *,
        nlp: Language | None = None,
        cache_size: int = 2048,
        registry: PolicyRegistry | None = None,
    ) -> None:
        self.policy = policy
        self.registry = registry if registry is not None else PolicyRegistry.for_policy(policy)
        self._entries: tuple[Entry, ...] = self.registry.entries
        self._third_party = any(e.third_party for e in self._entries)
        wanted = set(policy.entities)
        ner_priority, labels = ner_labels()
        self._ner_priority = ner_priority
        self._ner_labels = {
            label: entity
            for entity, entity_labels in labels.items()
            if entity in wanted
            for label in entity_labels
            if label not in policy.nlp.labels_to_ignore
        }
        self.nlp: Language | None = None
        if policy.nlp.ner and self._ner_labels:
            self.nlp = nlp if nlp is not None else load_spacy(policy.nlp.model)
        self._entities = frozenset(policy.entities)
        self._allow = frozenset(a.strip().lower() for a in policy.allow_list)
        self._budget = policy.time_budget_ms / 1000
        self._cache: DetectionCache[_Result] = DetectionCache(cache_size)
        self._warm_up()

    @property
    def recognizers(self) -> list[Any]:
        """The Presidio recognizer objects, in the order they run."""
        return self.registry.recognizers

    def _warm_up(self) -> None:
        # phonenumbers loads region metadata and regex caches on first use; do it at build time so
        # the first customer message does not pay for it (and run past its time budget).
        for text in ("call me on +1 415 555 0134 or 020 7946 0018", "Mary Watson, 10 Downing Street"):
            try:
                self._finish(text, normalise(text), None)
            except Exception:  # noqa: BLE001 - best effort; a failing recognizer fails closed per message
                return

    # -- public -----------------------------------------------------------------------------
    def detect(self, text: str, deadline: float | None = None) -> list[Detection]:
        """Detections on ``text`` (offsets into it).

        ``deadline`` is a ``time.perf_counter()`` value to finish by (a caller sharing one
        budget across steps passes it); by default the policy's ``time_budget_ms`` from now.
        Raises :class:`RedactionTimeout` on an overrun and :class:`RedactionError` on failure.
        """
        return list(self.detect_near(text, deadline)[0])

    def near_misses(self, text: str) -> tuple[NearMiss, ...]:
        """The near misses of the last :meth:`detect` of ``text`` while it is cached (else none)."""
        hit = self._cache.get(self._cache.key(text)) if self._cache.size else None
        return hit[1] if hit is not None else ()

    def detect_near(self, text: str, deadline: float | None = None) -> _Result:
        """:meth:`detect`, and the near misses of the same pass."""
        at = deadline if deadline is not None else time.perf_counter() + self._budget
        key = self._cache.key(text) if self._cache.size else b""
        if key:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        with budget.deadline(at):
            budget.check()
            norm = normalise(text)
            doc = self.nlp(norm.text) if self.nlp is not None and ner_can_matter(norm.text) else None
            found = self._finish(text, norm, doc)
        if key:
            self._cache.put(key, found)
        return found

    def detect_many(
        self, texts: Sequence[str], batch_size: int = 64, deadline: float | None = None
    ) -> list[list[Detection] | RedactionError]:
        """Detections for many texts, NER batched. A failure affects only its own text.

        Each text gets the policy's budget of its own, within a batch budget of that times the
        number of texts (or ``deadline``).
        """
        started = time.perf_counter()
        batch_at = deadline if deadline is not None else started + self._budget * max(1, len(texts))
        keys = [self._cache.key(t) if self._cache.size else b"" for t in texts]
        hits = [self._cache.get(k) if k else None for k in keys]
        norms = [normalise(t) if hit is None else None for t, hit in zip(texts, hits, strict=True)]
        docs: list[Doc | None] = [None] * len(texts)
        if self.nlp is not None:
            idx = [i for i, n in enumerate(norms) if n is not None and ner_can_matter(n.text)]
            piped = self.nlp.pipe((norms[i].text for i in idx), batch_size=batch_size)  # type: ignore[union-attr]
            for i, piped_doc in zip(idx, piped, strict=False):
                docs[i] = piped_doc
        out: list[list[Detection] | RedactionError] = []
        for text, key, hit, norm, doc in zip(texts, keys, hits, norms, docs, strict=True):
            if hit is not None:
                out.append(list(hit[0]))
                continue
            assert norm is not None
            try:
                with budget.deadline(min(batch_at, time.perf_counter() + self._budget)):
                    budget.check()
                    found = self._finish(text, norm, doc)
            except RedactionError as exc:
                out.append(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - fail closed on anything
                out.append(RedactionError(f"detection failed ({type(exc).__name__})", reason=type(exc).__name__))
                continue
            if key:
                self._cache.put(key, found)
            out.append(list(found[0]))
        return out

    # -- internals --------------------------------------------------------------------------
    def _needs_ner(self, text: str) -> bool:
        return self.nlp is not None and ner_can_matter(text)

    def _finish(self, text: str, norm: Normalised, doc: Doc | None) -> _Result:
        ntext = norm.text
        found: list[Candidate] = []
        if doc is not None:
            score = self.policy.nlp.ner_min_score
            for entity, s, e, label in ner_spans(doc, self._ner_labels):
                found.append(Candidate(entity, s, e, score, f"spacy.ner.{label}", 0, self._ner_priority))
        # Digit count once per message, shared by every recognizer's prefilter.
        digits = sum(c.isdigit() for c in ntext) if not ntext.isalpha() else 0
        artifacts: NlpArtifacts | None = None
        for entry in self._entries:
            if entry.applies is not None and not entry.applies(ntext, digits):
                continue
            rec = entry.recognizer
            if entry.third_party and artifacts is None:
                artifacts = self._artifacts(ntext, doc)
            results = rec.analyze(ntext, rec.supported_entities, artifacts)  # type: ignore[arg-type]
            budget.check()  # a recognizer's own loops cannot be interrupted; look after each
            for r in results:
                found.append(self._candidate(r, entry, ntext))
        kept = resolve(
            ntext, found, threshold=self.policy.threshold, entities=self._entities, allow=self._allow
        )
        near = near_misses(
            ntext, found, kept, threshold=self.policy.threshold, entities=self._entities, allow=self._allow,
            margin=NEAR_MISS_MARGIN,
        )
        return (
            tuple(Detection(c.entity_type, *norm.span(c.start, c.end), c.score, c.recognizer) for c in kept),
            tuple(NearMiss(c.entity_type, *norm.span(c.start, c.end), c.score, c.recognizer) for c in near),
        )

    def _candidate(self, r: RecognizerResult, entry: Entry, text: str) -> Candidate:
        meta = r.recognition_metadata or {}
        name = str(meta.get(RecognizerResult.RECOGNIZER_NAME_KEY) or getattr(entry.recognizer, "name", "recognizer"))
        score = float(r.score)
        cue = int(meta.get(CUE_KEY, 0))
        if entry.context is not None and not meta.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
            cue = entry.context.strength(lower_of(text), r.start, r.end)
            if cue:
                score = min(1.0, max(score + _CONTEXT_FACTOR, _CONTEXT_MIN))
        return Candidate(r.entity_type, r.start, r.end, score, name, cue, entry.priority, bool(meta.get(VALID_KEY, True)))

    def _artifacts(self, text: str, doc: Doc | None) -> NlpArtifacts | None:
        """Presidio's NLP artifacts for third-party recognizers: from the NER pass when it ran,
        else from spaCy's tokenizer alone (lemmas are the lower-cased tokens: no lemmatizer)."""
        if self.nlp is None:
            return None
        from presidio_analyzer.nlp_engine import NlpArtifacts

        tokens = doc if doc is not None else self.nlp.make_doc(text)
        return NlpArtifacts(
            entities=list(tokens.ents),
            tokens=tokens,
            tokens_indices=[t.idx for t in tokens],
            lemmas=[t.lower_ for t in tokens],
            nlp_engine=None,
            language="en",
        )

