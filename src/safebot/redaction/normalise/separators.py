"""Odd separators between the groups of an identifier, and identifiers typed one character at
a time.

Recognizers take spaces, dashes, dots and slashes between groups ('4111 1111-1111.1111').
This pass rewrites the other separators people use between two *groups* (a run of letters
and digits with a digit in it, or up to four letters next to one with a digit, or up to four
capitals: 'WEST', 'ESH'), to a dash between two groups with digits ('05_04_1948' ->
'05-04-1948', which a date pattern reads) and to a space otherwise:
- underscores, tabs (and so NUL bytes, which the ``chars`` pass made tabs), '|', '\\', '*'
  and '~', between any letters or digits ('DEUT_DE_FF', 'card_number'); never inside an
  e-mail address or a URL;
- a line break where one of the two lines is the group alone ('4111\\n1111\\n1111'; not
  'Box 8144\\nAPO AA 42323' or a blank line), four or more spaces, and 'then', 'and then',
  'followed by';
- commas and semicolons, unless the digits are an amount with thousands separators
  ('1,200,000', '$1,845.00', '2,500,000 dollars'; a bare '251,777,632' with no money word
  near is an identifier); between two groups only without a space and with six digits or a
  letter ('5177,7631', 'ESH,968'; not '12,50 EUR' or '{1,3}'), and with a space only between
  three groups or more or in a run of ten digits or more ('4111, 1111, 1111, 1111', '4111
  1111, 1111 1111'; not 'March 12, 1984' or 'in 2019, 2020').
Address blocks and contact cards keep their line breaks, which the address recognizers read.

The ``spaced`` pass then closes up characters typed one at a time: four or more single
characters between spaces (or ', ') with at least two digits, or six or more ('4 1 1 1 ...',
'T M 4 9 8 L', 'I D P Y E S P Y'); a single letter at either end whose case differs from
the others is left out ('... 8 4 a valid iban'); and two or more single capitals next to a
group with a digit ('I E 55 H X C O 8424' -> 'IE 55 HXCO 8424', as spelled-out digits leave
them).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re

from safebot.redaction.normalise._data import rows
from safebot.redaction.normalise._trace import Edit

__all__ = ["close_spaced", "fold_separators", "needs_close_spaced", "needs_separators"]

_TOKEN = re.compile(r"[A-Za-z0-9]+")
_PLAIN = re.compile(r"[ .\-/]{1,3}")
_GAP = re.compile(
    r"[ \t\r\n_,;|*~.\-/]{1,8}|[ \t]*,?[ \t]*(?:and[ \t]+then|then|followed[ \t]+by)[ \t]*,?[ \t]*",
    re.IGNORECASE,
)
_STRONG = frozenset("_\t|*~")
_HINT = re.compile(
    r"[A-Za-z0-9][ \t]*[_\t|*~][ \t]*[A-Za-z0-9]"
    r"|[A-Z0-9][ \t]*[,;\r\n][ \t\r\n]*[A-Za-z0-9]|[A-Za-z0-9][ \t]*[,;\r\n][ \t\r\n]*[A-Z0-9]"
    r"|[A-Za-z0-9] {4}|[A-Za-z0-9][ \t]*,?[ \t]*(?:and[ \t]+then|then|followed[ \t]+by)[ \t]*,?[ \t]*[A-Za-z0-9]",
)
_CONNECTOR = re.compile(
    r"(?<=[A-Za-z0-9])[ \t]*,?[ \t]*(?:and[ \t]+then|then|followed[ \t]+by)[ \t]*,?[ \t]*(?=[A-Za-z0-9])",
    re.IGNORECASE,
)
# e-mail addresses, URLs and placeholders ('<CREDIT_CARD_1>', '<IBAN_CODE:3fa9>') keep theirs
_SKIP_TOKEN = re.compile(r"\S*(?:@|://|www\.)\S*|<[A-Z][^<>\s]{0,80}>", re.IGNORECASE)
_SENTENCE_GOES_ON = re.compile(r"[,.;:!?]| +[a-z]")
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
_MONEY_BEFORE = re.compile(
    r"(?:[$€£¥₹]|\b(?:usd|eur|gbp|inr|rs|balance|amount|total|paid|pay|cost|price|sum|of))\s*\Z",
    re.IGNORECASE,
)
_MONEY_AFTER = re.compile(
    r"\A(?:\.[0-9]{1,2}\b|\s*(?:dollars?|euros?|pounds?|bucks|usd|eur|gbp|inr|rupees|k\b|m\b))",
    re.IGNORECASE,
)
_SPACED = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9](?:,? [A-Za-z0-9](?![A-Za-z0-9])){3,}")
_SPACED_CHAR = re.compile(r"[A-Za-z0-9]")
# two or more single capitals between spaces, and a group with a digit right beside them
_CAPITALS = re.compile(r"(?<![A-Za-z0-9])[A-Z](?: [A-Z])+(?![A-Za-z0-9])")
_DIGIT_GROUP_BEFORE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]*[0-9][A-Za-z0-9]* \Z")
_DIGIT_GROUP_AFTER = re.compile(r"\A [A-Za-z0-9]*[0-9]")


def needs_separators(text: str) -> bool:
    # most messages have none of these characters and words: a few substring tests say so
    if not any(c in text for c in "_\t|*~,;\r\n") and "    " not in text:
        low = text.lower()
        if "then" not in low and "followed" not in low:
            return False
    return _HINT.search(text) is not None


def _kind(gap: str) -> str | None:
    if any(c.isalpha() for c in gap):
        return "then"
    if any(c in _STRONG for c in gap):
        return "strong"
    if "\n" in gap or "\r" in gap:
        # one line break; a blank line between is a paragraph, not a separator
        return "newline" if gap.count("\n") + gap.count("\r") - gap.count("\r\n") == 1 else None
    if "," in gap or ";" in gap:
        return "comma"
    if _PLAIN.fullmatch(gap):
        return "plain"
    return "wide" if gap.strip(" ") == "" else None  # '4111    1111'; not '3... 2... 1...'


def _line(text: str, pos: int, cr: bool) -> str:
    """The line around ``pos``, without its line break (``cr``: the text has carriage returns)."""
    a = text.rfind("\n", 0, pos) + 1
    b = text.find("\n", pos)
    b = len(text) if b < 0 else b
    if cr:  # only within the line found, so that each call costs the line's length
        a = text.rfind("\r", a, pos) + 1 or a
        r = text.find("\r", pos, b)
        b = r if r >= 0 else b
    return text[a:b]


def _segments(flags: list[bool]) -> tuple[list[int], list[int]]:
    """For each gap index x with flags[x]: the first and last gap index of its run of flags."""
    n = len(flags)
    first, last = list(range(n)), list(range(n))
    for x in range(1, n):
        if flags[x] and flags[x - 1]:
            first[x] = first[x - 1]
    for x in range(n - 2, -1, -1):
        if flags[x] and flags[x + 1]:
            last[x] = last[x + 1]
    return first, last


class _Lines:
    """Line facts about the tokens beside line breaks, each computed once."""

    def __init__(self, text: str, tokens: list[tuple[int, int, str]], kinds: list[str | None]) -> None:
        self.text, self.tokens, self.kinds = text, tokens, kinds
        self._cr = "\r" in text
        self._line: dict[int, str] = {}
        n = len(tokens)
        # first[k]: where the lines of an identifier ending at token k begin (see joins)
        self.first = list(range(n))
        for k in range(1, n):
            if self.joined(k - 1) and self.lone(k) and (self.lone(k - 1) or self.cued(k - 1)):
                self.first[k] = self.first[k - 1] if self.lone(k - 1) else k - 1
        self.last = list(range(n))
        for k in range(n - 2, -1, -1):
            if self.joined(k) and self.lone(k) and self.starts(k + 1):
                self.last[k] = self.last[k + 1] if self.lone(k + 1) else k + 1

    def joined(self, k: int) -> bool:  # a line break between tokens k and k+1
        return 0 <= k < len(self.kinds) and self.kinds[k] == "newline"

    def line(self, k: int) -> str:
        if k not in self._line:
            self._line[k] = _line(self.text, self.tokens[k][0], self._cr).strip(" \t")
        return self._line[k]

    def lone(self, k: int) -> bool:
        return self.line(k) == self.tokens[k][2]

    def starts(self, k: int) -> bool:
        return self.line(k).startswith(self.tokens[k][2])

    def cued(self, k: int) -> bool:  # the last on its line, after words ('my card is 4111')
        ln, tok = self.line(k), self.tokens[k][2]
        return ln.endswith(tok) and any(c.isalpha() for c in ln[: -len(tok)])

    def joins(self, i: int) -> bool:
        """Does the line break between tokens i and i+1 split one identifier?

        Its groups stand alone on their lines ('4111\\n1111\\n1111'), except that the first may
        follow a cue ('my card is 4111') and the last of three or more may have words after it. An
        address or a contact card has more on its lines ('Box 8144\\nAPO AA 42323', 'Flat 2\\n10
        Downing Street', 'Suite 464\\n OULU'), and a line that starts with a comma continues an
        address (', NI\\n 61089\\n28-64-66-98').
        """
        a, b = self.tokens[i][2], self.tokens[i + 1][2]
        if not all(x.isupper() or _digits(x) for x in (a, b)):
            return False  # lower-case words are not groups here
        if not (self.lone(i) or self.cued(i)):
            return False
        first = self.first[i] if self.lone(i) else i
        last = self.last[i + 1] if self.lone(i + 1) else i + 1
        groups = last - first + 1
        lb = self.line(i + 1)
        b_ok = (
            self.lone(i + 1)
            or (lb.startswith(b) and self.lone(i) and groups >= 3)
            # two halves after a cue, the sentence going on in lower case: 'code G38\\nKFE, need
            # to...', 'redress 241\\n7776 to my...' (not 'Flat 2\\n10 Downing Street')
            or (lb.startswith(b) and len(a) >= 3 and len(b) >= 3 and _SENTENCE_GOES_ON.match(lb[len(b) :]) is not None)
        )
        if not b_ok:
            return False
        # 'Suite 464\\n OULU': a word alone after a numbered line is a place
        return not (a.isdigit() and not _digits(b) and not self.lone(i) and self.lone(i + 1) and last == i + 1)


@functools.cache
def _not_groups() -> frozenset[str]:
    return frozenset(r[0] for r in rows("not_groups"))


def _groupish(tok: str, other: str) -> bool:
    """Can ``tok`` be a group of an identifier, next to ``other``?"""
    if len(tok) > 12:
        return False
    if any(c.isdigit() for c in tok):
        return True
    if tok.isupper():
        return len(tok) <= 4
    # 'west' in 'gb82,west,1234'; not 'Box' in 'PSC 0413, Box 8144', nor 'and' in '2020 and 2021'
    return tok.islower() and len(tok) <= 4 and any(c.isdigit() for c in other) and tok not in _not_groups()


def _digits(tok: str) -> int:
    return sum(c.isdigit() for c in tok)


def _amount(text: str, start: int, end: int) -> bool:
    """Is text[start:end] (digit groups with commas) an amount with thousands separators?"""
    if not _THOUSANDS.fullmatch(text[start:end]):
        return False
    if _digits(text[start:end]) <= 7:
        return True
    return bool(_MONEY_BEFORE.search(text, max(0, start - 12), start) or _MONEY_AFTER.match(text[end : end + 12]))


_FAR = 1 << 62


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Is [start, end) inside one of ``spans`` (sorted, disjoint)?"""
    k = bisect.bisect_right(spans, (start, _FAR)) - 1
    return k >= 0 and spans[k][0] <= start and end <= spans[k][1]


def fold_separators(text: str) -> list[Edit]:
    """The edits of this pass."""
    skip = [(m.start(), m.end()) for m in _SKIP_TOKEN.finditer(text)] if ("@" in text or "/" in text or "www" in text or "<" in text) else []
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
    low = text.lower()
    if "then" in low or "followed" in low:  # connector words are part of a gap
        joins = [(m.start(), m.end()) for m in _CONNECTOR.finditer(text)]
        tokens = [t for t in tokens if not _inside(joins, t[0], t[1])]
    n = len(tokens)
    kinds: list[str | None] = []  # kinds[i]: the gap between tokens i and i+1 (None: not a separator)
    for i in range(n - 1):
        gap = text[tokens[i][1] : tokens[i + 1][0]]
        kinds.append(_kind(gap) if _GAP.fullmatch(gap) else None)
    # runs of groups (tokens that can be part of an identifier) joined by separator gaps
    run_of = [0] * n
    run_digits: list[int] = []
    for i in range(n):
        tok = tokens[i][2]
        if i and kinds[i - 1] is not None and _groupish(tokens[i - 1][2], tok) and _groupish(tok, tokens[i - 1][2]):
            run_of[i] = run_of[i - 1]
            run_digits[-1] += _digits(tok)
        else:
            run_of[i] = len(run_digits)
            run_digits.append(_digits(tok))
    # the same on one line, through spaces and commas only: '4111 1111, 1111 1111'
    inline_of = [0] * n
    inline_digits: list[int] = []
    for i in range(n):
        tok = tokens[i][2]
        if i and kinds[i - 1] in ("plain", "comma") and run_of[i] == run_of[i - 1]:
            inline_of[i] = inline_of[i - 1]
            inline_digits[-1] += _digits(tok)
        else:
            inline_of[i] = len(inline_digits)
            inline_digits.append(_digits(tok))
    # chains of commas between groups, and of line breaks, as gap-index segments
    comma_first, comma_last = _segments(
        [k == "comma" and _groupish(tokens[x][2], tokens[x + 1][2]) and _groupish(tokens[x + 1][2], tokens[x][2]) for x, k in enumerate(kinds)]
    )
    nl_first, nl_last = _segments([k == "newline" for k in kinds])
    lines = _Lines(text, tokens, kinds) if "newline" in kinds else None
    amounts: dict[tuple[int, int], bool] = {}
    edits: list[Edit] = []
    for i, kind in enumerate(kinds):
        if kind is None or kind == "plain":
            continue
        (_as, ae, a), (bs, _be, b) = tokens[i], tokens[i + 1]
        if skip and _inside(skip, ae, bs):
            continue
        d_run = run_digits[run_of[i]]
        da, db = _digits(a), _digits(b)
        fold = kind == "strong" or (_groupish(a, b) and _groupish(b, a))
        if fold and kind == "newline" and lines is not None:
            group = [tokens[x][2] for x in range(nl_first[i], min(nl_last[i] + 2, nl_first[i] + 12))]
            fold = lines.joins(i) and (
                d_run >= 6
                or (len(group) >= 3 and all(len(g) <= 4 for g in group))
                # 'ESH\n968', '8QF\n7TL': two short groups of capitals and digits
                or (
                    len(group) == 2
                    and all(len(g) <= 4 and not any(c.islower() for c in g) for g in group)
                    and len(group[0]) + len(group[1]) >= 5
                )
            )
        if fold and kind == "comma":
            j, k = comma_first[i], comma_last[i] + 1
            spaced = text[ae:bs].endswith((" ", "\t"))
            # 'March 12, 1984', 'in 2019, 2020': a comma and a space join two groups of an
            # identifier only in a longer list ('4111, 1111, 1111, 1111') or a run of ten digits
            # or more ('4111 1111, 1111 1111'); two groups alone only
            # when they are long enough to be one ('12,50 EUR' and '{1,3}' stay; '5177,7631',
            # 'ESH,968' do not)
            letters = any(c.isalpha() for x in (i, i + 1) for c in tokens[x][2])
            if (j, k) not in amounts:  # once a chain
                amounts[(j, k)] = _amount(text, tokens[j][0], tokens[k][1])
            fold = not amounts[(j, k)] and (
                k - j >= 2 or inline_digits[inline_of[i]] >= 10 or (not spaced and (da + db >= 6 or letters))
            )
        if fold:
            edits.append(Edit(ae, bs, "-" if da and db else " "))
    return edits


def needs_close_spaced(text: str) -> bool:
    return _SPACED.search(text) is not None or _CAPITALS.search(text) is not None


def close_spaced(text: str) -> list[Edit]:
    """The edits that close up characters typed one at a time ('4 1 1 1 ...')."""
    edits: list[Edit] = []
    for m in _SPACED.finditer(text):
        where = [c.start() for c in _SPACED_CHAR.finditer(text, m.start(), m.end())]
        chars = "".join(text[k] for k in where)
        letters = [c for c in chars if c.isalpha()]
        if letters and any(c.isdigit() for c in chars):
            upper = sum(c.isupper() for c in letters) * 2 > len(letters)
            while chars and chars[-1].isalpha() and chars[-1].isupper() != upper:
                chars, where = chars[:-1], where[:-1]  # '... 8 4 a valid': not the article
            while chars and chars[0].isalpha() and chars[0].isupper() != upper:
                chars, where = chars[1:], where[1:]
        digits = sum(c.isdigit() for c in chars)
        if (digits >= 2 and len(chars) >= 4) or len(chars) >= 6:
            edits.extend(Edit(a + 1, b, "") for a, b in itertools.pairwise(where))
    closed = [(e.start, e.end) for e in edits]  # sorted: _SPACED matches come in order
    for m in _CAPITALS.finditer(text):
        k = bisect.bisect_left(closed, (m.start(), 0))
        if any(0 <= x < len(closed) and closed[x][0] < m.end() and m.start() < closed[x][1] for x in (k - 1, k)):
            continue
        before = text[max(0, m.start() - 14) : m.start()]
        after = text[m.end() : m.end() + 14]
        if _DIGIT_GROUP_BEFORE.search(before) or _DIGIT_GROUP_AFTER.match(after):
            edits.extend(Edit(m.start() + k, m.start() + k + 1, "") for k in range(1, len(m.group(0)), 2))
    edits.sort()
    return edits
