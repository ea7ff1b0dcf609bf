"""The one leak finder: is a value still readable in a text?

Used by ``safebot policy test`` (golden cases), ``safebot test`` (PII canaries in every sink)
and the project's own tests. A value is readable when it appears verbatim, or when its
canonical form (:func:`~safebot.redaction.types.canonical_value`: separators and case
removed, NFKC-folded) appears in the text's canonical form. What safebot writes in place of a
value (``<CREDIT_CARD_1>``, ``<CREDIT_CARD#9f2c...>``, ``<REDACTED_MESSAGE>``) is taken out
first: the hex of a keyed-hash token is not a leak.

>>> leaked("4111 1111 1111 1111", "card 4111-1111-1111-1111")
True
>>> leaked("4111 1111 1111 1111", "card <CREDIT_CARD_1>, ****1111")
False
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from safebot.redaction.types import canonical_value

__all__ = ["find_leaks", "leaked"]

# what safebot writes in place of a value
_TOKEN = re.compile(r"<[A-Z][A-Z0-9_]*(?:_\d+|#[0-9a-f]{8,64})?>")


def _canon(text: str) -> str:
    return canonical_value(unicodedata.normalize("NFKC", text)).casefold()


def leaked(value: str, text: str, *, min_length: int = 4) -> bool:
    """True if ``value`` is readable in ``text`` (verbatim, or canonically when it has at
    least ``min_length`` letters and digits and is not only letters, which are words)."""
    if not value:
        return False
    text = _TOKEN.sub(" ", text)
    if value in text:
        return True
    canon = _canon(value)
    if len(canon) < min_length or value.replace(" ", "").isalpha():
        return False
    return canon in _canon(text)


def _found_short(value: str, text: str) -> bool:
    # A short value (a PIN, a last four) is only a leak as a token of its own: "4821" inside a
    # hex digest or a timestamp's microseconds is one of ten thousand four-digit strings.
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", text) is not None


def find_leaks(values: Sequence[str], sinks: Mapping[str, Sequence[str]], *, min_canon: int = 6) -> list[tuple[str, str]]:
    """(sink, ``pii[i]``) for every value found in a sink's texts; never the value itself.

    A value with fewer than ``min_canon`` letters and digits counts only verbatim and as a
    token of its own, so that it is not "found" inside a hash.

    >>> find_leaks(["4111 1111 1111 1111"], {"transcript": ["card <CREDIT_CARD_1>"]})
    []
    >>> find_leaks(["4821"], {"log": ["ref 86edf9cc663b4821675d"], "row": ["my pin is 4821"]})
    [('row', 'pii[0]')]
    """
    out = []
    for name, texts in sinks.items():
        blob = _TOKEN.sub(" ", "\n".join(texts))
        for i, value in enumerate(values):
            if not value:
                continue
            if len(_canon(value)) < min_canon:
                found = _found_short(value, blob)
            else:
                found = value in blob or leaked(value, blob, min_length=min_canon)
            if found:
                out.append((name, f"pii[{i}]"))
    return out
