"""E-mail addresses written out: 'mary @ example.com', 'mary [at] example [dot] com',
'mary(at)example.com', 'mary dot jones at example dot com' become 'mary.jones@example.com'.

Every '@' (with spaces around it) and every bracketed '[at]', '(at)', '{at}', '<at>' is a
candidate; so is the bare word 'at', but only where what follows is a domain ending in a known
top-level domain (data/email_words.txt) and the local part is not a word that stands before
'at' in a sentence ('look at example.com', 'find us at example.org' stay as written; 'mary at
example.com', 'mary.jones at example.com' do not). The local part runs back to a space or the
start of the text, never through an apostrophe ('I'm at ...'). Dots with spaces around them
('example . co . uk', or with the tabs NUL bytes became) count only before a known TLD.
"""

from __future__ import annotations

import re
from functools import lru_cache

from safebot.redaction.normalise._data import rows
from safebot.redaction.normalise._trace import Edit

__all__ = ["EmailTables", "fold_emails", "needs_emails"]

_LOCAL_PART = r"[A-Za-z0-9][A-Za-z0-9_%+\-]{0,63}"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}[A-Za-z0-9])?"
_HINT = re.compile(r"@|[\[({<]\s*at\s*[\])}>]|\bat\b", re.IGNORECASE)


class EmailTables:
    """The compiled patterns, built once from data/email_words.txt."""

    def __init__(self) -> None:
        table = rows("email_words")
        at_words = [w for kind, w in table if kind == "at"]
        dot_words = [w for kind, w in table if kind == "dot"]
        self.tlds = frozenset(w for kind, w in table if kind == "tld")
        self.not_local = frozenset(w for kind, w in table if kind == "not_local")
        at_alt = "|".join(map(re.escape, at_words))
        dot_alt = "|".join(map(re.escape, dot_words))
        bracket = r"\s*[\[({{<]\s*(?:{})\s*[\])}}>]\s*"
        self.at = re.compile(
            rf"(?P<sym>[ \t]*@[ \t]*)|(?P<br>{bracket.format(at_alt)})|(?P<word>[ \t]+(?:{at_alt})[ \t]+)",
            re.IGNORECASE,
        )
        dot = rf"(?:[ \t]*\.[ \t]*|{bracket.format(dot_alt)}|[ \t]+(?:{dot_alt})[ \t]+)"
        self.dot = re.compile(dot, re.IGNORECASE)
        # the local part, anchored at the end of the text before the '@' form
        self.local = re.compile(rf"(?<![\w'.@%+\-])(?:{_LOCAL_PART})(?:{dot}{_LOCAL_PART}){{0,6}}\Z", re.IGNORECASE)
        self.domain = re.compile(rf"{_LABEL}(?:{dot}{_LABEL}){{1,6}}", re.IGNORECASE)


@lru_cache(maxsize=1)
def _tables() -> EmailTables:
    return EmailTables()


def needs_emails(text: str) -> bool:
    return _HINT.search(text) is not None


def _dots(t: EmailTables, text: str, start: int, end: int, edits: list[Edit]) -> None:
    """Edits turning every written-out dot in ``text[start:end]`` into '.'."""
    for m in t.dot.finditer(text, start, end):
        if m.group(0) != ".":
            edits.append(Edit(m.start(), m.end(), "."))


def fold_emails(text: str) -> list[Edit]:
    """The edits of this pass."""
    t = _tables()
    edits: list[Edit] = []
    last = 0
    for at in t.at.finditer(text):
        if at.start() < last:
            continue
        if at.group("sym") is not None and at.group(0) == "@":
            continue  # an ordinary address: nothing to fold
        if at.start() == 0 or not (text[at.start() - 1].isalnum() or text[at.start() - 1] in "_%+-"):
            continue  # nothing like a local part right before it
        dom = t.domain.match(text, at.end())
        if dom is None:
            continue
        local = t.local.search(text, max(last, at.start() - 100), at.start())
        if local is None:
            continue
        # the domain ends at its last label that is a TLD-shaped word
        dom_end = dom.end()
        if dom_end < len(text) and (text[dom_end].isalnum() or text[dom_end] in "@_"):
            continue
        tld = re.split(r"[.\s\])}>]", text[dom.start():dom_end])[-1].lower()
        if not tld.isalpha() or len(tld) < 2:
            continue
        local_edits: list[Edit] = []
        dom_edits: list[Edit] = []
        _dots(t, text, local.start(), local.end(), local_edits)
        _dots(t, text, dom.start(), dom_end, dom_edits)
        spaced_dot = any(e.replacement == "." and text[e.start:e.end].strip(" \t") == "." for e in local_edits + dom_edits)
        if (at.group("word") is not None or spaced_dot) and tld not in t.tlds:
            continue
        if at.group("word") is not None and text[local.start():local.end()].lower() in t.not_local:
            continue
        edits.extend(local_edits)
        edits.append(Edit(at.start(), at.end(), "@"))
        edits.extend(dom_edits)
        last = dom_end
    edits.sort()
    return edits
