"""Recognizer packs that ship with safebot. Registration is explicit: a pack is a function.

>>> sorted(PACK_ENTITIES["airline"])[:3]
['BOOKING_REFERENCE', 'FREQUENT_FLYER', 'KNOWN_TRAVELER_NUMBER']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from presidio_analyzer import EntityRecognizer

#: entity types each pack can report; checked when a policy loads, without importing Presidio
PACK_ENTITIES: dict[str, frozenset[str]] = {
    "common": frozenset({"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "ADDRESS", "DATE_OF_BIRTH"}),
    "bank": frozenset(
        {
            "CREDIT_CARD", "IBAN_CODE", "ABA_ROUTING_NUMBER", "BANK_ACCOUNT", "US_SSN",
            "US_ITIN", "SWIFT_CODE", "CVV", "PIN",
        }
    ),
    "airline": frozenset(
        {
            "BOOKING_REFERENCE", "TICKET_NUMBER", "PASSPORT", "PASSPORT_MRZ", "FREQUENT_FLYER",
            "KNOWN_TRAVELER_NUMBER", "REDRESS_NUMBER",
        }
    ),
}

#: entity types that come from the spaCy NER model rather than a recognizer
NER_ENTITIES: dict[str, tuple[str, ...]] = {
    "PERSON": ("PERSON",),
    "LOCATION": ("GPE", "LOC", "FAC"),
}


def build_pack(name: str) -> list[EntityRecognizer]:
    """Fresh recognizer instances for pack ``name`` ('common', 'bank' or 'airline')."""
    if name not in PACK_ENTITIES:
        raise KeyError(name)
    module = importlib.import_module(f"safebot.redaction.recognizers.{name}")
    recognizers: list[EntityRecognizer] = module.recognizers()
    return recognizers


__all__ = ["NER_ENTITIES", "PACK_ENTITIES", "build_pack"]
