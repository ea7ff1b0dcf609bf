"""Handlers that show which notification a reply was tied to (slots set by the channel)."""

from __future__ import annotations

from pathlib import Path

from safebot.engine import Context, Handler, Result, Routes


async def confirm(ctx: Context) -> Result:
    return Result.say(f"confirmed {ctx.slot('notification')} #{ctx.slot('notification_ref')}")


async def deny(ctx: Context) -> Result:
    return Result.say(f"denied {ctx.slot('notification')} #{ctx.slot('notification_ref')}")


async def balance(ctx: Context) -> Result:
    return Result.say("Your balance is $12.00.")


def setup(bot_dir: Path) -> Routes:
    return Routes(handlers=[
        Handler("confirm", ("confirm_fraud_alert",), confirm),
        Handler("deny", ("deny_fraud_alert",), deny),
        Handler("balance", ("balance",), balance),
    ])
