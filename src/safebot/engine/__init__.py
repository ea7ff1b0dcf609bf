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

from safebot.engine.bot import Bot
from safebot.engine.context import Context
from safebot.engine.forms import Form, SlotSpec, amount, choice, digits
from safebot.engine.handlers import Button, Handler, Reply, Result, Routes, Verification
from safebot.engine.turn import TurnResult

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
