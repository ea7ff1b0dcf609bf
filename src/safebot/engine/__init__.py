"""The conversation engine: load a bot directory and run turns.

>>> from safebot.engine import Bot
>>> bot = Bot.load("examples/bank")                 # doctest: +SKIP
>>> bot.handle_sync("c1", "what's my balance?").replies  # doctest: +SKIP
('I can help with that. First I need to confirm it's you.', 'What is your date of birth?')

A bot's ``handlers.py`` defines ``setup(bot_dir) -> Routes`` using the names below. Where
things live: ``bot.py`` (loading, the composition root), ``turn.py`` (the stages of one turn),
``dialogue.py`` (the rules, a pure function), ``interpreter.py`` (running handlers),
``handlers.py`` (the handler API), ``forms.py``, ``context.py``, ``state.py``, ``locks.py``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "Bot",
    "Button",
    "Context",
    "Form",
    "Handler",
    "Reply",
    "Result",
    "Routes",
    "SlotSpec",
    "TurnResult",
    "Verification",
    "amount",
    "choice",
    "digits",
]

# Loaded on first use: a bot's handlers.py imports the handler API, and the dialogue's unit
# tests import the rules, without pulling in the redactor, the models or the store.
_LAZY = {
    "Bot": "safebot.engine.bot",
    "Button": "safebot.engine.handlers",
    "Context": "safebot.engine.context",
    "Form": "safebot.engine.forms",
    "Handler": "safebot.engine.handlers",
    "Reply": "safebot.engine.handlers",
    "Result": "safebot.engine.handlers",
    "Routes": "safebot.engine.handlers",
    "SlotSpec": "safebot.engine.forms",
    "TurnResult": "safebot.engine.turn",
    "Verification": "safebot.engine.handlers",
    "amount": "safebot.engine.forms",
    "choice": "safebot.engine.forms",
    "digits": "safebot.engine.forms",
}

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine.bot import Bot
    from safebot.engine.context import Context
    from safebot.engine.forms import Form, SlotSpec, amount, choice, digits
    from safebot.engine.handlers import Button, Handler, Reply, Result, Routes, Verification
    from safebot.engine.turn import TurnResult


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safebot.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
