"""Running retention on a schedule inside ``safebot serve`` (or any long-lived process).

The serving code starts it next to the server and cancels it on shutdown::

    interval = bot.config.retention.every           # seconds, or None: not scheduled
    if interval:
        task = asyncio.create_task(run_periodically(bot, interval))
    ...
    task.cancel()

Each run happens on a worker thread (it is blocking database work); a failed run is logged by
type only and the next one is tried at the next interval. With several server processes on
PostgreSQL only one run goes ahead at a time (an advisory lock), so every process may schedule it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

__all__ = ["run_periodically"]

log = logging.getLogger("safebot.retention")


async def run_periodically(bot: Any, interval: float, *, first_delay: float | None = None) -> None:
    """Run :func:`~safebot.retention.run.run_retention` every ``interval`` seconds until cancelled."""
    from safebot.retention.run import run_retention

    # A random first delay: processes started together do not all try at the same moment.
    await asyncio.sleep(first_delay if first_delay is not None else random.uniform(0, min(interval, 300)))
    while True:
        try:
            report = await asyncio.to_thread(run_retention, bot)
            log.info("retention: deleted %s", ", ".join(f"{k}={v}" for k, v in report.deleted.items()) or "nothing")
        except Exception as exc:  # noqa: BLE001 - a failed run must not stop the server; retried next time
            log.error("retention run failed (%s)", type(exc).__name__)
        await asyncio.sleep(interval)
