"""The normaliser's tables, shipped as package data (``normalise/data/*.txt``), read once.

One entry per line, fields separated by white space; a line starting with ``"# "`` (or
empty) is a comment; text after ``" # "`` on a line is a comment too.

>>> rows("digit_words")[0]
('zero', '0', 'unit')
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["rows"]


@cache
def rows(name: str) -> tuple[tuple[str, ...], ...]:
    """The rows of ``data/<name>.txt``, each split on white space."""
    path = resources.files("safebot.redaction.normalise").joinpath("data", f"{name}.txt")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split(" # ", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        out.append(tuple(line.split()))
    return tuple(out)
