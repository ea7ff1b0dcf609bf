"""Recognizers: packs declared as data, engines that run them, the few written as code.

* ``packs/*.yaml``: the built-in recognizers (common, bank, airline) in the recognizer format
  of :mod:`~safebot.redaction.recognizers.spec`; ``data/*.txt``: the word lists they use;
* ``engines``: the generic Presidio recognizers those entries become (pattern, sequence,
  cue/value); ``coded``: the few that must be code (address blocks, names, phones, MRZ, places);
* :class:`~safebot.redaction.recognizers.registry.PolicyRegistry`: a policy's recognizers,
  with third-party Presidio recognizers (by class or in Presidio's YAML format);
* ``budget``: the detection deadline every pattern runs under; ``validators``: named checks.

Importing this package does not import Presidio; building recognizers does.

>>> is_flight_number("BA2490"), is_flight_number("X7K9QP")
(True, False)
"""

from __future__ import annotations

import re
from functools import lru_cache

from safebot.redaction.recognizers.packs import PACK_NAMES, ner_labels, pack_entities

__all__ = ["PACK_NAMES", "is_flight_number", "ner_entities", "pack_entities"]


def ner_entities() -> frozenset[str]:
    """Entity types that come from spaCy's NER (declared in the common pack)."""
    return frozenset(ner_labels()[1])


@lru_cache(maxsize=1)
def _flight() -> re.Pattern[str]:
    from safebot.redaction.recognizers.packs import pack_defines

    return re.compile(pack_defines("airline")["flight_number"], re.IGNORECASE)


def is_flight_number(word: str) -> bool:
    """'NW214', 'U2123', '9W117': a flight number (the airline pack's ``flight_number``), which
    a customer asks about and is never PII. The engine and sessions use this, so knowledge of
    flight numbers lives in the pack."""
    return _flight().fullmatch(word.strip()) is not None
