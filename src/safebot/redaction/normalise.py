"""Normalisation before detection, with offsets mapped back to the original text.

Customers (and people trying to slip data past a filter) type full-width digits
('４１１１'), zero-width spaces between groups, non-breaking spaces and typographic dashes.
Detection runs on a normalised copy; every finding is mapped back so that a span always
covers the original characters, including any zero-width characters inside it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

__all__ = ["Normalised", "normalise"]

# Removed outright: zero-width space/joiners, word joiner, BOM, soft hyphen, bidi marks.
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2061\u2062\u2063\u2064\u180e")
# Dashes and spaces NFKC leaves alone but that separate groups just like '-' and ' '.
_FOLD = str.maketrans(
    {
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u2212": "-", "\ufe58": "-", "\ufe63": "-", "\uff0d": "-",
        "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u3000": " ",
        "\u2018": "'", "\u2019": "'", "\u02bc": "'",
    }
)


@dataclass(frozen=True)
class Normalised:
    """The normalised text and, for each of its characters, where it came from."""

    text: str
    _starts: tuple[int, ...] | None  # None: identical to the original
    original_length: int

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised ``[start, end)`` to the original text, widened to whole characters."""
        if self._starts is None:
            return start, end
        o_start = self._starts[start] if start < len(self._starts) else self.original_length
        # End: the start of the next kept character, so invisible characters after the last
        # character of the span are not included, but those inside it are.
        if end <= 0:
            return o_start, o_start
        last = self._starts[end - 1]
        o_end = last + 1
        # A character that normalised into several (e.g. '½' -> '1/2') maps as a whole.
        while end < len(self._starts) and self._starts[end] == last:
            end += 1
        return o_start, max(o_end, o_start)


def normalise(text: str) -> Normalised:
    """NFKC, zero-width characters removed, full-width digits and dashes folded.

    >>> n = normalise("4111\\u200b１１１１")
    >>> n.text
    '41111111'
    >>> n.span(4, 8)
    (5, 9)
    """
    if text.isascii():
        return Normalised(text, None, len(text))
    out: list[str] = []
    starts: list[int] = []
    for i, ch in enumerate(text):
        if ch in _INVISIBLE:
            continue
        folded = unicodedata.normalize("NFKC", ch.translate(_FOLD)).translate(_FOLD)
        for c in folded:
            if c in _INVISIBLE:
                continue
            out.append(c)
            starts.append(i)
    return Normalised("".join(out), tuple(starts), len(text))
