"""The cue/value engine: a value identified by the words before it.

'passport AB 123 456', 'CVV 123', 'ref X7K9QP', 'Reisepass C01X00T47', '여권번호는 M12345678'.
After a cue, filler words ('number', 'is', 'my', 'es', 'ist', '는') are skipped, then groups
of letters/digits joined by single separators are collected; a group after the first must
hold a digit (or, per ``letter_groups``, be an unusual word or any word), so the value stops
before the next word. The longest prefix whose canonical length is allowed wins: one that
passes the validator if there is one, else the longest shaped one with ``invalid_score``.
Rejected values (a word list, a flight number) are never taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from safebot.redaction.recognizers.budget import IGNORECASE, compile_rx
from safebot.redaction.recognizers.engines.base import SafebotRecognizer
from safebot.redaction.recognizers.vocabulary import english_words
from safebot.redaction.recognizers.words import expand

__all__ = ["LetterGroups", "SafebotCueValueRecognizer"]

Check = Callable[[str], bool]
#: letter-only groups after the first: never; only unusual ones ('8pr xee', 'JY7 RTR' in
#: capitals, not 'x7k9qp and'); or any (the value's checksum or shape decides, as for a BIC)
LetterGroups = Literal["no", "unusual", "any"]

_SPACES = compile_rx(r"\s*")
# a token: a run of ASCII letters/digits, or of anything else that is not a space
_TOKEN = compile_rx(r"[a-z0-9]+|[^\sa-z0-9]+")


class SafebotCueValueRecognizer(SafebotRecognizer):
    """A value after one of the ``cues`` (regexes, matched on the lower-cased text)."""

    def __init__(
        self,
        entity: str,
        name: str,
        *,
        cues: Sequence[str],
        lengths: Iterable[int],
        score: float = 0.85,
        invalid_score: float = 0.6,
        digits_only: bool = False,
        need_digit: bool = True,
        validator: Check | None = None,
        reject: Check | None = None,
        letter_groups: LetterGroups = "no",
        filler: Sequence[str] = ("@filler",),
        max_filler: int = 4,
        min_digits: int = 0,
        priority: int = 50,
    ) -> None:
        super().__init__(entity, name, min_digits=min_digits, priority=priority)
        self._letter_groups = letter_groups
        self._common = english_words(5000) | frozenset(w.lower() for w in expand(filler))
        # a value of letters alone ('GKMYPYVYP', a German passport) must not be a word
        self._words = english_words(40000) | self._common
        self._filler = frozenset(w.lower() for w in expand(filler))
        alternatives = "|".join(f"(?:{c})" for c in cues)
        self._cue = compile_rx(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z])", IGNORECASE)
        self._lengths = frozenset(lengths)
        self._max = max(self._lengths)
        self._score = score
        self._invalid = invalid_score
        self._digits_only = digits_only
        self._need_digit = need_digit
        self._validator = validator
        self._reject = reject
        self._max_filler = max_filler
        self._group = compile_rx(r"\d+" if digits_only else r"[a-z0-9]+")
        self._sep = compile_rx(r"[ .\-/]{1,2}")

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float, int, bool]]:
        for cue in self._cue.finditer(lower):
            pos = self._skip_filler(lower, cue.end())
            if pos is None:
                continue
            found = self._value_at(text, lower, pos)
            if found is not None:
                end, valid = found
                yield pos, end, self._score if valid else self._invalid, 2, valid

    def _skip_filler(self, lower: str, pos: int) -> int | None:
        skipped = 0
        while True:
            m = _SPACES.match(lower, pos)
            pos = m.end() if m else pos
            tok = _TOKEN.match(lower, pos)
            if tok is None:
                return None
            word = tok.group(0)
            if (
                word in self._filler
                or self._cue.match(lower, pos)
                or (not word[0].isalnum() and len(word) <= 2 and word not in "<")
            ):
                if skipped >= self._max_filler:
                    return None
                skipped += 1
                pos = tok.end()
                continue
            return pos

    def _value_at(self, text: str, lower: str, pos: int) -> tuple[int, bool] | None:
        first = self._group.match(lower, pos)
        if first is None or (
            self._digits_only and first.end() < len(lower) and lower[first.end()].isascii()
            and lower[first.end()].isalnum()
        ):
            return None
        if first.group(0).isalpha() and first.group(0) in self._common:
            return None  # 'membership', 'please': a word, not the value
        first_upper = text[first.start() : first.end()].isupper()
        ends = [first.end()]
        canon = [first.group(0)]
        size = len(first.group(0))
        cur = first.end()
        while size < self._max:
            sep = self._sep.match(lower, cur)
            if sep is None:
                break
            nxt = self._group.match(lower, sep.end())
            if nxt is None:
                break
            group = nxt.group(0)
            if not any(c.isdigit() for c in group) and not self._letters_ok(
                group, text[nxt.start() : nxt.end()], first_upper
            ):
                break
            if nxt.end() < len(lower) and lower[nxt.end()].isascii() and lower[nxt.end()].isalnum():
                break
            canon.append(group)
            ends.append(nxt.end())
            size += len(group)
            cur = nxt.end()
        shaped: int | None = None
        for k in range(len(canon), 0, -1):
            value = "".join(canon[:k]).upper()
            if len(value) not in self._lengths:
                continue
            if not any(c.isdigit() for c in value) and (self._need_digit or value.lower() in self._words):
                continue
            if self._reject is not None and self._reject(value):
                continue
            if self._validator is None or self._validator(value):
                return ends[k - 1], True
            if shaped is None:
                shaped = ends[k - 1]
        return (shaped, False) if shaped is not None else None

    def _letters_ok(self, group: str, original: str, first_upper: bool) -> bool:
        """May a letter-only group continue the value?"""
        if self._letter_groups == "any":
            return True
        if self._letter_groups == "no" or len(group) > 4:
            return False
        return (first_upper and original.isupper()) or group not in self._common
