"""What safebot's recognizer engines share: context words, cue strength, results.

Every engine is a Presidio ``EntityRecognizer`` (the pattern engine a ``PatternRecognizer``)
and answers ``analyze(text, entities, nlp_artifacts)`` with ``RecognizerResult`` objects.
On top of Presidio they add:

* context words matched on the lower-cased text (no lemmatizer needed, so spaCy can stay at
  tok2vec + ner), with a *cue strength* per result: 2 when a cue word comes right before the
  value ('routing 021000021'), 1 when one is nearby, 0 when none is; the detector lets a
  cued value win an overlap, and a value that failed its validator is reported only when cued;
* negative context: words after which a number is something else ('order 123456789');
* a cheap ``applies(text, digit_count)`` prefilter so a message without digits skips every
  numeric recognizer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from safebot.redaction._imports import import_nlp_stack

import_nlp_stack()  # before presidio_analyzer below
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult  # noqa: E402
from presidio_analyzer.nlp_engine import NlpArtifacts  # noqa: E402

from safebot.redaction.recognizers.budget import Rx, compile_rx  # noqa: E402
from safebot.redaction.recognizers.words import alternation, expand  # noqa: E402

__all__ = [
    "CUE_KEY",
    "FAR_BOOST",
    "NEAR_BOOST",
    "VALID_KEY",
    "Context",
    "SafebotRecognizer",
    "lower_of",
    "result",
]

#: recognition_metadata key holding the cue strength (0, 1 or 2) of a safebot result
CUE_KEY = "safebot_cue"
#: recognition_metadata key: False when the value failed its validator (kept for its cue)
VALID_KEY = "safebot_valid"
#: score added for a cue word right before the value (within 20 characters), and anywhere near
NEAR_BOOST, FAR_BOOST = 0.5, 0.35
_BOOST = (0.0, FAR_BOOST, NEAR_BOOST)


@lru_cache(maxsize=16)
def lower_of(text: str) -> str:
    """``text.lower()``, computed once per message however many recognizers ask."""
    return text.lower()


_GAP_TOKEN = compile_rx(r"[a-z0-9]+|[^\sa-z0-9]")


@lru_cache(maxsize=1)
def _filler() -> frozenset[str]:
    from safebot.redaction.recognizers.words import words

    return words("filler") | words("cue_gap_words")


def adjacent(gap: str, max_words: int = 4) -> bool:
    """Is ``gap`` (between a cue and a value) only filler words and punctuation?

    'account number is ', 'routing: ', 'ssn # ' are; 'account. Also DOB ' is not.
    """
    filler = _filler()
    n = 0
    for tok in _GAP_TOKEN.findall(gap):
        if tok in filler or (not tok[0].isalnum() and tok not in "<>"):
            n += 1
            if n > max_words + 2:
                return False
            continue
        return False
    return True


class Context:
    """Cue words around a value, matched at a word start ('account' also matches 'accounts';
    words of three letters or fewer only as whole words: 'tin' is not in 'Tintin').

    Strength 2: a cue word right before the value, with nothing but filler words
    and punctuation between ('account number is 12345678'); 1: a cue within ``before``
    characters before or ``after`` after; 0: none. ``negative``: words after which a value is
    not this entity, unless a cue word is there too.
    """

    __slots__ = ("_after", "_before", "_neg", "_pos", "words")

    def __init__(
        self, words: Sequence[str] = (), negative: Sequence[str] = (), *,
        before: int = 48, after: int = 24,
    ) -> None:
        self.words = expand(words)
        self._pos: Rx | None = (
            compile_rx(rf"(?<![a-z0-9]){alternation(self.words, whole_short=True)}") if self.words else None
        )
        neg = expand(negative)
        self._neg: Rx | None = (
            compile_rx(rf"(?<![a-z0-9]){alternation(neg)}(?![a-z0-9])[^\d]*$") if neg else None
        )
        self._before, self._after = before, after

    def strength(self, lower: str, start: int, end: int) -> int:
        """2: a cue right before ``lower[start:end]``; 1: one nearby; 0: none."""
        pos = self._pos
        if pos is None:
            return 0
        last = None
        for m in pos.finditer(lower, max(0, start - self._before), start):
            last = m
        if last is not None:
            return 2 if adjacent(lower[last.end() : start]) else 1
        if pos.search(lower, end, min(len(lower), end + self._after)):
            return 1
        return 0

    def negated(self, lower: str, start: int) -> bool:
        """A negative word (and no digits) directly before ``start``."""
        return self._neg is not None and self._neg.search(lower, max(0, start - 24), start) is not None


def applies(recognizer: Any, text: str, digit_count: int) -> bool:
    """The shared prefilter: enough digits, and one of ``needs_any`` in the message."""
    if digit_count < recognizer.min_digits:
        return False
    needs: tuple[str, ...] = recognizer.needs_any
    if not needs:
        return True
    lower = lower_of(text)
    return any(n in lower for n in needs)


def boost(cue: int) -> float:
    """The score a cue of this strength adds."""
    return _BOOST[cue]


def result(
    recognizer: Any, entity: str, start: int, end: int, score: float, cue: int, valid: bool = True
) -> RecognizerResult:
    score = min(1.0, score)
    return RecognizerResult(
        entity,
        start,
        end,
        score,
        # Presidio's AnalyzerEngine expects an explanation, and must not add its own context
        # boost on top of the one the cue strength already gave.
        analysis_explanation=AnalysisExplanation(recognizer.name, score, validation_result=valid),
        recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
            RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True,
            CUE_KEY: cue,
            VALID_KEY: valid,
        },
    )


class SafebotRecognizer(EntityRecognizer):
    """Base of the non-pattern engines: subclasses implement :meth:`find`.

    ``find(text, lower)`` yields ``(start, end, score, cue)`` or ``(start, end, score, cue,
    valid)``; :meth:`analyze` turns them into ``RecognizerResult`` objects for Presidio's
    interface.
    """

    def __init__(
        self,
        entity: str,
        name: str,
        *,
        context: Context | None = None,
        min_digits: int = 0,
        priority: int = 50,
    ) -> None:
        self.entity = entity
        self.priority = priority
        self.cues = context if context is not None else Context()
        self.min_digits = min_digits
        super().__init__(supported_entities=[entity], name=name, context=list(self.cues.words))

    def load(self) -> None:  # Presidio's hook; nothing to load
        return None

    #: prefilter: one of these must occur in the lower-cased message (empty: no condition)
    needs_any: tuple[str, ...] = ()

    def applies(self, text: str, digit_count: int) -> bool:
        """Cheap prefilter: False means :meth:`analyze` would find nothing."""
        return applies(self, text, digit_count)

    def find(self, text: str, lower: str) -> Iterable[tuple[Any, ...]]:
        raise NotImplementedError

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        if entities and self.entity not in entities:
            return []
        return [result(self, self.entity, *found) for found in self.find(text, lower_of(text))]
