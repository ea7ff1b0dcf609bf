"""Intent classification, out-of-scope detection and entity extraction on redacted text.

>>> from safebot.nlu import IntentClassifier, load_nlu_yaml          # doctest: +SKIP
>>> data = load_nlu_yaml("examples/bank/nlu.yml")                      # doctest: +SKIP
>>> clf = IntentClassifier.train(data.intent_examples(), out_of_scope=data.out_of_scope)  # doctest: +SKIP
>>> clf.predict("I lost my card <CREDIT_CARD_1>").intent               # doctest: +SKIP
'lost_card'

Heavy dependencies (scikit-learn, ONNX Runtime, tokenizers) load on first use, so importing
this package is cheap. Nothing here imports torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "ClassifierConfig",
    "EntityCandidate",
    "EntityExtractor",
    "IntentClassifier",
    "OperatingPoint",
    "Prediction",
    "TrainingData",
    "extract_entities",
    "load_nlu_yaml",
    "normalise_placeholders",
]

_LAZY = {
    "ClassifierConfig": "safebot.nlu.classifier",
    "IntentClassifier": "safebot.nlu.classifier",
    "Prediction": "safebot.nlu.classifier",
    "OperatingPoint": "safebot.nlu.oos",
    "EntityCandidate": "safebot.nlu.placeholders",
    "normalise_placeholders": "safebot.nlu.placeholders",
    "EntityExtractor": "safebot.nlu.entities",
    "extract_entities": "safebot.nlu.entities",
    "TrainingData": "safebot.nlu.training_data",
    "load_nlu_yaml": "safebot.nlu.training_data",
}

if TYPE_CHECKING:  # pragma: no cover
    from safebot.nlu.classifier import ClassifierConfig, IntentClassifier, Prediction
    from safebot.nlu.entities import EntityExtractor, extract_entities
    from safebot.nlu.oos import OperatingPoint
    from safebot.nlu.placeholders import EntityCandidate, normalise_placeholders
    from safebot.nlu.training_data import TrainingData, load_nlu_yaml


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safebot.nlu' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
