"""Dramatiq on RabbitMQ: how delivery ids travel from the outbox to the workers.

A broker message is ``send_deliveries([id, ...])``: delivery ids and nothing else (no
address, no parameter, no template text), so RabbitMQ, its dead letters and its management
views hold nothing about a customer. The worker loads the rest from the store.

Why Dramatiq rather than Celery: the job here is one actor with at-least-once delivery
(acknowledged after processing, redelivered if a worker dies), bounded retries with backoff
and a dead-letter queue, all of which Dramatiq's RabbitMQ broker does by default (``.XQ``
queues, ``Retries`` middleware), with a worker we can run in-process from
``safebot worker`` with a few lines. Celery acknowledges *before* running by default
(``acks_late`` off), needs a result backend story we do not want, and brings a far larger
configuration surface for the same guarantees.

Retries: a message whose processing raises (the store unreachable, say) is retried by
Dramatiq with exponential backoff, ``max_retries`` times, then dead-lettered to
``<queue>.XQ`` (``safebot notify status`` counts it; its deliveries stay queued in the store
and the relay publishes them again). A delivery the platform refuses is retried per
delivery (its own backoff, ``max_tries``) by re-publishing its id with a delay.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["ACTOR", "NotifyBroker"]

log = logging.getLogger("safebot.notify")

ACTOR = "safebot_notify_send"
#: tries of a broker message that raises, before it is dead-lettered
MESSAGE_RETRIES = 5


class NotifyBroker:
    """The bot's Dramatiq broker and its one actor.

    >>> broker = NotifyBroker("amqp://guest:guest@127.0.0.1:5672/%2F", "safebot_notify")  # doctest: +SKIP
    >>> broker.publish([1, 2, 3])                                                          # doctest: +SKIP
    """

    def __init__(self, url: str, queue: str, handler: Callable[[list[int]], Any] | None = None) -> None:
        import dramatiq
        from dramatiq.brokers.rabbitmq import RabbitmqBroker
        from dramatiq.middleware import (
            AgeLimit,
            Callbacks,
            Pipelines,
            Retries,
            ShutdownNotifications,
            TimeLimit,
        )

        self.queue = queue
        self._handler = handler
        self._lock = threading.Lock()
        middleware = [AgeLimit(), TimeLimit(time_limit=15 * 60 * 1000), ShutdownNotifications(), Callbacks(),
                      Pipelines(), Retries(max_retries=MESSAGE_RETRIES, min_backoff=1000, max_backoff=60_000)]
        # confirm_delivery: a publish returns once RabbitMQ has the message (the relay then
        # stamps the rows as published; anything unconfirmed is published again later).
        self.broker = RabbitmqBroker(url=url, confirm_delivery=True, middleware=middleware)
        self.actor: Any = dramatiq.Actor(
            self._run, broker=self.broker, actor_name=ACTOR, queue_name=queue, priority=0,
            options={"max_retries": MESSAGE_RETRIES},
        )

    def __repr__(self) -> str:
        return f"NotifyBroker(queue={self.queue!r})"

    def _run(self, ids: list[int]) -> None:
        if self._handler is None:
            raise RuntimeError("this broker only publishes; run `safebot worker` to send")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            log.error("a notification message without delivery ids was dropped")
            return
        self._handler(ids)

    def set_handler(self, handler: Callable[[list[int]], Any]) -> None:
        self._handler = handler

    def publish(self, ids: Sequence[int], delay: float = 0.0) -> None:
        """One message carrying ``ids`` (delivery ids only), after ``delay`` seconds."""
        clean = [int(i) for i in ids]
        if not clean:
            return
        options: dict[str, Any] = {"delay": int(delay * 1000)} if delay > 0 else {}
        self.actor.send_with_options(args=(clean,), **options)

    def counts(self) -> dict[str, int]:
        """Messages waiting in the queue, the delay queue and the dead-letter queue."""
        self.broker.declare_queue(self.queue)
        queued, delayed, dead = self.broker.get_queue_message_counts(self.queue)
        return {"queued": int(queued), "delayed": int(delayed), "dead_letter": int(dead)}

    def worker(self, threads: int) -> Any:
        """A Dramatiq worker consuming this bot's queue (``start()`` / ``stop()``)."""
        from dramatiq import Worker

        return Worker(self.broker, queues={self.queue}, worker_threads=threads)

    def close(self) -> None:
        try:
            self.broker.close()
        except Exception as exc:  # noqa: BLE001 - closing a dead connection
            log.debug("closing the broker failed (%s)", type(exc).__name__)
