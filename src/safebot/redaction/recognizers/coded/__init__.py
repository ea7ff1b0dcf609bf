"""The recognizers that must be code, by the name a pack uses for them (``code: <name>``).

Registered here, explicitly, in one table: nothing is found by scanning subclasses. Each
class is a Presidio ``EntityRecognizer``; a spec's ``options`` become constructor keywords.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["CODED", "coded_class"]

#: name -> "module:Class" (imported only when a policy uses it)
CODED: dict[str, str] = {
    "phone_numbers": "safebot.redaction.recognizers.coded.phones:SafebotPhoneRecognizer",
    "address_blocks": "safebot.redaction.recognizers.coded.addresses:SafebotAddressBlockRecognizer",
    "name_gazetteer": "safebot.redaction.recognizers.coded.names:SafebotNameRecognizer",
    "place_cue": "safebot.redaction.recognizers.coded.places:SafebotPlaceCueRecognizer",
    "place_gazetteer": "safebot.redaction.recognizers.coded.places:SafebotPlaceGazetteerRecognizer",
    "passport_mrz": "safebot.redaction.recognizers.coded.mrz:SafebotMrzRecognizer",
}


def coded_class(name: str) -> Any:
    """The class registered as ``name``; KeyError if there is none."""
    module, _, cls = CODED[name].partition(":")
    return getattr(importlib.import_module(module), cls)
