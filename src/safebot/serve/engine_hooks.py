"""Everything the server asks of the engine beyond ``bot.handle``, in one place, so a change
in the engine's API is a change here only.

``conversation_ref`` is the engine's keyed hash of a channel's conversation id (issue 8 item
12): the serving tables key conversations by it, never by the id itself. ``message_ref``
hashes a platform message id (a WhatsApp ``wamid`` embeds the phone number) with the same
keyed hash under its own prefix, so it can never equal a conversation's ref.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safebot.events import Sink

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot

__all__ = ["attach_sink", "conversation_ref", "data_key_id", "entity_types", "error_reply", "max_message_chars", "message_ref", "models_loaded"]


def conversation_ref(bot: Bot, external_id: str) -> str:
    """What the store keys ``external_id``'s conversation by (``rest:...``, ``whatsapp:...``)."""
    return bot.conversation_ref(external_id)


def message_ref(bot: Bot, platform: str, message_id: str) -> str:
    """A keyed hash of a platform's message id, for uniqueness and lookups."""
    return bot.conversation_ref(f"{platform}-message:{message_id}")


def attach_sink(bot: Bot, sink: Sink) -> None:
    """Give the bot one more sink (the engine emits each turn's redacted events to it)."""
    bot.sinks.append(sink)


def entity_types(bot: Bot) -> list[str]:
    """The policy's entity names: the closed set of metric labels for findings."""
    return sorted(bot.redactor.policy.entities)


def max_message_chars(bot: Bot) -> int:
    return int(bot.limits.max_message_chars)


def error_reply(bot: Bot) -> str:
    """The bot's own "something went wrong, try again" reply (bot.yaml ``responses.error``)."""
    return str(bot.settings.response("error"))


def models_loaded(bot: Bot) -> bool:
    return bot.classifier is not None and bot.redactor is not None


def data_key_id(ref: str) -> str:
    """The data key a conversation's vault uses: what ``forget`` shreds. The WhatsApp inbox
    encrypts pending messages and the reply address under it, so erasure covers them too."""
    from safebot.stores.conversations import data_key_id as engine_data_key_id

    return engine_data_key_id(ref)
