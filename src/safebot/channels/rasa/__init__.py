"""The Rasa action-server channel: a bot's handlers served to a Rasa assistant.

``protocol.py`` (rasa-sdk's request and response shapes), ``server.py`` (one action call on
the engine's interpreter, redaction session and store), ``http.py`` (authentication, bounded
bodies, ``serve``). Running existing ``rasa_sdk`` actions as safebot handlers is
:mod:`safebot.channels.rasa_adapter`.
"""

from safebot.channels.rasa.http import ACTION_TOKEN_ENV, DEFAULT_MAX_BODY, create_app, serve
from safebot.channels.rasa.protocol import (
    LOCKED_SLOT,
    REQUESTED_SLOT,
    VERIFIED_FLAG_SLOT,
    VERIFIED_SLOT,
    VERIFY_ACTION,
)
from safebot.channels.rasa.server import RasaActionServer
from safebot.errors import RasaRequestError

__all__ = [
    "ACTION_TOKEN_ENV",
    "DEFAULT_MAX_BODY",
    "LOCKED_SLOT",
    "REQUESTED_SLOT",
    "VERIFIED_FLAG_SLOT",
    "VERIFIED_SLOT",
    "VERIFY_ACTION",
    "RasaActionServer",
    "RasaRequestError",
    "create_app",
    "serve",
]
