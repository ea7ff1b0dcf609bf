"""Character folding: NFKC per grapheme, invisible and control characters, any decimal digit.

Works on graphemes (a base character and the combining marks after it), so a decomposed
accent ('Mu' + U+0308 + 'ller', NFD) is composed back into one letter and the name stays one
word; a combining mark that composes with nothing ('4' + U+0303) is dropped from a Latin
letter or a digit, and the mark is still covered by the span of its base. Full-width and
other compatibility forms fold by NFKC; Arabic-Indic, Devanagari and every other decimal
digit (Unicode category Nd) become ASCII digits; zero-width and format characters go; NUL and
other control characters become a tab: white space, and a separator the ``separators`` pass
folds between groups like an underscore.
"""

from __future__ import annotations

import re
import unicodedata

from safebot.redaction.normalise._trace import Edit

__all__ = ["fold_chars", "needs_fold"]

# Removed outright besides every format character (category Cf): the Mongolian vowel separator
# and the combining grapheme joiner, which are not Cf but are just as invisible.
_INVISIBLE = frozenset("\u180e\u034f")
# Dashes, spaces and quotes NFKC leaves alone but that mean '-', ' ' and "'".
_FOLD = str.maketrans(
    {
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
        "\u2212": "-", "\ufe58": "-", "\ufe63": "-", "\uff0d": "-",
        "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u3000": " ",
        "\u2028": "\n", "\u2029": "\n", "\u0085": "\n",
        "\u2018": "'", "\u2019": "'", "\u02bc": "'",
    }
)
_KEEP_CONTROLS = frozenset("\t\n\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INTERESTING = re.compile(r"[^\x20-\x7e\t\n\r]+")


def needs_fold(text: str) -> bool:
    """Cheap test: only non-ASCII text or ASCII control characters need this pass."""
    return not text.isascii() or _CONTROL.search(text) is not None


def _is_mark(ch: str) -> bool:
    return not ch.isascii() and unicodedata.category(ch)[0] == "M"


def _latin_or_digit(ch: str) -> bool:
    """A base from whose leftover combining marks detection gains nothing: Latin or a digit."""
    o = ord(ch)
    return o < 0x250 or 0x1E00 <= o <= 0x1EFF or unicodedata.category(ch) == "Nd"


def _fold_segment(seg: str) -> str:
    base = seg[0]
    if base.isascii():
        if base in _KEEP_CONTROLS:
            return base
        if _CONTROL.match(base):
            return "\t"
        # an ASCII letter or digit with combining marks after it
    else:
        cat = unicodedata.category(base)
        if cat == "Cf" or base in _INVISIBLE:
            return ""
        if cat == "Cc":
            return "\n" if base == "\u0085" else "\t"
    out = unicodedata.normalize("NFKC", seg.translate(_FOLD)).translate(_FOLD)
    chars: list[str] = []
    for c in out:
        if c.isascii():
            chars.append(c)
            continue
        cat = unicodedata.category(c)
        if cat == "Nd":
            chars.append(str(unicodedata.decimal(c)))
        elif cat[0] == "M":
            if not (chars and _latin_or_digit(chars[-1])):
                chars.append(c)
        elif cat == "Cf" or c in _INVISIBLE:
            continue
        else:
            chars.append(c)
    return "".join(chars)


def fold_chars(text: str) -> list[Edit]:
    """The edits of this pass (graphemes whose folded form differs).

    Only runs of characters outside printable ASCII are looked at; a mark that starts such a
    run belongs to the ASCII character before it.
    """
    edits: list[Edit] = []
    n = len(text)
    for m in _INTERESTING.finditer(text):
        i, stop = m.start(), m.end()
        if i > 0 and _is_mark(text[i]) and (not edits or edits[-1].end <= i - 1):
            i -= 1  # '4' + U+0303: the segment starts at the digit
        while i < stop:
            k = i + 1
            while k < n and _is_mark(text[k]):
                k += 1
            seg = text[i:k]
            out = _fold_segment(seg)
            if out != seg:
                edits.append(Edit(i, k, out))
            i = k
    return edits
