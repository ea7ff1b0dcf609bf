"""The separator-tolerant sequence engine: identifiers made of groups with anything between.

'4111 1111-1111.1111', '021 000 021', 'GB82 WEST 1234 5698 7654 32': customers split an
identifier into groups with spaces, dashes, dots, slashes, double spaces. ``run`` finds a
candidate run; inside it every window of whole groups whose canonical form (separators
removed, upper-cased) has an allowed length is a candidate. The longest window that passes
the validator wins (a card followed by its expiry date is still found); when none passes,
the longest window of an allowed length is reported only if a cue word is near, with the
lower ``invalid_score``: a mistyped card number after 'card' is still a card number.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from safebot.redaction.recognizers.budget import IGNORECASE, Rx, compile_rx
from safebot.redaction.recognizers.engines.base import Context, SafebotRecognizer, boost

__all__ = ["SafebotSequenceRecognizer", "ScoreRule"]

Check = Callable[[str], bool]
#: (pattern, score): a valid value whose canonical form (or written text) fully matches gets
#: this score when no cue word is near
ScoreRule = tuple[Rx, float]


def _delimited(text: str, start: int, end: int) -> bool:
    """No letter or digit touches the span on either side."""
    return (start == 0 or not text[start - 1].isalnum()) and (end >= len(text) or not text[end].isalnum())


class SafebotSequenceRecognizer(SafebotRecognizer):
    """Groups of ``unit`` characters inside a ``run``, checked by length and validator."""

    def __init__(
        self,
        entity: str,
        name: str,
        *,
        run: str,
        unit: str = r"\d+",
        lengths: Iterable[int],
        score: float = 0.5,
        invalid_score: float = 0.2,
        invalid_needs_cue: bool = True,
        invalid_min_digits: int = 0,
        validator: Check | None = None,
        shape: Check | None = None,
        reject: Check | None = None,
        value_scores: Sequence[ScoreRule] = (),
        text_scores: Sequence[ScoreRule] = (),
        context: Context | None = None,
        requires_context: bool = False,
        min_digits: int = 0,
        priority: int = 50,
    ) -> None:
        super().__init__(entity, name, context=context, min_digits=min_digits, priority=priority)
        self._run = compile_rx(run, IGNORECASE)
        self._unit = compile_rx(unit, IGNORECASE)
        self._lengths = frozenset(lengths)
        self._max = max(self._lengths)
        self._score = score
        self._invalid = invalid_score
        self._invalid_needs_cue = invalid_needs_cue
        self._invalid_min_digits = invalid_min_digits
        self._validator = validator
        self._shape = shape
        self._reject = reject
        self._value_scores = tuple(value_scores)
        self._text_scores = tuple(text_scores)
        self._requires_context = requires_context

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float, int, bool]]:
        for m in self._run.finditer(text):
            groups = [(g.start(), g.end(), g.group(0).upper()) for g in self._unit.finditer(text, m.start(), m.end())]
            i = 0
            while i < len(groups):
                found = self._window(groups, i)
                if found is None:
                    i += 1
                    continue
                j, valid, value = found
                s, e = groups[i][0], groups[j][1]
                cue = self.cues.strength(lower, s, e)
                if not cue and (
                    self._requires_context or (not valid and self._invalid_needs_cue) or self.cues.negated(lower, s)
                    or (not valid and sum(c.isdigit() for c in value) < self._invalid_min_digits)
                ):
                    i += 1
                    continue
                base = self._base(value, text[s:e], _delimited(text, s, e)) if valid else self._invalid
                yield s, e, base + boost(cue), cue, valid
                i = j + 1

    def _window(self, groups: list[tuple[int, int, str]], i: int) -> tuple[int, bool, str] | None:
        """(last group, valid, value) of the best window starting at group ``i``."""
        total = 0
        value = ""
        valid: tuple[int, str] | None = None
        shaped: tuple[int, str] | None = None
        for j in range(i, len(groups)):
            value += groups[j][2]
            total += groups[j][1] - groups[j][0]
            if total > self._max:
                break
            if total not in self._lengths:
                continue
            if self._reject is not None and self._reject(value):
                continue
            if self._shape is not None and not self._shape(value):
                continue
            if self._validator is None or self._validator(value):
                valid = (j, value)
            else:
                shaped = (j, value)
        if valid is not None:
            return valid[0], True, valid[1]
        if shaped is not None:
            return shaped[0], False, shaped[1]
        return None

    def _base(self, value: str, written: str, delimited: bool) -> float:
        if not delimited:
            return self._score  # 'M359141717FRA' (an MRZ line) is not a bare routing number
        for rx, score in self._text_scores:
            if rx.fullmatch(written):
                return score
        for rx, score in self._value_scores:
            if rx.fullmatch(value):
                return score
        return self._score
