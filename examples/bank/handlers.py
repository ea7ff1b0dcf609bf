"""Handlers of the retail-bank example bot.

``setup(bot_dir)`` opens the demo core-banking back end once and returns the route table.
Everything account-specific requires identity verification first (date of birth + the last
four digits of a card, three attempts, then a colleague takes over).

What the handlers see is redacted: a card number is ``<CREDIT_CARD_1>``, a new phone number
``<PHONE_NUMBER_1>``. A handler reveals a value only when it has to act on it, and only for
the entity types it declares (every reveal is audited):

* verification reveals the DATE_OF_BIRTH (and a CREDIT_CARD, for its last four digits);
* the card handlers reveal a CREDIT_CARD only to learn which card the customer means;
* the contact-details handler reveals ADDRESS, PHONE_NUMBER and EMAIL_ADDRESS to write them
  to the back end.

Replies never repeat a full identifier: cards are "ending 4242", a new phone number "ending
43". Outbound redaction would mask them anyway; we do not rely on it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from safebot.engine import Context, Form, Handler, Result, Routes, SlotSpec, Verification
from safebot.errors import RevealError

from . import parsing
from .backend import (
    Account,
    BackendError,
    Card,
    CardStateError,
    CoreBanking,
    FraudAlert,
    InsufficientFundsError,
    InvalidRequestError,
    open_backend,
)

__all__ = ["setup"]

#: set to a file path to keep the demo bank's state between runs (default: fresh each start)
DB_ENV = "BANK_DEMO_DB"

Run = Callable[[Context], Awaitable[Result]]


# -- formatting -------------------------------------------------------------------------------------


def fmt_money(value: Decimal) -> str:
    """'$1,234.50'; money going out is shown as '-$45.20'."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def fmt_day(day: date, today: date | None = None) -> str:
    """'today', 'yesterday' or 'Tue 12 Nov' (never a bare numeric date)."""
    today = today or date.today()
    delta = (today - day).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "yesterday"
    if delta == -1:
        return "tomorrow"
    return f"{day:%a} {day.day} {day:%b}"


def fmt_card(card: Card) -> str:
    """'debit card ending 4242' - the last four digits only."""
    return f"{card.kind} card ending {card.last_four}"


