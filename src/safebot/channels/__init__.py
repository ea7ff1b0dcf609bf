"""Channels: where customer text comes in and replies go out.

``safebot.channels.rasa`` serves a bot's handlers to a Rasa assistant (rasa-sdk's
action-server protocol); ``safebot.channels.rasa_adapter`` runs an existing
``rasa_sdk.Action`` as a safebot handler. Imported lazily: ``import safebot.channels`` does
not load FastAPI or rasa-sdk.

>>> from safebot.channels import rasa_handler                 # doctest: +SKIP
>>> handler = rasa_handler(ActionCheckBalance(), intents=("check_balance",), requires_auth=True)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["VERIFIED_SLOT", "VERIFY_ACTION", "RasaActionServer", "RasaRequestError", "create_app", "rasa_handler"]


_LAZY = {
    "RasaActionServer": "safebot.channels.rasa",
    "RasaRequestError": "safebot.channels.rasa",
    "VERIFIED_SLOT": "safebot.channels.rasa",
    "VERIFY_ACTION": "safebot.channels.rasa",
    "create_app": "safebot.channels.rasa",
    "rasa_handler": "safebot.channels.rasa_adapter",
}

if TYPE_CHECKING:  # pragma: no cover
    from safebot.channels.rasa import (
        VERIFIED_SLOT,
        VERIFY_ACTION,
        RasaActionServer,
        RasaRequestError,
        create_app,
    )
    from safebot.channels.rasa_adapter import rasa_handler


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safebot.channels' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
