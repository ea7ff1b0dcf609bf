"""Handlers of the in-suite chaos bot: instant replies; freezing a card reveals it (so the
customer's masked echo is in the response bodies the run scans)."""

from __future__ import annotations

from pathlib import Path

from safebot.engine import Context, Handler, Result, Routes


async def freeze(ctx: Context) -> Result:
    card = ctx.entity("CREDIT_CARD")
    if card:
        return Result.say(f"Card {ctx.reveal(card)} is now frozen.")  # outbound redaction masks it
    return Result.say("Which card should I freeze?")


def fixed(text: str):  # type: ignore[no-untyped-def]
    async def handler(ctx: Context) -> Result:
        return Result.say(text)

    return handler


def setup(bot_dir: Path) -> Routes:
    return Routes([
        Handler("freeze", ("freeze_card",), freeze, reveals=frozenset({"CREDIT_CARD"})),
        Handler("balance", ("balance",), fixed("Your balance is $1,204.50.")),
        Handler("email", ("update_email",), fixed("Thanks, we will update your email address.")),
        Handler("callback", ("callback",), fixed("We will call you back shortly.")),
        Handler("account", ("check_account",), fixed("Your account is in good standing.")),
        Handler("dispute", ("dispute",), fixed("I have opened a dispute for that charge.")),
        Handler("hours", ("branch_hours",), fixed("We are open 9 to 5.")),
        Handler("transactions", ("transactions",), fixed("Your last transaction was $12.00 at a coffee shop.")),
        Handler("thanks", ("thanks",), fixed("You're welcome!")),
    ])
