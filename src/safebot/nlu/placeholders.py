"""Typed placeholders left by the redactor (``<CREDIT_CARD_1>``), seen from the NLU side.

The NLU only ever sees redacted text. Two things follow:

* for featurising, ``<CREDIT_CARD_1>`` and ``<CREDIT_CARD_2>`` must look the same (the index
  means nothing to an intent), so they become one word, ``credit_card_placeholder``;
* for slot filling, each placeholder is an entity candidate of its type, so a form can fill
  ``card_number`` with the token ``<CREDIT_CARD_1>`` and a handler can reveal it later.

>>> normalise_placeholders("pay <PERSON_1> from <IBAN_CODE_2>")
'pay person_placeholder from iban_code_placeholder'
>>> find_placeholders("card <CREDIT_CARD_1> please")
[EntityCandidate(entity='CREDIT_CARD', value='<CREDIT_CARD_1>', start=5, end=20)]
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["PLACEHOLDER_RE", "EntityCandidate", "find_placeholders", "normalise_placeholders"]

# The type is upper case with underscores; the ``_N`` index is optional so that a policy that
# emits bare ``<PERSON>`` works too. The lazy type group lets ``_1`` fall into the index group.
PLACEHOLDER_RE = re.compile(r"<([A-Z][A-Z0-9_]*?)(?:_(\d+))?>")


class EntityCandidate(NamedTuple):
    """One entity found in a text: ``(entity, value, start, end)``; ``text[start:end]`` is the span.

    For placeholders the value is the placeholder itself, never the secret behind it.
    """

    entity: str
    value: str
    start: int
    end: int


def normalise_placeholders(text: str) -> str:
    """Replace each placeholder by one lower-case word per entity type, dropping the index."""
    return PLACEHOLDER_RE.sub(lambda m: f"{m.group(1).lower()}_placeholder", text)


def find_placeholders(text: str) -> list[EntityCandidate]:
    """Return every placeholder in ``text`` as an entity candidate of its type."""
    return [
        EntityCandidate(m.group(1), m.group(0), m.start(), m.end())
        for m in PLACEHOLDER_RE.finditer(text)
    ]
