"""safebot: customer-service chatbots with a PII-redaction boundary that fails closed.

Heavy modules (Presidio, spaCy, scikit-learn) load lazily so that ``import safebot`` stays fast.

>>> from safebot.redaction import Redactor, load_policy      # doctest: +SKIP
>>> redactor = Redactor(load_policy("examples/bank/policy.yaml"))  # doctest: +SKIP
>>> redactor.redact("my card is 4111 1111 1111 1111").text  # doctest: +SKIP
'my card is <CREDIT_CARD_1>'
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from safebot.errors import (
    ChannelError,
    ConfigError,
    HandlerError,
    RedactionError,
    RevealError,
    SafebotError,
    StoreError,
)
from safebot.sensitive import Sensitive

# A library never configures logging; it only makes sure its records go nowhere by default.
logging.getLogger("safebot").addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "Bot",
    "ChannelError",
    "ConfigError",
    "HandlerError",
    "RedactionError",
    "Redactor",
    "RevealError",
    "SafebotError",
    "Sensitive",
    "StoreError",
    "load_policy",
]

_LAZY = {
    "Redactor": "safebot.redaction",
    "load_policy": "safebot.redaction",
    "Bot": "safebot.engine",
}

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot
    from safebot.redaction import Redactor, load_policy


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safebot' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
