"""Word lists the name recognizer needs, loaded once per process.

* US census first and last names (the ``names`` package: public-domain 1990 census lists);
* the 40,000 most frequent English words (``wordfreq``), to tell 'worried' from 'oyelaran'.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

__all__ = ["census_first_names", "census_last_names", "english_words"]


def _read(fname: str, limit: int | None = None) -> frozenset[str]:
    lines = resources.files("names").joinpath(fname).read_text().splitlines()
    if limit is not None:
        lines = lines[:limit]
    return frozenset(line.split()[0].lower() for line in lines if line.strip())


@lru_cache(maxsize=1)
def census_first_names() -> frozenset[str]:
    return _read("dist.male.first") | _read("dist.female.first")


@lru_cache(maxsize=1)
def census_last_names() -> frozenset[str]:
    # The long tail of the surname list is mostly rare spellings of ordinary words.
    return _read("dist.all.last", 30000)


@lru_cache(maxsize=1)
def _english_ranked() -> tuple[str, ...]:
    import wordfreq

    return tuple(wordfreq.top_n_list("en", 40000, wordlist="best"))


def english_words(top: int = 40000) -> frozenset[str]:
    """The ``top`` most frequent English words (at most 40,000)."""
    return _english_set(min(top, 40000))


@lru_cache(maxsize=4)
def _english_set(top: int) -> frozenset[str]:
    return frozenset(_english_ranked()[:top])
