"""Values inside JSON or a URL, percent-encoding and JSON escapes.

'{"card":"4111111111111111"}' and '?card=4111...&amount=20' hide the cue word behind quotes,
'=' and '&', and '%34%31%31%31' or '\\u0034' hide the value itself. This pass decodes
percent-encoding (UTF-8; a byte sequence that does not decode is left as written) and JSON
``\\uXXXX`` escapes, and, in text that looks like JSON or a URL query, turns the structure
into plain words: quotes and brackets become spaces, a key's underscores and camelCase become
spaces ('card_number', 'cardNumber' -> 'card number', 'card Number'), and '?', '&', '=' and
'+' in a query become spaces. The characters keep their offsets, so a span over a decoded
value covers its '%XX' triples.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

from safebot.redaction.normalise._data import rows
from safebot.redaction.normalise._trace import Edit

__all__ = ["decode", "needs_decode"]

_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_UESC = re.compile(r"\\u([0-9A-Fa-f]{4})")
_JSON_ESC = re.compile(r'\\[nrtbf/"\\]')
# JSON: a quoted key after '{', '[' or ',' and before a colon (not 'he said: "hello"')
_JSON_HINT = re.compile(r'[{\[,]\s*"[^"\n]{1,60}"\s*:')
_JSON_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_\- ]{0,60})"(?=\s*:)')
_JSON_PUNCT = re.compile(r'[{}\[\]"]')
# a query parameter: ?key=value or &key=value (the value up to the next & or space)
_QUERY = re.compile(r"[?&]([A-Za-z_][A-Za-z0-9_.\-]{0,60})=([^&\s#]*)")
_CAMEL = re.compile(r"(?<=[a-z])[A-Z]")


def needs_decode(text: str) -> bool:
    return "%" in text or "\\" in text or '"' in text or ("=" in text and ("?" in text or "&" in text))


def _percent_edits(text: str, edits: list[Edit]) -> None:
    for m in _PERCENT.finditer(text):
        decoder = codecs.getincrementaldecoder("utf-8")()
        start = m.start()
        pending = start
        for pos in range(m.start(), m.end(), 3):
            byte = bytes([int(text[pos + 1 : pos + 3], 16)])
            try:
                ch = decoder.decode(byte)
            except UnicodeDecodeError:
                decoder.reset()
                pending = pos + 3  # leave the bad sequence as written
                continue
            if ch:
                if ch < " " or ch == "\x7f":
                    ch = " "
                edits.append(Edit(pending, pos + 3, ch))
                pending = pos + 3


@lru_cache(maxsize=1)
def _generic_keys() -> frozenset[str]:
    return frozenset(r[0].lower() for r in rows("json_generic_keys"))


def _key_edits(text: str, start: int, end: int, edits: list[Edit]) -> None:
    """'card_number' -> 'card number'; 'cardNumber' -> 'card Number' (a space before the capital);
    a key that names nothing ('value', 'field') -> spaces."""
    if text[start:end].lower() in _generic_keys():
        edits.append(Edit(start, end, " " * (end - start)))
        return
    for i in range(start, end):
        ch = text[i]
        if ch == "_" or ch == "-":
            edits.append(Edit(i, i + 1, " "))
        elif ch.isupper() and i > start and text[i - 1].islower():
            edits.append(Edit(i, i + 1, " " + ch))


def decode(text: str) -> list[Edit]:
    """The edits of this pass."""
    edits: list[Edit] = []
    if "%" in text:
        _percent_edits(text, edits)
    if "\\" in text:
        for m in _UESC.finditer(text):
            ch = chr(int(m.group(1), 16))
            edits.append(Edit(m.start(), m.end(), " " if ch < " " else ch))
    looks_json = '"' in text and _JSON_HINT.search(text) is not None
    if looks_json:
        if "\\" in text:
            for m in _JSON_ESC.finditer(text):
                edits.append(Edit(m.start(), m.end(), " " if m.group(0)[1] in "nrtbf" else m.group(0)[1]))
        for m in _JSON_KEY.finditer(text):
            _key_edits(text, m.start(1), m.end(1), edits)
        for m in _JSON_PUNCT.finditer(text):
            edits.append(Edit(m.start(), m.end(), " "))
    if "=" in text:
        for m in _QUERY.finditer(text):
            edits.append(Edit(m.start(), m.start() + 1, " "))
            _key_edits(text, m.start(1), m.end(1), edits)
            edits.append(Edit(m.end(1), m.end(1) + 1, " "))
            for i in range(m.start(2), m.end(2)):
                if text[i] == "+":
                    edits.append(Edit(i, i + 1, " "))
    return _disjoint(edits)


def _disjoint(edits: list[Edit]) -> list[Edit]:
    """Sorted; where two edits overlap the earlier-starting one wins (a '%22' decoded quote is
    not also a JSON quote)."""
    edits.sort(key=lambda e: (e.start, -e.end))
    out: list[Edit] = []
    end = 0
    for e in edits:
        if e.start >= end:
            out.append(e)
            end = e.end
    return out
