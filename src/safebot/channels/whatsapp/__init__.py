"""The WhatsApp Cloud API channel: webhook, inbox, worker and a Graph API client.

::

    POST /webhooks/whatsapp  -> signature over the raw bytes -> parse (payloads.py)
        -> Inbox.record: each message once (atomic insert by hashed wamid), text encrypted,
           reply address vaulted, statuses forward-only          -> 200
    WhatsAppWorker           -> claim a conversation's oldest message -> bot.handle
        -> replies (customer rendering) queued -> GraphClient.send -> hashed wamid kept

``GraphClient`` is usable on its own (notifications reuse it). Imported lazily.

>>> from safebot.channels.whatsapp import GraphClient        # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ChannelsConfig", "GraphClient", "GraphError", "WhatsAppConfig", "load_secrets"]

_LAZY = {
    "ChannelsConfig": "safebot.channels.whatsapp.config",
    "WhatsAppConfig": "safebot.channels.whatsapp.config",
    "load_secrets": "safebot.channels.whatsapp.config",
    "GraphClient": "safebot.channels.whatsapp.graph",
    "GraphError": "safebot.channels.whatsapp.graph",
}

if TYPE_CHECKING:  # pragma: no cover
    from safebot.channels.whatsapp.config import ChannelsConfig, WhatsAppConfig, load_secrets
    from safebot.channels.whatsapp.graph import GraphClient, GraphError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safebot.channels.whatsapp' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
