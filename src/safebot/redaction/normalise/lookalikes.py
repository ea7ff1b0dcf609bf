"""The letters O and l (and I) typed for 0 and 1 inside numbers: '4lll 1111 O111 1111'.

Tokens are runs of ASCII letters and digits. A *run* is tokens that hold a digit or are made
only of O, o, l and I, joined by single separators ('4111 1111-O111', 'I 3 2 I'); D is the
run's digits and F its O/o/l/I letters. Folded, and only these:
- a token of digits and O/o/l/I three characters or longer ('O111', '9O7', 'IO8': no English
  word looks like that), or a shorter one in a run with D >= 2 and D >= F ('O2' and '1O' alone
  stay);
- a token of O/o/l/I only: between two tokens of the run when D >= 2 and D >= F
  ('4111 llll 1111'); at the run's edge when it is two letters or more and D >= 4 and D >= F
  ('OOl lO8l558836');
- any of those in a run of three or more single characters with D >= 2, or four or more
  with a digit ('I 3 2 I', '3 2 I I', 'l O 8 l');
- inside a token that also has other letters ('GB82WESTl234...', 'P9l'), in a run with D >= 4:
  an O/o/l/I whose stretch of such letters has a digit or the token's edge on both sides and a
  digit on at least one ('4lOl9' -> '41019'), or one whose case differs from the token's other
  letters and that touches a digit (lower-case 'l' in 'WESTl234'); and the two check digits
  of an IBAN-shaped token, right after its two-letter country code ('NLO4LHLC...').
Words are never touched: 'Hello', 'O'Brien', 'Apollo13' ('ollo' has a letter on one side),
'I' in 'I paid 20' and in 'call 555 1234 I think' stay as written.
"""

from __future__ import annotations

import re

from safebot.redaction.normalise._trace import Edit

__all__ = ["fold_lookalikes", "needs_lookalikes"]

_FOLDABLE = {"O": "0", "o": "0", "l": "1", "I": "1"}
_HINT = re.compile(r"[0-9][ .\-]{0,2}[OolI]|[OolI][ .\-]{0,2}[0-9]")
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_JOIN = re.compile(r"[ .\-]{1,2}")


def needs_lookalikes(text: str) -> bool:
    return _HINT.search(text) is not None


def _digits(tok: str) -> int:
    return sum(c.isdigit() for c in tok)


# an IBAN's two check digits come right after its country code: 'NLO4LHLC...'
_IBAN_FIRST_GROUP = re.compile(r"[A-Z]{2}[0-9OIl]{2}")
_IBAN_HEAD = re.compile(r"[A-Z]{2}[0-9OIl]{2}(?=[A-Z0-9OIl]{8,30}\Z)")


def _mixed_token_edits(s: int, tok: str, edits: list[Edit]) -> None:
    chars = list(tok)
    if _IBAN_HEAD.match(tok):
        for k in (2, 3):
            if chars[k] in _FOLDABLE:
                edits.append(Edit(s + k, s + k + 1, _FOLDABLE[chars[k]]))
                chars[k] = _FOLDABLE[chars[k]]
    others = [c for c in chars if c.isalpha() and c not in _FOLDABLE]
    upper = all(c.isupper() for c in others)
    lower = all(c.islower() for c in others)
    n = len(chars)
    i = 0
    while i < n:
        if chars[i] not in _FOLDABLE:
            i += 1
            continue
        j = i
        while j < n and chars[j] in _FOLDABLE:
            j += 1
        left = chars[i - 1] if i > 0 else ""
        right = chars[j] if j < n else ""
        bounded = (left == "" or left.isdigit()) and (right == "" or right.isdigit()) and (
            left.isdigit() or right.isdigit()
        )
        touches = left.isdigit() or right.isdigit()
        for k in range(i, j):
            c = chars[k]
            odd_case = (upper and c in "lo") or (lower and c in "IO")
            if bounded or (odd_case and touches):
                edits.append(Edit(s + k, s + k + 1, _FOLDABLE[c]))
        i = j


def _member(tok: str) -> bool:
    return any(c.isdigit() for c in tok) or all(c in _FOLDABLE for c in tok)


def _fold_all(s: int, tok: str, edits: list[Edit]) -> None:
    edits.extend(Edit(s + k, s + k + 1, _FOLDABLE[c]) for k, c in enumerate(tok) if c in _FOLDABLE)


def fold_lookalikes(text: str) -> list[Edit]:
    """The edits of this pass."""
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
    runs: list[list[int]] = []
    for i, (s, _e, tok) in enumerate(tokens):
        if not _member(tok):
            continue
        if runs and runs[-1][-1] == i - 1 and _JOIN.fullmatch(text[tokens[i - 1][1] : s]):
            runs[-1].append(i)
        else:
            runs.append([i])
    edits: list[Edit] = []
    for run in runs:
        toks = [tokens[i][2] for i in run]
        if not any(c in _FOLDABLE for t in toks for c in t):
            continue
        pure = [t for t in toks if all(c.isdigit() or c in _FOLDABLE for c in t)]
        d = sum(_digits(t) for t in toks)
        d_pure = sum(_digits(t) for t in pure)  # not 'Apollo13' beside 'O2'
        f = sum(sum(c in _FOLDABLE for c in t) for t in pure)
        single = all(len(t) == 1 for t in toks)
        # every token a number with O/l/I in it: 'I23 I5 OII7'
        numeric = all(_digits(t) and all(c.isdigit() or c in _FOLDABLE for c in t) for t in toks)
        spaced = single and ((len(toks) >= 3 and d >= 2) or (len(toks) >= 4 and d >= 1))
        for pos, i in enumerate(run):
            s, _e, tok = tokens[i]
            if not any(c in _FOLDABLE for c in tok):
                continue
            has_digit = _digits(tok) > 0
            only = all(c.isdigit() or c in _FOLDABLE for c in tok)
            if spaced and only:
                _fold_all(s, tok, edits)
            elif has_digit and only:
                if len(tok) >= 3 or (len(pure) > 1 and ((d_pure >= 2 and d_pure >= f) or numeric)):
                    _fold_all(s, tok, edits)
            elif has_digit:
                if len(tok) == 4 and d >= 8 and pos == 0 and _IBAN_FIRST_GROUP.fullmatch(tok):
                    # 'CHI3 4467 O825 ...': an IBAN's first group, its check digits after the country
                    edits.extend(Edit(s + k, s + k + 1, _FOLDABLE[tok[k]]) for k in (2, 3) if tok[k] in _FOLDABLE)
                if d >= 4:
                    _mixed_token_edits(s, tok, edits)
            elif 0 < pos < len(run) - 1:
                if d >= 2 and d >= f:
                    _fold_all(s, tok, edits)
            elif len(toks) > 1 and len(tok) >= 2 and d >= 4 and d >= f:
                _fold_all(s, tok, edits)
    return sorted({e.start: e for e in edits}.values())  # one edit a character, in order
