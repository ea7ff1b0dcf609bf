"""Edits and the offset trace: every normalised character remembers the original characters
it came from, through any number of passes.

A pass returns a list of :class:`Edit` (``text[start:end]`` becomes ``replacement``), sorted
and non-overlapping. A replacement of the same length maps character for character; any
other replacement maps each of its characters to the whole replaced range (so a span that
touches any part of 'forty' covers all of it, and '4' + a combining mark stays one unit).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Edit", "Normalised", "Trace"]


class Edit(NamedTuple):
    start: int
    end: int
    replacement: str


def _grapheme_tail(ch: str) -> bool:
    """A character that belongs to the one before it: a combining mark, ZWJ, variation selector."""
    return not ch.isascii() and (unicodedata.category(ch)[0] == "M" or ch == "\u200d")


@dataclass(frozen=True, slots=True)
class Normalised:
    """The normalised text and, for each of its characters, the original range it came from.

    >>> n = Normalised("41", (0, 2), (1, 3), "4\\u200b1")
    >>> n.span(0, 2)
    (0, 3)
    """

    text: str
    _starts: tuple[int, ...] | None  # None: the same characters as the original
    _ends: tuple[int, ...] | None
    _original: str

    @property
    def original_length(self) -> int:
        return len(self._original)

    @property
    def changed(self) -> bool:
        """Whether the normalised text differs from the original."""
        return self._starts is not None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised ``[start, end)`` to the original text, widened to whole characters.

        The result covers every original character any of the span's characters came from,
        and any combining mark right after the last one; zero-width characters inside the
        span are covered, those just outside it are not.
        """
        n = len(self.text)
        start = max(0, min(start, n))
        end = max(start, min(end, n))
        if self._starts is None or self._ends is None:
            o_start, o_end = start, end
        else:
            o_start = self._starts[start] if start < n else len(self._original)
            if end == start:
                return o_start, o_start
            o_end = max(self._ends[start:end])
        orig = self._original
        if o_end > o_start:
            while o_end < len(orig) and _grapheme_tail(orig[o_end]):
                o_end += 1
        return o_start, o_end


class Trace:
    """The text after the passes so far, with each character's original ``[start, end)``."""

    __slots__ = ("ends", "original", "starts", "text")

    def __init__(self, original: str) -> None:
        self.original = original
        self.text = original
        self.starts: list[int] | None = None  # None: identity
        self.ends: list[int] | None = None

    def apply(self, edits: Sequence[Edit]) -> None:
        """Replace ``text[e.start:e.end]`` by ``e.replacement`` for every edit (sorted, disjoint)."""
        if not edits:
            return
        old = self.text
        ident = self.starts is None
        o_starts = self.starts if self.starts is not None else []
        o_ends = self.ends if self.ends is not None else []
        parts: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for e in edits:
            if e.start < pos or e.end <= e.start:
                raise ValueError("edits must be sorted, must not overlap and must replace something")
            if e.start > pos:  # unchanged run
                parts.append(old[pos:e.start])
                if ident:
                    starts.extend(range(pos, e.start))
                    ends.extend(range(pos + 1, e.start + 1))
                else:
                    starts.extend(o_starts[pos:e.start])
                    ends.extend(o_ends[pos:e.start])
            r = e.replacement
            if r:
                parts.append(r)
                if len(r) == e.end - e.start:
                    if ident:
                        starts.extend(range(e.start, e.end))
                        ends.extend(range(e.start + 1, e.end + 1))
                    else:
                        starts.extend(o_starts[e.start:e.end])
                        ends.extend(o_ends[e.start:e.end])
                else:
                    s = e.start if ident else o_starts[e.start]
                    t = e.end if ident else max(o_ends[e.start:e.end])
                    starts.extend([s] * len(r))
                    ends.extend([t] * len(r))
            pos = e.end
        if pos < len(old):
            parts.append(old[pos:])
            if ident:
                starts.extend(range(pos, len(old)))
                ends.extend(range(pos + 1, len(old) + 1))
            else:
                starts.extend(o_starts[pos:])
                ends.extend(o_ends[pos:])
        self.text = "".join(parts)
        self.starts, self.ends = starts, ends

    def result(self) -> Normalised:
        if self.starts is None or self.ends is None:
            return Normalised(self.text, None, None, self.original)
        return Normalised(self.text, tuple(self.starts), tuple(self.ends), self.original)
