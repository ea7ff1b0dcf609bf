"""Handlers for the scale tests: a slow one that records each run, and a quick one."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from safebot.engine import Context, Handler, Result, Routes


async def slow(ctx: Context) -> Result:
    runs = os.environ.get("PAUSEBOT_RUNS")
    if runs:  # one line per run: the test tells a retried turn from a turn applied twice
        with open(runs, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
    marker = os.environ.get("PAUSEBOT_IN_HANDLER")
    if marker:  # tells the test this process is inside its handler (and holds the lease)
        Path(marker).touch()
    await asyncio.sleep(float(os.environ.get("PAUSEBOT_SLOW_S", "1")))
    return Result.say("The slow job is done.")


async def hours(ctx: Context) -> Result:
    return Result.say("We are open 9 to 5.")


def setup(bot_dir: Path) -> Routes:
    return Routes([
        Handler("slow", ("slow_job",), slow),
        Handler("hours", ("branch_hours",), hours),
    ])
