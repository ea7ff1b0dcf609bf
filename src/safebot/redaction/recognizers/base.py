"""Building blocks shared by the recognizer packs.

Every recognizer here is a Presidio ``EntityRecognizer``; we add three things Presidio's
``PatternRecognizer`` lacks and a customer chat needs:

* separators anywhere between groups (``4111 1111-1111.1111``, double spaces), with the
  candidate trimmed to the longest run that passes the checksum, so a card followed by an
  expiry date is still found;
* context words checked on the normalised, lower-cased text around the match (cheap, and it
  needs no lemmatizer, so the spaCy pipeline can stay at tok2vec + ner);
* a cheap ``applies(text)`` prefilter so a message without digits skips every numeric pack.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from safebot.redaction._imports import import_nlp_stack

import_nlp_stack()  # before presidio_analyzer below
from presidio_analyzer import EntityRecognizer, RecognizerResult  # noqa: E402
from presidio_analyzer.nlp_engine import NlpArtifacts

# Up to three of these between two groups of an identifier.
SEP_CHARS = " .\\-/"
SEP = f"[{SEP_CHARS}]{{0,3}}"

Validator = Callable[[str], bool]


def context_regex(words: Iterable[str]) -> re.Pattern[str] | None:
    """A regex matching any context word at a word start (so 'account' matches 'accounts')."""
    words = sorted({w.lower() for w in words}, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(re.escape(w).replace("\\ ", r"[\s\-]*") for w in words)
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})")


#: boost for a context word right before the value ('routing 021000021'), and anywhere near
NEAR_BOOST, FAR_BOOST = 0.5, 0.35


def context_boost(
    lower: str, start: int, end: int, pattern: re.Pattern[str] | None, before: int = 48, after: int = 24
) -> float:
    """How much nearby context words raise a score: more when the cue directly precedes."""
    if pattern is None:
        return 0.0
    if pattern.search(lower, max(0, start - 20), start):
        return NEAR_BOOST
    if pattern.search(lower, max(0, start - before), start) or pattern.search(
        lower, end, min(len(lower), end + after)
    ):
        return FAR_BOOST
    return 0.0


class SafebotRecognizer(EntityRecognizer):
    """Base: subclasses implement :meth:`find`; context and prefilter are handled here."""

    def __init__(
        self,
        entity: str,
        name: str,
        *,
        context: Sequence[str] = (),
        requires_digits: int = 0,
    ) -> None:
        super().__init__(supported_entities=[entity], name=name, context=list(context))
        self.name: str = name
        self.entity = entity
        self._context_re = context_regex(context)
        self._requires_digits = requires_digits

    def load(self) -> None:  # Presidio's hook; nothing to load
        return None

    def applies(self, text: str, digit_count: int) -> bool:
        return digit_count >= self._requires_digits

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        raise NotImplementedError

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        lower = text.lower()
        digits = sum(c.isdigit() for c in text)
        if not self.applies(text, digits):
            return []
        return [
            RecognizerResult(
                self.entity,
                start,
                end,
                score,
                recognition_metadata={
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                },
            )
            for start, end, score in self.find(text, lower)
        ]

    def boost(self, lower: str, start: int, end: int) -> float:
        """Score added for context words near ``lower[start:end]`` (0 when there are none)."""
        return context_boost(lower, start, end, self._context_re)


@dataclass(frozen=True)
class Group:
    start: int
    end: int


def split_groups(text: str, start: int, end: int, unit: re.Pattern[str]) -> list[Group]:
    """The runs of ``unit`` characters inside ``text[start:end]`` (separators between them)."""
    return [Group(m.start(), m.end()) for m in unit.finditer(text, start, end)]


class SequenceRecognizer(SafebotRecognizer):
    """An identifier made of groups of characters with optional separators between them.

    ``run`` finds candidate runs; inside a run every window of whole groups whose canonical
    form (separators removed, upper-cased) has an allowed length is tried, longest first,
    and the first that passes ``validate`` wins. Scores: ``score`` when valid, plus the
    context boost; with ``requires_context`` a match without context is not reported.
    """

    def __init__(
        self,
        entity: str,
        name: str,
        *,
        run: str,
        unit: str = r"\d+",
        lengths: Iterable[int],
        validate: Validator | None = None,
        score: float = 0.5,
        context: Sequence[str] = (),
        requires_context: bool = False,
        requires_digits: int = 0,
        score_of: Callable[[str], float] | None = None,
    ) -> None:
        super().__init__(entity, name, context=context, requires_digits=requires_digits)
        self._score_of = score_of
        self._run = re.compile(run, re.IGNORECASE)
        self._unit = re.compile(unit, re.IGNORECASE)
        self._lengths = frozenset(lengths)
        self._validate = validate
        self._score = score
        self._requires_context = requires_context

    def canonical(self, text: str, start: int, end: int) -> str:
        return "".join(m.group(0) for m in self._unit.finditer(text, start, end)).upper()

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        for m in self._run.finditer(text):
            groups = split_groups(text, m.start(), m.end(), self._unit)
            i = 0
            while i < len(groups):
                found = self._best_window(text, groups, i)
                if found is None:
                    i += 1
                    continue
                j, s, e = found
                boost = self.boost(lower, s, e)
                if not boost and self._requires_context:
                    i += 1
                    continue
                base = self._score if self._score_of is None else self._score_of(self.canonical(text, s, e))
                score = min(1.0, base + boost)
                yield s, e, score
                i = j + 1

    def _best_window(self, text: str, groups: list[Group], i: int) -> tuple[int, int, int] | None:
        """Longest window of groups starting at ``i`` that has a valid canonical value."""
        lengths = [g.end - g.start for g in groups]
        best: tuple[int, int, int] | None = None
        total = 0
        for j in range(i, len(groups)):
            total += lengths[j]
            if total > max(self._lengths):
                break
            if total in self._lengths:
                value = self.canonical(text, groups[i].start, groups[j].end)
                if self._validate is None or self._validate(value):
                    best = (j, groups[i].start, groups[j].end)
        return best


class RegexRecognizer(SafebotRecognizer):
    """A plain regex with an optional validator and context boost."""

    def __init__(
        self,
        entity: str,
        name: str,
        *,
        pattern: str,
        score: float,
        context: Sequence[str] = (),
        requires_context: bool = False,
        validate: Validator | None = None,
        requires_digits: int = 0,
        flags: int = re.IGNORECASE,
    ) -> None:
        super().__init__(entity, name, context=context, requires_digits=requires_digits)
        self._pattern = re.compile(pattern, flags)
        self._score = score
        self._requires_context = requires_context
        self._validate = validate

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        for m in self._pattern.finditer(text):
            s, e = m.span("value") if "value" in self._pattern.groupindex else m.span()
            if self._validate is not None and not self._validate(text[s:e]):
                continue
            boost = self.boost(lower, s, e)
            if not boost and self._requires_context:
                continue
            yield s, e, min(1.0, self._score + boost)


# Words people put between a cue and its value: 'passport number is now AB123', 'pin to 4821'.
FILLER = frozenset(
    "number no no. num nr # is was are : - to now my new the it's its id code card account "
    "of as be set changed change please reads ending".split()
)
_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]+")


#: letter-only groups after the first: never; only unusual ones ('8pr xee', 'JY7 RTR' in capitals,
#: not 'x7k9qp and'); or any (the value's checksum or shape decides, as for a BIC)
AlphaGroups = Literal["no", "unusual", "any"]


def _common_words() -> frozenset[str]:
    from safebot.redaction.recognizers.vocabulary import english_words

    return english_words(5000) | FILLER


class CueValueRecognizer(SafebotRecognizer):
    """A value identified by the cue before it: 'passport AB 123 456', 'CVV 123', 'ref X7K9QP'.

    After the cue, filler words are skipped, then groups of letters/digits joined by single
    separators are collected; every group after the first must contain a digit, so the value
    stops before the next word. The longest prefix whose canonical length is allowed (and
    that passes ``accept``) is the value.
    """

    def __init__(
        self,
        entity: str,
        name: str,
        *,
        cue: str,
        lengths: Iterable[int],
        score: float = 0.85,
        digits_only: bool = False,
        need_digit: bool = True,
        accept: Validator | None = None,
        requires_digits: int = 0,
        max_filler: int = 4,
        alpha_groups: AlphaGroups = "no",
    ) -> None:
        super().__init__(entity, name, requires_digits=requires_digits)
        self._alpha_groups = alpha_groups
        self._common = _common_words()
        self._cue = re.compile(rf"(?<![a-z0-9])(?:{cue})(?![a-z])", re.IGNORECASE)
        self._lengths = frozenset(lengths)
        self._score = score
        self._digits_only = digits_only
        self._need_digit = need_digit
        self._accept = accept
        self._max_filler = max_filler
        self._group = re.compile(r"\d+" if digits_only else r"[a-z0-9]+")
        self._sep = re.compile(r"[ .\-/]{1,2}")

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        for cue in self._cue.finditer(lower):
            pos = self._skip_filler(lower, cue.end())
            if pos is None:
                continue
            found = self._value_at(text, lower, pos)
            if found is not None:
                yield found[0], found[1], self._score

    def _skip_filler(self, lower: str, pos: int) -> int | None:
        skipped = 0
        while True:
            m = re.compile(r"\s*").match(lower, pos)
            pos = m.end() if m else pos
            tok = _TOKEN.match(lower, pos)
            if tok is None:
                return None
            word = tok.group(0)
            if word in FILLER or self._cue.match(lower, pos) or (not word[0].isalnum() and len(word) <= 2 and word not in "<"):
                if skipped >= self._max_filler:
                    return None
                skipped += 1
                pos = tok.end()
                continue
            return pos

    def _value_at(self, text: str, lower: str, pos: int) -> tuple[int, int] | None:
        first = self._group.match(lower, pos)
        if first is None or (first.end() < len(lower) and lower[first.end()].isalnum() and self._digits_only):
            return None
        if first.group(0).isalpha() and first.group(0) in self._common:
            return None  # 'membership', 'please': a word, not the value
        first_upper = text[first.start() : first.end()].isupper()
        ends = [first.end()]
        canon = [first.group(0)]
        cur = first.end()
        while len("".join(canon)) < max(self._lengths):
            sep = self._sep.match(lower, cur)
            if sep is None:
                break
            nxt = self._group.match(lower, sep.end())
            if nxt is None:
                break
            if not any(c.isdigit() for c in nxt.group(0)) and not self._letters_ok(
                nxt.group(0), text[nxt.start() : nxt.end()], first_upper
            ):
                break
            if nxt.end() < len(lower) and lower[nxt.end()].isalnum():
                break
            canon.append(nxt.group(0))
            ends.append(nxt.end())
            cur = nxt.end()
        for k in range(len(canon), 0, -1):
            value = "".join(canon[:k])
            if len(value) not in self._lengths:
                continue
            if self._need_digit and not any(c.isdigit() for c in value):
                continue
            if self._accept is not None and not self._accept(value.upper()):
                continue
            return pos, ends[k - 1]
        return None

    def _letters_ok(self, group: str, original: str, first_upper: bool) -> bool:
        """May a letter-only group continue the value?"""
        if self._alpha_groups == "any":
            return True
        if self._alpha_groups == "no" or len(group) > 4:
            return False
        return (first_upper and original.isupper()) or group not in self._common