def join_words(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# -- reading slots -------------------------------------------------------------------------------------


def card_slot(value: str) -> str | None:
    """Slot validator: a card-number placeholder or four digits (verification, card choice)."""
    if value.startswith("<CREDIT_CARD_") and value.endswith(">"):
        return value
    return parsing.last_four(value)


def merchant_slot(value: str) -> str | None:
    """Slot validator: a merchant's name, or the placeholder the redactor put over one.

    A placeholder is kept as it is and never revealed: a shop's name that reads like a
    person's or a place's is not ours to unmask, and the amount (and day) find the charge.
    """
    if parsing.PLACEHOLDER_RE.fullmatch(value.strip()):
        return value.strip()
    return parsing.merchant_name(value)


def contact_slot(value: str) -> str | None:
    """Slot validator: the first address / phone / email placeholder in the answer."""
    found = parsing.contact_placeholders(value)
    return found[0] if found else None


def account_slot(value: str) -> str | None:
    """Slot validator: 'checking' or 'savings'."""
    return parsing.account_type(value)


def last_four_of(ctx: Context, value: str) -> str | None:
    """Four digits as typed, or the last four of a card-number placeholder (revealed).

    The placeholder may stand for a whole card number or, when the customer answered "What
    are the last four digits?" with just them, for those four digits (the engine redacts a
    bare answer to a question about a card as a card).
    """
    if value.startswith("<CREDIT_CARD_"):
        digits = "".join(ch for ch in ctx.reveal(value) if ch.isdigit())
        return digits[-4:] if len(digits) == 4 or len(digits) >= 12 else None
    return parsing.last_four(value)


# -- the bank's handlers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CardAction:
    """One thing to do to a card: which cards qualify and what to tell the customer."""

    name: str
    intent: str
    #: statuses the action works on when the customer names the card
    eligible: frozenset[str]
    #: statuses it is meant for when they don't ("my card" = the only frozen one, for unfreeze)
    usual: frozenset[str]
    none_eligible: str
    ask: str


_USABLE = frozenset({"active", "frozen"})
CARD_ACTIONS = (
    CardAction("freeze", "freeze_card", _USABLE, frozenset({"active"}),
               "None of your cards is active, so there's nothing to freeze.",
               "Which card should I freeze?"),
    CardAction("unfreeze", "unfreeze_card", _USABLE, frozenset({"frozen"}),
               "None of your cards is frozen, so there's nothing to unfreeze.",
               "Which card should I unfreeze?"),
    CardAction("report_lost", "report_lost_card", _USABLE | {"inactive"}, _USABLE | {"inactive"},
               "I can't see a card on your profile that could be reported lost.",
               "Which card is lost or stolen?"),
    CardAction("replace", "replace_card", _USABLE, _USABLE,
               "I can't see a card on your profile that I could replace.",
               "Which card should I replace?"),
    CardAction("activate", "activate_card", frozenset({"inactive", "active"}), frozenset({"inactive"}),
               "I can't see a new card waiting to be activated on your profile.",
               "Which card would you like to activate?"),
)
CARD_PROMPT = " Tell me the last four digits, or say debit or credit."
#: set by the channel on a reply to a notification (safebot.notify): which alert it answers
NOTIFICATION_SLOTS = ("notification", "notification_ref")


class BankHandlers:
    """The handlers, closing over one back end (opened once in :func:`setup`)."""

    def __init__(self, bank: CoreBanking) -> None:
        self.bank = bank

    # -- verification -------------------------------------------------------------------------------
    async def verify(self, ctx: Context) -> str | None:
        """Date of birth + last four digits of any of the customer's cards -> customer id.

        An ambiguous numeric date (04/05/1990) is tried both as dd/mm and as mm/dd.
        """
        dob, card = ctx.slot("dob"), ctx.slot("card_last_four")
        if not isinstance(dob, str) or not isinstance(card, str):
            return None
        last4 = last_four_of(ctx, card)
        if last4 is None:
            return None
        for day in parsing.dob_candidates(ctx.reveal(dob)):
            try:
                customer = self.bank.verify_customer(day, last4)
            except BackendError:
                return None  # counts as a failed attempt; never lets anyone in
            if customer is not None:
                return customer
        return None

    # -- fraud alert notice --------------------------------------------------------------------------
    def _pending_alert(self, customer: str) -> FraudAlert | None:
        try:
            return self.bank.pending_fraud_alert(customer)
        except BackendError:
            return None

    @staticmethod
    def _alert_question(alert: FraudAlert) -> str:
        when = fmt_day(alert.occurred_at.date())
        return (
            f"We held a payment of {fmt_money(alert.amount)} at {alert.merchant} on your card ending "
            f"{alert.card_last_four} ({when} at {alert.occurred_at:%H:%M}). Was that you? "
            "Please answer 'yes, that was me' or 'no, that wasn't me'."
        )

    def with_notice(self, ctx: Context, result: Result) -> Result:
        """Tell a verified customer once per conversation about a payment held for fraud."""
        if ctx.customer_id is None or ctx.slot("alert_told") or result.start_form:
            return result  # not while a question is open: the notice would come before it
        alert = self._pending_alert(ctx.customer_id)
        if alert is None:
            return result
        notice = "One more thing, for your security. " + self._alert_question(alert)
        return Result(
            result.replies + Result.say(notice).replies,
            {**result.slots, "alert_told": True, "awaiting": "fraud_alert"},
            start_form=result.start_form,
            handoff=result.handoff,
            clear_slots=result.clear_slots,
        )

    def authed(self, run: Run) -> Run:
        """Wrap an account handler: add the fraud-alert notice to what it says."""

        async def wrapped(ctx: Context) -> Result:
            return self.with_notice(ctx, await run(ctx))

        wrapped.__doc__ = run.__doc__
        return wrapped

    # -- accounts -----------------------------------------------------------------------------------
    @staticmethod
    def _account_line(account: Account) -> str:
        return f"{account.nickname} (ending {account.number_last_four}): {fmt_money(account.balance)}"

    async def balance(self, ctx: Context) -> Result:
        """Balances of all accounts, or of the one the customer named."""
        customer = _customer(ctx)
        accounts = self.bank.list_accounts(customer)
        wanted = _account_asked(ctx)
        chosen = [a for a in accounts if a.account_type == wanted] or accounts
        if wanted is not None and chosen is accounts:
            lead = f"You don't have a {wanted} account with us. Here are your balances:"
        else:
            lead = "Here's your balance:" if len(chosen) == 1 else "Here are your balances:"
        return Result.say(lead + "\n" + "\n".join(f"- {self._account_line(a)}" for a in chosen))

    async def transactions(self, ctx: Context) -> Result:
        """The latest transactions, optionally for one account and for the days named."""
        customer = _customer(ctx)
        wanted = _account_asked(ctx)
        account = self.bank.find_account(customer, wanted) if wanted else None  # type: ignore[arg-type]
        period = ctx.slot("period")
        days = parsing.day_range(period if isinstance(period, str) else ctx.text)
        rows = self.bank.recent_transactions(
            customer, account_id=account.account_id if account else None,
            since=days[0] if days else None, limit=25,
        )
        if days is not None:
            rows = [t for t in rows if days[0] <= t.posted_on <= days[1]]
        if not rows:
            return Result.say("I can't find any transactions for that period.")
        shown = rows[:6]
        lines = [
            f"- {fmt_day(t.posted_on)}: {t.merchant} {fmt_money(t.amount)}"
            + (f" (card ending {t.card_last_four})" if t.card_last_four else "")
            for t in shown
        ]
        head = "Your latest transactions:" if days is None else "Here's what I found:"
        tail = [] if len(rows) <= len(shown) else [f"...and {len(rows) - len(shown)} more in the app."]
        return Result.say("\n".join([head, *lines, *tail]))

    # -- cards ---------------------------------------------------------------------------------------
    def card_handler(self, action: CardAction, *, asked: bool = False) -> Run:
        """A handler that finds the card the customer means, then does ``action`` to it.

        ``asked``: the card slot answers "which card?" (else it was taken from the request).
        """

        async def run(ctx: Context) -> Result:
            customer = _customer(ctx)
            named = ctx.slot("card")
            if not asked and isinstance(named, str) and ctx.intent != action.intent and named in ctx.text:
                # Filled after verification from the verification answer itself ("4242"):
                # the card they proved who they are with is not the card they asked about.
                named = None
            if not isinstance(named, str):
                named = parsing.card_kind(ctx.text)  # "unfreeze my debit card"
            card, problem = self._choose_card(ctx, customer, action, named)
            if card is None:
                return problem
            return self._do_card(customer, action, card)

        run.__doc__ = f"{action.name} a card (the one named, or the only one that qualifies)."
        return run

    def _choose_card(
        self, ctx: Context, customer: str, action: CardAction, named: str | None
    ) -> tuple[Card | None, Result]:
        cards = [c for c in self.bank.list_cards(customer) if c.status in action.eligible]
        if named is not None:
            choice = last_four_of(ctx, named) if named.startswith("<") else named
            matches = [c for c in cards if choice in (c.last_four, c.kind)]
            if len(matches) == 1:
                return matches[0], Result()
            if not matches:
                known = self.bank.find_card(customer, choice) if choice and choice.isdigit() else None
                why = (f"Your {fmt_card(known)} is {known.status}, so I can't do that."
                       if known is not None else "I can't find that card on your profile.")
                return None, self._pick(action, cards, lead=why)
            return None, self._pick(action, matches)
        usual = [c for c in cards if c.status in action.usual]
        if len(usual) == 1:
            return usual[0], Result()
        return None, self._pick(action, usual)

    @staticmethod
    def _pick(action: CardAction, cards: Sequence[Card], lead: str = "") -> Result:
        if not cards:
            return Result.say(" ".join(x for x in (lead, action.none_eligible) if x))
        listed = f"You have: {join_words([fmt_card(c) + f' ({c.status})' for c in cards])}."
        return Result(Result.say(" ".join(x for x in (lead, listed) if x)).replies,
                      start_form=f"{action.name}_pick")

    def _do_card(self, customer: str, action: CardAction, card: Card) -> Result:
        try:
            if action.name == "freeze":
                if card.status == "frozen":
                    return Result.say(f"Your {fmt_card(card)} is already frozen.")
                done = self.bank.freeze_card(customer, card.card_id)
                return Result.say(
                    f"Done: your {fmt_card(done)} is frozen, so no new payments or withdrawals will go "
                    "through. Say 'unfreeze my card' whenever you want it back."
                )
            if action.name == "unfreeze":
                if card.status == "active":
                    return Result.say(f"Your {fmt_card(card)} isn't frozen; it's ready to use.")
                done = self.bank.unfreeze_card(customer, card.card_id)
                return Result.say(f"Your {fmt_card(done)} is unfrozen and ready to use again.")
            if action.name == "activate":
                if card.status == "active":
                    return Result.say(f"Your {fmt_card(card)} is already active.")
                done = self.bank.activate_card(customer, card.last_four)
                return Result.say(
                    f"Your new {fmt_card(done)} is now active. If it replaces an older card, "
                    "please cut the old one up; it no longer works."
                )
            replaced = (self.bank.report_lost_card if action.name == "report_lost" else self.bank.replace_card)(
                customer, card.card_id
            )
        except CardStateError as exc:
            if exc.code == "already_ordered":
                return Result.say(f"A replacement for your {fmt_card(card)} is already on its way.")
            return Result.say(f"Sorry, I can't do that: your {fmt_card(card)} is {card.status}.")
        new, eta = replaced.new_card, replaced.new_card.delivery
        arrives = f", arriving by {fmt_day(eta.eta)}" if eta is not None and eta.eta is not None else ""
        if action.name == "report_lost":
            return Result.say(
                f"I'm sorry about that. Your {fmt_card(replaced.old_card)} is now blocked for good, "
                f"so nobody can use it. I've ordered a new {fmt_card(new)}{arrives}. "
                "If you see a payment you don't recognise, tell me and I'll open a dispute."
            )
        return Result.say(
            f"I've ordered a replacement {fmt_card(new)}{arrives}. Your current card keeps working "
            "until you activate the new one."
        )

    async def card_delivery(self, ctx: Context) -> Result:
        """Where the customer's new cards are."""
        cards = [c for c in self.bank.list_cards(_customer(ctx)) if c.delivery is not None]
        waiting = [c for c in cards if c.status == "inactive"]
        if not waiting:
            return Result.say("I can't see any new card on its way to you at the moment.")
        lines = []
        for card in waiting:
            assert card.delivery is not None  # filtered above
            if card.delivery.status == "delivered" or card.delivery.eta is None:
                lines.append(f"Your new {fmt_card(card)} has been delivered; say 'activate my card' to start using it.")
                continue
            state = "has been dispatched" if card.delivery.status == "dispatched" else "has been ordered"
            lines.append(f"Your new {fmt_card(card)} {state} and should arrive by {fmt_day(card.delivery.eta)}.")
        return Result.say(" ".join(lines))

    # -- fraud alerts -----------------------------------------------------------------------------------
    async def confirm_alert(self, ctx: Context) -> Result:
        """'Yes, that was me': release the held payment.

        Releasing money is the risky direction, so unless we have shown the customer which
        payment we mean in this conversation, we show it and ask first.
        """
        customer = _customer(ctx)
        alert = self._pending_alert(customer)
        if alert is None:
            return Result.say("There's no payment waiting for your answer right now. Is there anything else I can help with?")
        # A tap on the fraud_alert notification's button answers the payment that alert named.
        answered_alert = ctx.slot("notification") == "fraud_alert"
        if ctx.slot("awaiting") != "fraud_alert" and not answered_alert:
            return Result.say("Just to be sure we mean the same payment: " + self._alert_question(alert),
                              alert_told=True, awaiting="fraud_alert")
        if ctx.intent in ("affirm", "confirm_fraud_alert") and not parsing.explicit_yes(ctx.text):
            # This message is the answer, and "ok", "hmm" or "fine" is not one: releasing money
            # needs a clear yes. (After verification the answer was the message before it.)
            return Result.say("I'll only let the payment through with a clear yes. " + self._alert_question(alert),
                              alert_told=True, awaiting="fraud_alert")
        self.bank.confirm_fraud_alert(customer, alert.alert_id)
        return Result(
            Result.say(
                f"Thanks for confirming. The {fmt_money(alert.amount)} payment at {alert.merchant} "
                f"will go through and your card ending {alert.card_last_four} stays as it is."
            ).replies,
            clear_slots=("awaiting", *NOTIFICATION_SLOTS),
        )

    async def deny_alert(self, ctx: Context) -> Result:
        """'No, that wasn't me': freeze the card and open a fraud case (safe to do at once)."""
        customer = _customer(ctx)
        alert = self._pending_alert(customer)
        claimed = ctx.slot("claimed_amount")
        if isinstance(claimed, str) and (alert is None or Decimal(claimed) != alert.amount):
            # "A $45.20 charge at Starbucks wasn't me" is a dispute, not the held payment.
            slots = {"dispute_amount": claimed}
            if isinstance(ctx.slot("claimed_merchant"), str):
                slots["merchant"] = str(ctx.slot("claimed_merchant"))
            return Result(Result.say("Let's dispute that charge.").replies, slots, start_form="dispute")
        if alert is None:
            return Result.say(
                "There's no payment waiting for your answer right now. If you see a payment you "
                "don't recognise, say 'dispute a charge' and I'll help you with it."
            )
        resolution = self.bank.deny_fraud_alert(customer, alert.alert_id)
        card = resolution.card
        frozen = f", frozen your {fmt_card(card)}" if card.status == "frozen" else ""
        return Result(
            Result.say(
                f"Thank you for telling us. I've declined the {fmt_money(alert.amount)} payment at "
                f"{alert.merchant}{frozen} and opened fraud case {resolution.case_number}. You won't be "
                f"charged for it.{self._card_after_fraud(customer, card)}"
            ).replies,
            {"alert_told": True},
            clear_slots=("awaiting", *NOTIFICATION_SLOTS),
        )

    def _replacement(self, customer: str, card: Card) -> Card | None:
        """A new card of the same kind on its way (ordered when ``card`` was lost or replaced)."""
        return next((c for c in self.bank.list_cards(customer)
                     if c.kind == card.kind and c.status == "inactive" and c.card_id != card.card_id), None)

    def _card_after_fraud(self, customer: str, card: Card) -> str:
        """After a denied payment: the card's state, and a new card only if none is on its way."""
        blocked = card.status in ("lost", "closed")
        said = f" Your {fmt_card(card)} was already blocked, so nobody can use it." if blocked else ""
        new = self._replacement(customer, card)
        if new is not None:
            delivery = new.delivery
            state = "has been dispatched" if delivery is not None and delivery.status == "dispatched" else "has been ordered"
            arrives = f" and should arrive by {fmt_day(delivery.eta)}" if delivery is not None and delivery.eta else ""
            return f"{said} Your new {fmt_card(new)} {state}{arrives}."
        if blocked:
            return f"{said} Say 'replace my card' if you'd like a new one."
        return " Say 'report my card stolen' if you'd like a new card."

    async def yes_no(self, ctx: Context) -> Result:
        """A bare 'yes' or 'no': the answer to the fraud question if one is open."""
        if ctx.slot("awaiting") == "fraud_alert" and ctx.customer_id is not None:
            return await (self.confirm_alert if ctx.intent == "affirm" else self.deny_alert)(ctx)
        if ctx.intent == "affirm":
            return Result.say("Great. What can I help you with?")
        return Result.say("OK. Is there anything else I can help you with?")

    # -- disputes -----------------------------------------------------------------------------------------
    async def dispute(self, ctx: Context) -> Result:
        """Open a dispute on the charge the customer described (amount, merchant, maybe a day)."""
        customer = _customer(ctx)
        amount = Decimal(str(ctx.slot("dispute_amount")))
        merchant = _merchant_named(str(ctx.slot("merchant") or ""))
        day = ctx.slot("dispute_day")
        days = parsing.day_range(day) if isinstance(day, str) else None
        rows = self.bank.recent_transactions(customer, limit=100)
        same = [t for t in rows if t.amount == -amount and (days is None or days[0] <= t.posted_on <= days[1])]
        if merchant is not None:
            matches = [t for t in same if _words(merchant) and _words(merchant) <= _words(t.merchant)]
        else:
            # The name was redacted (some shop names read as places or people): the amount (and
            # day) alone will do if they point at one charge.
            matches = same if len(same) == 1 else []
        if not matches:
            recent = [t for t in rows if t.amount < 0 and t.card_last_four][:4]
            listed = "; ".join(f"{t.merchant} {fmt_money(-t.amount)} ({fmt_day(t.posted_on)})" for t in recent)
            named = f"from {merchant} " if merchant else ""
            return Result.say(
                f"I couldn't find a {fmt_money(amount)} charge {named}in your recent transactions. "
                f"Your latest card payments are: {listed}. If it's one of these, say for example "
                f"'dispute the {fmt_money(-recent[0].amount) if recent else '$10.00'} charge at "
                f"{recent[0].merchant if recent else 'the shop'}'."
            )
        txn = matches[0]
        case = self.bank.open_dispute(customer, transaction_id=txn.transaction_id, reason="customer dispute via chat")
        return Result.say(
            f"I've opened dispute case {case.case_number} for the {fmt_money(case.amount)} charge at "
            f"{case.merchant} on {fmt_day(txn.posted_on)}. We'll credit it back while we look into it "
            "and let you know the outcome within 10 business days."
        )

    # -- transfers ------------------------------------------------------------------------------------------
    async def transfer(self, ctx: Context) -> Result:
        """Move money between two of the customer's own accounts; re-ask what doesn't work."""
        customer = _customer(ctx)
        amount = Decimal(str(ctx.slot("amount")))
        source, target = str(ctx.slot("from_account")), str(ctx.slot("to_account"))
        keep = {"amount": str(ctx.slot("amount")), "from_account": source}
        if source == target:
            return Result(
                Result.say(f"The money has to go to a different account than {source}.").replies,
                keep, start_form="transfer_to",
            )
        accounts: dict[str, Account] = {a.account_type: a for a in self.bank.list_accounts(customer)}
        missing = [kind for kind in (source, target) if kind not in accounts]
        if missing:
            return Result(
                Result.say(f"You don't have a {missing[0]} account with us, so I can't make that transfer.").replies,
                clear_slots=TRANSFER_SLOTS,
            )
        try:
            done = self.bank.transfer(customer, accounts[source].account_id, accounts[target].account_id, amount)
        except InsufficientFundsError:
            available = fmt_money(accounts[source].balance)
            return Result(
                Result.say(f"Your {source} account has {available} available, so I can't move {fmt_money(amount)}.").replies,
                {"from_account": source, "to_account": target}, start_form="transfer_amount",
            )
        return Result(
            Result.say(
                f"Done: I've moved {fmt_money(done.amount)} from {done.from_account.nickname} to "
                f"{done.to_account.nickname}. New balances: "
                f"{done.from_account.nickname} {fmt_money(done.from_account.balance)}, "
                f"{done.to_account.nickname} {fmt_money(done.to_account.balance)}. "
                f"Your reference is {done.reference}.",
            ).replies,
            clear_slots=TRANSFER_SLOTS,
        )

    async def transfer_request(self, ctx: Context) -> Result:
        """'Send money ...': between the customer's own accounts, the transfer form; to anyone
        else (a relative, an IBAN, another bank), what the bot can do instead."""
        if parsing.external_payee(ctx.text):
            return Result.say(
                "I can only move money between your own Example Bank accounts (checking and savings) "
                "here. To send money to someone else, use Payments in the Example Bank app or online "
                "banking, or call us on 1-800-555-0100. If you'd like to move money between your own "
                "accounts, tell me how much."
            )
        return Result(start_form="transfer")

    # -- contact details ---------------------------------------------------------------------------------------
    async def update_contact(self, ctx: Context) -> Result:
        """Write the new address / phone / email to the back end; confirm without echoing it."""
        tokens = list(dict.fromkeys(
            [str(ctx.slot("new_contact")), *parsing.contact_placeholders(ctx.text)]
        ))
        changes: dict[str, str] = {}
        try:
            for token in tokens:
                kind = {"ADDRESS": "address", "PHONE_NUMBER": "phone", "EMAIL_ADDRESS": "email"}[
                    token.strip("<>").rsplit("_", 1)[0]
                ]
                changes.setdefault(kind, ctx.reveal(token))
        except RevealError:
            # The vault no longer holds the value (shredded, or a policy that does not vault
            # contact details): ask again rather than guess.
            return Result(
                Result.say("For your security I don't keep details typed before you were verified.").replies,
                start_form="update_contact_again",
            )
        try:
            result = self.bank.update_contact_details(_customer(ctx), **changes)
        except InvalidRequestError:
            return Result(
                Result.say("Sorry, that doesn't look like a valid address, phone number or email address.").replies,
                start_form="update_contact_again",
            )
        said = [_contact_summary(kind, changes[kind]) for kind in result.updated_fields]
        return Result.say(
            f"Thanks, I've updated your {join_words(said)}. We'll send a confirmation to your "
            "previous contact details too, in case this change wasn't you."
        )

    # -- public information ---------------------------------------------------------------------------------------
    async def branch_hours(self, ctx: Context) -> Result:
        """Opening hours of the branch named, or of all branches; ATMs too."""
        branches = self.bank.branch_hours()
        named = [b for b in branches if b.name.lower() in ctx.text.lower()]
        shown = named or branches
        lines = [
            f"- {b.name}: Mon-Fri {b.weekday_hours}, Sat {b.saturday_hours}, Sun {b.sunday_hours}; "
            f"ATM {b.atm_hours}"
            for b in shown
        ]
        head = "Here are the opening hours:" if named else "Our branches are open:"
        return Result.say("\n".join([head, *lines]))

    async def fees(self, ctx: Context) -> Result:
        """The fees and rates the customer asked about, or the headline ones."""
        table = self.bank.fees_and_rates()
        lowered = ctx.text.lower()
        codes = {code for word, code in FEE_WORDS if word in lowered}
        chosen = [f for f in table if f.code in codes] or [f for f in table if f.code in HEADLINE_FEES]
        lines = []
        for f in chosen:
            value = fmt_money(f.value) if f.unit == "USD" else f"{f.value}{f.unit}"
            lines.append(f"- {f.description}: {value}" + (f". {f.notes}" if f.notes else ""))
        return Result.say("\n".join(["Here's what we charge and pay:", *lines]))

    # -- small talk with a purpose ---------------------------------------------------------------------------
    async def volunteered(self, ctx: Context) -> Result:
        """The customer gave details unprompted: verify them if they can, else ask what's up.

        (A PIN or CVV is dropped by the policy and the engine warns about it, in every state.)
        """
        if ctx.customer_id is None and (ctx.entity("DATE_OF_BIRTH") or ctx.entity("card_last_four") or ctx.entity("CREDIT_CARD")):
            return Result(start_form="identified")  # the verification gate takes it from here
        return Result.say("Thanks. What can I help you with today?")

    async def identified(self, ctx: Context) -> Result:
        """The customer volunteered their details and is now verified: what next?"""
        return Result.say("What can I help you with today?")


# -- helpers -------------------------------------------------------------------------------------------------

TRANSFER_SLOTS = ("amount", "from_account", "to_account")

#: words in a fees question -> the lines of the table that answer it
FEE_WORDS = (
    ("monthly", "checking_monthly_fee"), ("maintenance", "checking_monthly_fee"),
    ("overdra", "overdraft_fee"), ("atm", "out_of_network_atm_fee"), ("cash machine", "out_of_network_atm_fee"),
    ("foreign", "foreign_transaction_fee"), ("abroad", "foreign_transaction_fee"),
    ("international wire", "international_wire_fee"), ("international transfer", "international_wire_fee"),
    ("wire", "domestic_wire_fee"), ("replacement", "replacement_card_fee"), ("new card", "replacement_card_fee"),
    ("late", "late_payment_fee"), ("savings", "savings_rate"), ("interest", "savings_rate"),
    ("checking interest", "checking_rate"), ("apr", "purchase_apr"), ("credit card", "purchase_apr"),
    ("cash advance", "cash_advance_apr"),
)
HEADLINE_FEES = frozenset({"checking_monthly_fee", "overdraft_fee", "out_of_network_atm_fee", "savings_rate", "purchase_apr"})


def _customer(ctx: Context) -> str:
    """The verified customer id (the engine's gate guarantees one for account handlers)."""
    if ctx.customer_id is None:
        raise PermissionError("account handler ran without a verified customer")
    return ctx.customer_id


def _account_asked(ctx: Context) -> str | None:
    """The account the customer named in their request (kept in a slot across verification)."""
    named = ctx.slot("account")
    return named if isinstance(named, str) else parsing.account_type(ctx.text)


def _merchant_named(value: str) -> str | None:
    """The merchant as typed; None for a name the redactor hid (it is not revealed)."""
    if value.startswith("<"):
        return None
    return parsing.merchant_name(value) or value or None


def _words(text: str) -> frozenset[str]:
    return frozenset("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def _contact_summary(kind: str, value: str) -> str:
    """Name the field, hinting at the new value without repeating it."""
    if kind == "phone":
        digits = "".join(ch for ch in value if ch.isdigit())
        return f"phone number (ending {digits[-2:]})"
    if kind == "email":
        return f"email address (at {value.rsplit('@', 1)[-1]})" if "@" in value else "email address"
    return "home address"


# -- forms ----------------------------------------------------------------------------------------------------

CARD_SLOT_ENTITIES = ("card_last_four", "CREDIT_CARD")
MERCHANT_ENTITIES = ("merchant",)
#: inside a form these answer it rather than interrupt it: "I want to move money" while the
#: transfer (or the verification before it) asks how much
INFORM_INTENTS = frozenset({"provide_info", "inform", "affirm", "deny", "transfer_funds"})


def optional_slots(name: str, *specs: SlotSpec) -> Form:
    """A form of optional slots: filled from the request itself, never asked for."""
    return Form(name, list(specs))


def account_choice() -> SlotSpec:
    return SlotSpec("account", "", entities=("account_type",), validate=account_slot, required=False)


def verification_form() -> Form:
    """Date of birth, then the last four digits of a card (a full card number also works)."""
    return Form("verification", [
        SlotSpec("dob", "What's your date of birth?", entities=("DATE_OF_BIRTH",),
                 invalid="Sorry, I couldn't read that as a date of birth. Please give the day, month and year."),
        SlotSpec("card_last_four", "Thanks. And what are the last four digits of your card?",
                 entities=CARD_SLOT_ENTITIES, validate=card_slot, from_text=True,
                 invalid="That should be the last four digits of your card, like 1234."),
    ])


def card_forms(action: CardAction) -> tuple[Form, Form]:
    """The optional card slot filled from the first message, and the question when unclear."""
    optional = Form(action.name, [SlotSpec("card", action.ask, entities=CARD_SLOT_ENTITIES,
                                           validate=card_slot, required=False)])
    # The question takes only a fresh answer (no entities), so the message that caused it
    # cannot answer it again and loop.
    ask = Form(f"{action.name}_pick", [SlotSpec("card", action.ask + CARD_PROMPT, validate=parsing.card_choice,
                                                from_text=True, invalid="Sorry, I didn't catch which card.")])
    return optional, ask


AMOUNT = SlotSpec("amount", "How much would you like to move?", entities=("amount",), validate=parsing.money,
                  from_text=True, invalid="I need an amount, like $50 or 120.50.")
FROM_ACCOUNT = SlotSpec("from_account", "From which account: checking or savings?",
                        entities=("from_account", "account_type"), validate=account_slot, from_text=True,
                        invalid="Please say checking or savings.")
TO_ACCOUNT = SlotSpec("to_account", "And to which account: checking or savings?",
                      entities=("to_account", "account_type"), validate=account_slot, from_text=True,
                      invalid="Please say checking or savings.")


def transfer_forms() -> tuple[Form, Form, Form]:
    """The transfer, and the two follow-up questions (fresh answers only, see card_forms)."""
    full = Form("transfer", [AMOUNT, FROM_ACCOUNT, TO_ACCOUNT])
    amount_again = Form("transfer_amount", [SlotSpec(
        "amount", "How much would you like to move instead?", validate=parsing.money, from_text=True,
        invalid=AMOUNT.invalid)])
    to_again = Form("transfer_to", [SlotSpec(
        "to_account", TO_ACCOUNT.prompt, validate=account_slot, from_text=True, invalid=TO_ACCOUNT.invalid)])
    return full, amount_again, to_again


def dispute_form() -> Form:
    """Which charge: the amount and the merchant, and a day if the customer gives one."""
    return Form("dispute", [
        SlotSpec("dispute_amount", "I can help you dispute it. How much was the charge?", entities=("amount",),
                 validate=parsing.money, from_text=True, invalid="I need the amount, like $45.20."),
        SlotSpec("merchant", "And which shop or company charged you?", entities=MERCHANT_ENTITIES,
                 validate=merchant_slot, from_text=True,
                 invalid="Sorry, I need the name of the shop or company, like 'Starbucks'."),
        SlotSpec("dispute_day", "Which day was it?", entities=("date",), required=False),
    ])


CONTACT_PROMPT = "What's the new phone number, email address or home address?"


def contact_forms() -> tuple[Form, Form]:
    """The new detail, from the first message or asked for; and asked again (fresh answer)."""
    first = Form("update_contact", [SlotSpec(
        "new_contact", CONTACT_PROMPT, entities=parsing.CONTACT_TYPES, validate=contact_slot, from_text=True,
        invalid="Sorry, I couldn't read a phone number, email address or home address there.")])
    again = Form("update_contact_again", [SlotSpec(
        "new_contact", "Please type the new phone number, email address or home address again.",
        validate=contact_slot, from_text=True,
        invalid="Sorry, I couldn't read a phone number, email address or home address there.")])
    return first, again


# -- wiring ----------------------------------------------------------------------------------------------------


def open_bank(bot_dir: Path) -> CoreBanking:
    """The demo back end: ``$BANK_DEMO_DB`` if set (state kept), else a fresh copy per process.

    A fresh copy means every chat session and every test run starts from the documented demo
    state (the README's customers, balances and the pending fraud alert).
    """
    path = os.environ.get(DB_ENV)
    if path:
        return open_backend(path)
    scratch = tempfile.mkdtemp(prefix="safebot-bank-demo-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    return open_backend(Path(scratch) / "demo.sqlite3")


def setup(bot_dir: Path) -> Routes:
    """Build the route table (called once by the engine when the bot loads)."""
    h = BankHandlers(open_bank(bot_dir))
    card_handlers: list[Handler] = []
    for action in CARD_ACTIONS:
        optional, ask = card_forms(action)
        reveals = frozenset({"CREDIT_CARD"})
        card_handlers += [
            Handler(action.name, (action.intent,), h.authed(h.card_handler(action)), form=optional,
                    reveals=reveals, requires_auth=True),
            Handler(f"{action.name}_pick", (), h.authed(h.card_handler(action, asked=True)), form=ask,
                    reveals=reveals, requires_auth=True),
        ]
    transfer, amount_again, to_again = transfer_forms()
    contact, contact_again = contact_forms()
    contact_reveals = frozenset(parsing.CONTACT_TYPES)
    return Routes(
        handlers=[
            Handler("balance", ("check_balance",), h.authed(h.balance), requires_auth=True,
                    form=optional_slots("balance", account_choice())),
            Handler("transactions", ("recent_transactions",), h.authed(h.transactions), requires_auth=True,
                    form=optional_slots("transactions", account_choice(),
                                  SlotSpec("period", "", entities=("date",), required=False))),
            *card_handlers,
            Handler("card_delivery", ("card_delivery_status",), h.authed(h.card_delivery), requires_auth=True),
            Handler("confirm_alert", ("confirm_fraud_alert",), h.confirm_alert, requires_auth=True),
            Handler("deny_alert", ("deny_fraud_alert",), h.deny_alert, requires_auth=True,
                    form=optional_slots(
                        "deny_alert",
                        SlotSpec("claimed_amount", "", entities=("amount",), validate=parsing.money, required=False),
                        SlotSpec("claimed_merchant", "", entities=MERCHANT_ENTITIES,
                                 validate=merchant_slot, required=False),
                    )),
            Handler("yes_no", ("affirm", "deny"), h.yes_no),
            Handler("dispute", ("dispute_charge",), h.authed(h.dispute), form=dispute_form(), requires_auth=True),
            Handler("transfer_request", ("transfer_funds",), h.transfer_request),
            Handler("transfer", (), h.authed(h.transfer), form=transfer, requires_auth=True),
            Handler("transfer_amount", (), h.transfer, form=amount_again, requires_auth=True),
            Handler("transfer_to", (), h.transfer, form=to_again, requires_auth=True),
            Handler("update_contact", ("update_contact_details",), h.update_contact, form=contact,
                    reveals=contact_reveals, requires_auth=True),
            Handler("update_contact_again", (), h.update_contact, form=contact_again,
                    reveals=contact_reveals, requires_auth=True),
            Handler("branch_hours", ("branch_hours",), h.branch_hours),
            Handler("fees", ("fees_and_rates",), h.fees),
            Handler("volunteered", ("provide_info",), h.volunteered),
            Handler("identified", (), h.authed(h.identified), requires_auth=True),
        ],
        inform_intents=INFORM_INTENTS,
        verification=Verification(
            form=verification_form(),
            verify=h.verify,
            reveals=frozenset({"DATE_OF_BIRTH", "CREDIT_CARD"}),
            max_attempts=3,
            success="Thanks, you're verified.",
            failure="Sorry, those details don't match our records.",
            locked=(
                "For your security I can't try again in this chat. I'm passing you to a colleague "
                "who can help."
            ),
        ),
    )
