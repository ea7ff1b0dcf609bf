"""A bot for the concurrency tests: a slow handler and one whose side effect can be counted."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from safebot.engine import Context, Handler, Result, Routes


async def slow(ctx: Context) -> Result:
    marker = os.environ.get("SLOWBANK_IN_HANDLER")
    if marker:  # tells another process that this one is inside its handler now
        Path(marker).touch()
    await asyncio.sleep(float(os.environ.get("SLOWBANK_SLOW_S", "1")))
    return Result.say("The slow job is done.")


async def count(ctx: Context) -> Result:
    # One line per run: the test compares runs with recorded turns.
    with open(os.environ["SLOWBANK_SIDE_EFFECTS"], "a", encoding="utf-8") as fh:
        fh.write(f"{ctx.conversation_id}\n")
    return Result.say("Counted.")


async def hours(ctx: Context) -> Result:
    return Result.say("We are open 9 to 5.")


def setup(bot_dir: Path) -> Routes:
    return Routes([
        Handler("slow", ("slow_job",), slow),
        Handler("count", ("count_it",), count),
        Handler("hours", ("branch_hours",), hours),
    ])
