"""The conversation engine: load a bot directory and run turns.

>>> from safebot.engine import Bot
>>> bot = Bot.load("examples/bank")                 # doctest: +SKIP
>>> bot.handle_sync("c1", "what's my balance?").replies  # doctest: +SKIP
('Before I can help with that, I need to verify your identity.', 'What is your date of birth?')

A bot's ``handlers.py`` defines ``setup(bot_dir) -> Routes`` using the names below.
"""

from safebot.engine.bot import Bot, TurnResult
from safebot.engine.context import Context
from safebot.engine.forms import Form, SlotSpec, amount, choice, digits
from safebot.engine.handlers import Handler, Reply, Result, Routes, Verification

__all__ = [
    "Bot",
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
