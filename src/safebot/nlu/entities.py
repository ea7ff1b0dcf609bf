"""Non-PII entity extraction from ``regex:`` and ``lookup:`` sections, plus redactor placeholders.

PII never reaches the NLU as text: the redactor has already replaced it with ``<TYPE_N>``
placeholders, which are reported here as candidates of entity type ``TYPE`` so that forms can
fill slots with the token. Amounts, dates, airport codes, flight numbers and seats are not PII
and are found with the bot's own patterns and lookup tables.

>>> from safebot.nlu.training_data import RegexPattern
>>> ex = EntityExtractor(regexes=[RegexPattern("flight_number", r"\\b[A-Z]{2}\\d{1,4}\\b")],
...                      lookups={"airport": ["LHR", "JFK"]})
>>> ex.extract("move BA117 from LHR, card <CREDIT_CARD_1>")
[EntityCandidate(entity='flight_number', value='BA117', start=5, end=10), EntityCandidate(entity='airport', value='LHR', start=16, end=19), EntityCandidate(entity='CREDIT_CARD', value='<CREDIT_CARD_1>', start=26, end=41)]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from safebot.nlu.placeholders import PLACEHOLDER_RE, EntityCandidate, find_placeholders
from safebot.nlu.training_data import RegexPattern, TrainingData

__all__ = ["EntityCandidate", "EntityExtractor", "extract_entities"]


class EntityExtractor:
    """Finds entity candidates; build once per bot (patterns compile in ``__init__``).

    Overlaps are resolved by keeping the earliest, then the longest match, so "JFK" inside a
    longer regex match is reported once. Placeholders always win: nothing inside a placeholder
    is reported as another entity. Lookup matching is case-insensitive on word boundaries;
    ``synonyms`` map a matched surface form (lower case) to its canonical value.
    """

    def __init__(
        self,
        regexes: Iterable[RegexPattern] = (),
        lookups: Mapping[str, Iterable[str]] | None = None,
        synonyms: Mapping[str, str] | None = None,
    ) -> None:
        self._patterns: list[tuple[str, re.Pattern[str]]] = [
            (r.name, re.compile(r.pattern)) for r in regexes
        ]
        for name, values in (lookups or {}).items():
            # Longest first so that "new york city" wins over "new york" in the alternation.
            alternatives = sorted({v.strip() for v in values if v.strip()}, key=len, reverse=True)
            if alternatives:
                body = "|".join(re.escape(v) for v in alternatives)
                self._patterns.append(
                    (name, re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE))
                )
        self._synonyms = {k.lower(): v for k, v in (synonyms or {}).items()}

    @classmethod
    def from_training_data(cls, data: TrainingData) -> EntityExtractor:
        """Build from the ``regex``/``lookup``/``synonym`` sections of loaded ``nlu.yml`` data."""
        return cls(data.regexes, data.lookups, data.synonyms)

    def extract(self, text: str) -> list[EntityCandidate]:
        """Return ``(entity, value, start, end)`` candidates in text order."""
        placeholders = find_placeholders(text)
        blocked = [(p.start, p.end) for p in placeholders]
        found: list[EntityCandidate] = []
        for name, pattern in self._patterns:
            for m in pattern.finditer(text):
                if m.end() <= m.start():
                    continue  # an empty match carries no entity
                if any(m.start() < e and s < m.end() for s, e in blocked):
                    continue
                if PLACEHOLDER_RE.search(m.group(0)):
                    continue
                value = self._synonyms.get(m.group(0).lower(), m.group(0))
                found.append(EntityCandidate(name, value, m.start(), m.end()))
        found.sort(key=lambda c: (c.start, -(c.end - c.start)))
        kept: list[EntityCandidate] = []
        for cand in found:
            if kept and cand.start < kept[-1].end:
                continue
            kept.append(cand)
        return sorted([*kept, *placeholders], key=lambda c: c.start)


_PLACEHOLDERS_ONLY = EntityExtractor()


def extract_entities(text: str, data: TrainingData | None = None) -> list[EntityCandidate]:
    """Extract entities from one (redacted) text.

    Without ``data`` only placeholders are reported; with it, the ``regex``/``lookup`` sections
    apply too. For repeated calls build an :class:`EntityExtractor` once instead.

    >>> extract_entities("my card is <CREDIT_CARD_1>")
    [EntityCandidate(entity='CREDIT_CARD', value='<CREDIT_CARD_1>', start=11, end=26)]
    """
    extractor = _PLACEHOLDERS_ONLY if data is None else EntityExtractor.from_training_data(data)
    return extractor.extract(text)
