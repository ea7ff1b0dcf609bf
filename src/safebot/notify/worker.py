"""``safebot worker BOT_DIR``: sends the bot's notifications until SIGTERM or SIGINT.

With a broker (``notifications: broker_url`` in bot.yaml) it runs a Dramatiq worker on the
bot's queue, whose actor hands each message's delivery ids to the :class:`Sender`, plus two
background duties: the relay (publishes outbox rows never published, or published long ago
and still waiting) and the sweeper (reconciles rows a dead worker left ``sending``). Start as
many worker processes as you like, on as many machines, against one PostgreSQL store: the
claim in the store decides who sends, the limits in Redis are shared.

Without a broker the same outbox is drained in this process (poll, claim, send).
A SIGKILLed worker loses nothing: RabbitMQ redelivers its unacknowledged messages, and its
``sending`` rows are reconciled (:mod:`safebot.notify.sender`).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from safebot.notify.service import Notifier

__all__ = ["run_worker"]

log = logging.getLogger("safebot.notify")

RELAY_SECONDS = 0.5
SWEEP_SECONDS = 5.0
#: the GIL's switch interval in a worker process (seconds; Python's default is 0.005)
SWITCH_INTERVAL = 0.001


def run_worker(
    notifier: Notifier, stop: threading.Event, *, graph_transport: Any = None,
    environ: Mapping[str, str] | None = None, threads: int | None = None,
) -> None:
    """Run until ``stop`` is set (the CLI sets it on SIGTERM/SIGINT)."""
    sender = notifier.sender(graph_transport=graph_transport, environ=environ)
    broker = notifier.broker()
    if broker is None:
        log.info("no broker configured: draining the outbox in this process")
        notifier.drain(timeout=float("inf"), idle_exit=False, stop=stop)
        return
    broker.set_handler(sender.process)
    # The pacer's event loop shares the GIL with the Dramatiq threads that claim deliveries: a
    # shorter switch interval hands it back to a granted send sooner (a send that leaves late
    # crowds the next second's window at the platform). Measured gain: small (docs/benchmarks.md).
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, SWITCH_INTERVAL))
    worker = broker.worker(threads or notifier.config.worker_threads)
    worker.start()
    log.info("notification worker started (queue %s)", broker.queue)
    last_sweep = 0.0
    try:
        while not stop.is_set():
            try:
                sweep = time.monotonic() - last_sweep >= SWEEP_SECONDS
                # Never-published rows at once; stale ones (a lost publish) at sweep time.
                notifier.relay(stale=sweep)
                if sweep:
                    sender.reconcile()
                    last_sweep = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - the store or broker briefly away: try again
                log.error("notification relay failed (%s)", type(exc).__name__)
            stop.wait(RELAY_SECONDS)
    finally:
        worker.stop()
        sys.setswitchinterval(previous)
        log.info("notification worker stopped")
