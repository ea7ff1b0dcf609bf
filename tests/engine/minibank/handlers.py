"""A tiny bank used by the engine tests: verification, a form, a reveal, a broken handler."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from safebot.engine import (
    Context,
    Form,
    Handler,
    Result,
    Routes,
    SlotSpec,
    Verification,
    amount,
    choice,
    digits,
)

CUSTOMERS = {("1984-03-12", "4242"): "C1"}


def _parse_dob(text: str) -> str | None:
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return None


async def verify(ctx: Context) -> str | None:
    dob = ctx.reveal(str(ctx.slot("dob")))
    return CUSTOMERS.get((_parse_dob(dob) or "", str(ctx.slot("last4"))))


async def balance(ctx: Context) -> Result:
    return Result.say(f"Your checking balance is $1,234.56, {ctx.customer_id and 'verified'} customer.")


async def freeze(ctx: Context) -> Result:
    card = ctx.entity("CREDIT_CARD")
    if card:
        number = ctx.reveal(card)
        return Result.say(f"Card {number} is now frozen.")  # outbound redaction masks it
    return Result.say("Your card ending 4242 is now frozen.", card_state="frozen")


async def transfer(ctx: Context) -> Result:
    return Result.say(f"Moved ${ctx.slot('amount')} to {ctx.slot('to_account')}.")


async def broken(ctx: Context) -> Result:
    raise RuntimeError(f"backend down while handling {ctx.text}")


def setup(bot_dir: Path) -> Routes:
    verification = Verification(
        form=Form("verification", [
            SlotSpec("dob", "What is your date of birth?", entities=("DATE_OF_BIRTH",)),
            SlotSpec("last4", "What are the last four digits of your card?", entities=("card_last_four",),
                     validate=digits(4), invalid="That should be four digits."),
        ]),
        verify=verify,
        reveals=frozenset({"DATE_OF_BIRTH"}),
    )
    transfer_form = Form("transfer", [
        SlotSpec("amount", "How much would you like to move?", entities=("amount",), validate=amount,
                 from_text=True, invalid="I need an amount, like $50."),
        SlotSpec("to_account", "To which account: checking or savings?", entities=("account_type",),
                 validate=choice("checking", "savings"), from_text=True, invalid="Please say checking or savings."),
    ])
    return Routes(
        handlers=[
            Handler("balance", ("check_balance",), balance, requires_auth=True),
            Handler("freeze", ("freeze_card",), freeze, reveals=frozenset({"CREDIT_CARD"})),
            Handler("transfer", ("transfer_funds",), transfer, form=transfer_form),
            Handler("broken", ("thanks",), broken),
        ],
        verification=verification,
    )
