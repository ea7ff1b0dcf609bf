"""Handlers of the serving tests' bot: a reveal, a slow turn, buttons.

``slow`` sleeps ``SERVEBANK_SLEEP`` seconds (default 0.5) on the event loop's timer and, if
``SERVEBANK_LOG`` names a file, appends a JSON line when the turn's handler starts and one when
it ends: the conversation's hashed id, the ``m<N>`` token of the message, start and end times.
Tests read it for order and overlap.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

from safebot.engine import Button, Context, Handler, Reply, Result, Routes


async def freeze(ctx: Context) -> Result:
    card = ctx.entity("CREDIT_CARD")
    if card:
        number = ctx.reveal(card)
        return Result.say(f"Card {number} is now frozen.")  # outbound redaction masks it
    return Result.say("Which card should I freeze?")


def _note(line: dict[str, object]) -> None:
    log = os.environ.get("SERVEBANK_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


async def slow(ctx: Context) -> Result:
    started = time.time()
    m = re.search(r"\bm(\d+)\b", ctx.text)
    token = int(m.group(1)) if m else None
    _note({"event": "start", "conversation": ctx.conversation_id, "token": token, "start": started})
    await asyncio.sleep(float(os.environ.get("SERVEBANK_SLEEP", "0.5")))
    _note({"event": "end", "conversation": ctx.conversation_id, "token": token, "start": started,
           "end": time.time(), "pid": os.getpid()})
    return Result.say("Done with the slow check.")


async def menu(ctx: Context) -> Result:
    return Result((Reply("What would you like to do?", (Button("Freeze card", "/freeze_card"), Button("Say hello", "/greet"))),))


async def big_menu(ctx: Context) -> Result:
    options = tuple(Button(f"Option {i}", "/greet") for i in range(1, 6))
    return Result((Reply("Pick one of these:", options),))


def setup(bot_dir: Path) -> Routes:
    return Routes(handlers=[
        Handler("freeze", ("freeze_card",), freeze, reveals=frozenset({"CREDIT_CARD"})),
        Handler("slow", ("slow_check",), slow),
        Handler("menu", ("show_menu",), menu),
        Handler("big_menu", ("show_options",), big_menu),
    ])
