"""Cyrillic and Greek look-alikes inside identifiers: 'GB82 WЕSТ' (Cyrillic Е and Т), 'О111'.

Only identifier-shaped tokens are folded: a token (a run of letters and digits) that mixes a
look-alike with Latin letters or ASCII digits; or a token of look-alikes and nothing else
right next to an ASCII token with a digit or in capitals ('ВА 2490' with Cyrillic В and А,
'YNTO NL УЗ'), two characters or more; or one character between two digit groups ('9 О 7'),
beside a digit typed alone ('З 2 1') or joined to the rest of a passport's machine-readable
zone by '<' ('Р<UTO...'). 'с 10 до 12' (Russian: 'from 10 to 12') stays as written.
A Russian or Greek word ('Москва', 'Αθήνα') has no Latin letters in it and is left as written,
so NER and the recognizers never see it turned into nonsense. The table is data
(data/homoglyphs.txt).
"""

from __future__ import annotations

import re
from functools import lru_cache

from safebot.redaction.normalise._data import rows
from safebot.redaction.normalise._trace import Edit

__all__ = ["fold_homoglyphs", "needs_homoglyphs", "table"]

_TOKEN = re.compile(r"[^\W_]+")
_GAP = re.compile(r"[ .\-/]{1,3}|<+")


@lru_cache(maxsize=1)
def table() -> dict[str, str]:
    """Look-alike character -> the Latin letter or digit it passes for."""
    return {chr(int(cp[2:], 16)): latin for cp, latin in rows("homoglyphs")}


@lru_cache(maxsize=1)
def _any() -> re.Pattern[str]:
    return re.compile("[" + "".join(re.escape(c) for c in table()) + "]")


def needs_homoglyphs(text: str) -> bool:
    return not text.isascii() and _any().search(text) is not None


def _ascii_alnum(tok: str) -> bool:
    return any(c.isascii() and c.isalnum() for c in tok)


def _has_digit(tok: str) -> bool:
    return any("0" <= c <= "9" for c in tok)


def fold_homoglyphs(text: str) -> list[Edit]:
    """The edits of this pass."""
    tab = table()
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
    edits: list[Edit] = []
    for i, (s, e, tok) in enumerate(tokens):
        if not any(c in tab for c in tok):
            continue
        fold = _ascii_alnum(tok)
        if not fold and all(c in tab for c in tok):
            near: list[str] = []  # the ASCII neighbours: 'digit', 'caps', 'mrz'
            for j in (i - 1, i + 1):
                if 0 <= j < len(tokens):
                    ps, pe, ptok = tokens[j]
                    gap = text[pe:s] if j < i else text[e:ps]
                    if not _GAP.fullmatch(gap):
                        continue
                    if gap.startswith("<"):
                        if _ascii_alnum(ptok):
                            near.append("mrz")
                    elif _has_digit(ptok):
                        near.append("digit" if len(ptok) > 1 else "spaced digit")
                    elif ptok.isascii() and ptok.isupper():
                        near.append("caps")
            fold = (
                "mrz" in near
                or "spaced digit" in near  # 'З 2 1': a digit typed alone beside it
                or (len(tok) >= 2 and bool(near))
                or near.count("digit") == 2
            )
        if fold:
            for k, c in enumerate(tok, start=s):
                if c in tab:
                    edits.append(Edit(k, k + 1, tab[c]))
    return edits
