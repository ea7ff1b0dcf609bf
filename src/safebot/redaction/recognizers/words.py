"""Word lists shipped as package data (``recognizers/data/*.txt``), read once per process.

One entry per line, kept as written except for surrounding spaces; a line starting with
``"# "`` (or empty) is a comment, so a list can hold ``#`` itself. Packs refer to a list
as ``"@name"`` inside any list of words, and as ``${words:name}`` inside a regex (an
alternation of the entries, longest first, spaces matching any run of spaces or dashes).

>>> "number" in words("filler")
True
>>> "please" in words("not_a_pnr")
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from importlib import resources

from safebot.errors import ConfigError

__all__ = ["alternation", "expand", "list_names", "words"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@cache
def words(name: str) -> frozenset[str]:
    """The entries of ``data/<name>.txt``, lower-cased. ConfigError if there is no such list."""
    return frozenset(w.lower() for w in entries(name))


@cache
def entries(name: str) -> tuple[str, ...]:
    """The entries of ``data/<name>.txt`` in file order, as written."""
    if not _NAME.match(name):
        raise ConfigError(f"word list name {name!r} must be lower case letters, digits and _")
    path = resources.files("safebot.redaction.recognizers").joinpath("data", f"{name}.txt")
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        known = ", ".join(list_names())
        raise ConfigError(f"no word list {name!r} (known: {known})") from None
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("# "):
            continue
        out.append(line.strip())
    return tuple(out)


def list_names() -> list[str]:
    """Names of the word lists that ship with safebot."""
    folder = resources.files("safebot.redaction.recognizers").joinpath("data")
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".txt"))


def expand(items: Iterable[str]) -> list[str]:
    """A list of words with every ``@name`` entry replaced by that list's entries."""
    out: list[str] = []
    for item in items:
        if item.startswith("@") and len(item) > 1:
            out.extend(entries(item[1:]))
        else:
            out.append(item)
    return out


def alternation(items: Iterable[str], *, whole_short: bool = False) -> str:
    """A non-capturing regex group matching any of ``items`` (longest first, so 'avenue'
    wins over 'ave'); a space inside an entry matches any run of spaces or dashes. With
    ``whole_short``, entries of three characters or fewer must end at a word end ('tin' is
    not the start of 'Tintin'); longer ones may start a longer word ('account' in 'accounts')."""
    unique = sorted({i.lower() for i in items if i}, key=lambda w: (-len(w), w))
    if not unique:
        return "(?!)"

    def one(w: str) -> str:
        rx = re.escape(w).replace("\\ ", r"[\s\-]+")
        return rx + "(?![a-z])" if whole_short and len(w) <= 3 and w[-1].isalpha() else rx

    return "(?:" + "|".join(one(w) for w in unique) + ")"
