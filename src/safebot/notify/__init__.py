"""Notifications: one-way alerts and mass sends, with consent, on a real broker (issue 10).

::

    notifications.yaml  templates (category, purpose, lawful basis, typed parameters, buttons)
    templates.py        loads and checks them against the redaction policy
    outbox.py           the request and its deliveries in one transaction (the outbox)
    consent.py          consent records, lawful bases, the suppression list, STOP/START
    broker.py           Dramatiq on RabbitMQ: delivery ids only
    ratelimit.py        per-number and per-recipient limits shared in Redis
    sender.py           consent at send time, `sending` before the call, reconciliation
    worker.py           `safebot worker`: the Dramatiq worker, the relay, the sweeper
    service.py          :class:`Notifier`, what the rest of safebot calls

Imports are lazy: ``import safebot.notify`` costs nothing until a notifier is built.

>>> from safebot.notify import Recipient, notifier_for                   # doctest: +SKIP
>>> await notifier_for(bot).notify(Recipient("+16505550123"), "fraud_alert", {...},
...                                idempotency_key="alert-1")           # doctest: +SKIP
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot
    from safebot.notify.outbox import Recipient
    from safebot.notify.service import Notifier

__all__ = ["Notifier", "Recipient", "close_notifier", "notifier_for"]

_notifiers: weakref.WeakKeyDictionary[Any, Notifier] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def notifier_for(bot: Bot) -> Notifier:
    """The bot's notifier, built once per bot (templates loaded and checked then)."""
    from safebot.notify.service import Notifier, NotifyEnv

    with _lock:
        found = _notifiers.get(bot)
        if found is None:
            found = _notifiers[bot] = Notifier(NotifyEnv.from_bot(bot))
        return found


def close_notifier(bot: Bot) -> None:
    """Stop the bot's sender and broker connection, if it has them."""
    with _lock:
        found = _notifiers.pop(bot, None)
    if found is not None:
        found.close()


def __getattr__(name: str) -> Any:
    if name == "Recipient":
        from safebot.notify.outbox import Recipient

        return Recipient
    if name == "Notifier":
        from safebot.notify.service import Notifier

        return Notifier
    raise AttributeError(name)
