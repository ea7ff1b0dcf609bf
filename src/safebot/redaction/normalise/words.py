"""Digits spelled out as words: 'four five three nine, one four eight eight' -> '4539 1488'.

A *chain* is number words, digit groups and single capital letters ('G one four', 'PNR eight
Q F seven T L') joined by spaces or hyphens, commas, or 'then' / 'and then' / 'followed by'.
A chain is read out as digits only when it has a number word in it and comes to at least
three digits, or four characters with its letters ('nine L M K D J'), so 'one of your
branches', 'one or two', 'twenty-five dollars', 'gate B two' and 'two A levels' stay as
written while a CVV read out ('one two three') does not. How the words read (the table is data/digit_words.txt):
- one word a digit, and words and letters joined by a space or hyphen run together:
  'four five' -> 45, 'eight Q F seven' -> 8QF7;
- the way people group pairs: 'forty five thirty nine' -> 4539, 'nineteen eighty four' -> 1984,
  'forty' alone -> 40, 'oh five' -> 05, 'double four' -> 44, 'triple seven' -> 777;
- 'four hundred twelve' / 'four hundred and twelve' -> 412, 'four hundred' -> 400;
- a comma, 'then' or 'and then' between groups is a group break (one space), and a digit
  group keeps a space between it and the words beside it ('4539 one four' -> '4539 14').
'thousand' and 'million' are how amounts are said, not identifiers: they end a chain, and so
does 'and' anywhere but after 'hundred'. 'I' at the start of a chain is the pronoun, and one
number word beside digit groups is a count ('last four 7714', 'card ending four 4242'). Each
digit maps back to its word, so a span over the digits covers the words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from safebot.redaction.normalise._data import rows
from safebot.redaction.normalise._trace import Edit

__all__ = ["fold_number_words", "needs_number_words"]

_BREAK_WORDS = r"(?:and[ \t]+then|then|followed[ \t]+by)"


@dataclass(frozen=True, slots=True)
class _Word:
    digits: str
    role: str  # unit, inner, teen, tens, repeat, hundred


class _Tables:
    def __init__(self) -> None:
        self.words = {w: _Word(d, role) for w, d, role in rows("digit_words")}
        self.lower_words = frozenset(self.words)
        alt = "|".join(sorted(map(re.escape, self.words), key=len, reverse=True))
        # not \b: 'nine_1488' has a word character after 'nine'
        word = rf"(?<![A-Za-z0-9])(?i:{alt})(?![A-Za-z0-9])"
        item = rf"(?:{word}|(?<![A-Za-z0-9])(?:[0-9]+|[A-Z])(?![A-Za-z0-9]))"
        gap = (
            rf"(?:[ \t]*,?[ \t]*(?i:{_BREAK_WORDS})[ \t]*,?[ \t]*|[ \t]*[,;][ \t]*|[ \t]*-[ \t]*"
            rf"|[ \t]+(?i:and)[ \t]+(?=[A-Za-z])|[ \t]+)"
        )
        self.hint = re.compile(word)
        self.chain = re.compile(rf"{item}(?:{gap}{item})*")
        self.item = re.compile(item)


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    return _Tables()


def needs_number_words(text: str) -> bool:
    return not _tables().lower_words.isdisjoint(_SPLIT.findall(text.lower()))


def _gap_kind(gap: str) -> str:
    g = gap.strip(" \t").lower()
    if not g or g == "-":
        return "join"
    if g == "and":
        return "and"
    return "break"


def _is_letter(tok: str) -> bool:
    return len(tok) == 1 and "A" <= tok <= "Z"


_SPLIT = re.compile(r"[a-z]+")


def _o_is_letter(items: list[tuple[int, int, str]], k: int) -> bool:
    """Is the item 'O' a letter ('O F nine L L') rather than zero ('four O five')?"""
    return items[k][2] == "O" and any(
        0 <= j < len(items) and _is_letter(items[j][2]) and items[j][2] != "O" for j in (k - 1, k + 1)
    )


def _read_chain(text: str, start: int, end: int, t: _Tables) -> list[Edit]:
    items = [(m.start(), m.end(), m.group(0)) for m in t.item.finditer(text, start, end)]
    # a bare 'o' counts only with number words on both sides; 'I' first is the pronoun
    while items and (
        (items[0][2].lower() == "o" and not _o_is_letter(items, 0))
        or (items[0][2] == "I" and not (len(items) > 1 and _is_letter(items[1][2])))
    ):
        items.pop(0)
    while items and items[-1][2].lower() == "o" and not _o_is_letter(items, len(items) - 1):
        items.pop()
    if len(items) < 2:
        return []
    gaps = [_gap_kind(text[items[i][1] : items[i + 1][0]]) for i in range(len(items) - 1)]
    for i, g in enumerate(gaps):  # 'and' only after 'hundred'; elsewhere it ends the chain
        if g == "and" and items[i][2].lower() != "hundred":
            return _read_chain(text, start, items[i][1], t) + _read_chain(text, items[i + 1][0], end, t)
    words = [
        None if (_is_letter(tok) and tok != "O") or _o_is_letter(items, k) else t.words.get(tok.lower())
        for k, (_s, _e, tok) in enumerate(items)
    ]
    if all(w is None for w in words):
        return []
    out: list[str] = [tok if w is None else "" for (_s, _e, tok), w in zip(items, words, strict=True)]
    n = len(items)

    def joined(k: int) -> bool:  # items k and k+1 belong together (a space, hyphen or 'and')
        return k + 1 < n and gaps[k] in ("join", "and") and words[k + 1] is not None

    i = 0
    while i < n:
        w = words[i]
        if w is None:
            i += 1
            continue
        nxt = words[i + 1] if i + 1 < n else None
        if w.role in ("unit", "inner"):
            out[i] = w.digits
            if joined(i) and nxt is not None and nxt.role == "hundred":
                after = words[i + 2] if joined(i + 1) else None
                if after is not None and after.role in ("tens", "teen"):
                    out[i + 1] = ""
                elif after is not None and after.role in ("unit", "inner"):
                    out[i + 1] = "0"
                else:
                    out[i + 1] = "00"
                i += 2
                continue
        elif w.role == "teen":
            out[i] = w.digits
        elif w.role == "tens":
            single = joined(i) and nxt is not None and nxt.role == "unit" and nxt.digits != "0"
            out[i] = w.digits if single else w.digits + "0"
        elif w.role == "repeat":
            if not (joined(i) and nxt is not None and nxt.role in ("unit", "inner")):
                return []  # 'double' without a digit after it: not a number
            out[i] = nxt.digits * (int(w.digits) - 1)
        elif w.role == "hundred":
            return []  # 'hundred' not after a digit word: an amount, not a read-out number
        i += 1
    letters = sum(_is_letter(tok) for _s, _e, tok in items)
    digits = sum(c.isdigit() for o in out for c in o)
    if digits < 3 and not (letters and digits + letters >= 4):
        return []
    if sum(w is not None for w in words) == 1 and not letters:
        return []  # 'last four 7714': one word beside digits is a count, not a digit
    edits: list[Edit] = []
    for k, ((s, e, _tok), w) in enumerate(zip(items, words, strict=True)):
        if w is not None:
            edits.append(Edit(s, e, out[k]))
        if k + 1 < n:
            gs, ge = e, items[k + 1][0]
            spelled = not (items[k][2].isdigit() and items[k + 1][2].isdigit())
            if spelled and gaps[k] in ("join", "and") and not (items[k][2].isdigit() or items[k + 1][2].isdigit()):
                edits.append(Edit(gs, ge, ""))
            elif text[gs:ge] != " " and spelled:
                edits.append(Edit(gs, ge, " "))
    return edits


def fold_number_words(text: str) -> list[Edit]:
    """The edits of this pass."""
    t = _tables()
    edits: list[Edit] = []
    for m in t.chain.finditer(text):
        if m.end() - m.start() > 1 and t.hint.search(m.group(0)):
            edits.extend(_read_chain(text, m.start(), m.end(), t))
    return edits
