"""The interface between the bank bot's handlers and the bank's systems of record.

``CoreBanking`` is the only thing the handlers depend on. The demo implements
it on SQLite (``sqlite_backend.py``); a real bank implements the same
Protocol on top of its core-banking, card-management and CRM APIs and returns
the same result models.

Conventions:

* every operation after verification is keyed by the ``customer_id`` returned
  by :meth:`CoreBanking.verify_customer`; records belonging to someone else
  are reported as not found;
* money is :class:`decimal.Decimal` with two places; money leaving an account
  is negative in :class:`Transaction`;
* full card numbers, dates of birth and contact details never leave the back
  end: results carry only the last four digits of a card and confirmations.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

AccountType = Literal["checking", "savings"]
CardKind = Literal["debit", "credit"]
CardStatus = Literal["active", "frozen", "lost", "inactive", "closed"]
DeliveryStatus = Literal["ordered", "dispatched", "delivered"]
ContactField = Literal["address", "phone", "email"]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Customer(_Result):
    """The verified customer, for addressing them politely."""

    customer_id: str
    first_name: str
    last_name: str


class Account(_Result):
    """A deposit account and its current balance."""

    account_id: str
    account_type: AccountType
    nickname: str
    number_last_four: str
    balance: Decimal
    currency: str


class Transaction(_Result):
    """A posted transaction; ``amount`` is negative for money going out."""

    transaction_id: str
    account_id: str
    posted_on: date
    merchant: str
    amount: Decimal
    currency: str
    card_last_four: str | None


class CardDelivery(_Result):
    """Where a newly ordered card is; ``eta`` is None once delivered."""

    status: DeliveryStatus
    eta: date | None


class Card(_Result):
    """A payment card, identified to the customer by its last four digits."""

    card_id: str
    kind: CardKind
    last_four: str
    status: CardStatus
    expires_on: date
    delivery: CardDelivery | None


class CardReplacement(_Result):
    """Result of reporting a card lost or asking for a replacement."""

    old_card: Card
    new_card: Card


class Dispute(_Result):
    """A dispute case opened on a transaction."""

    case_number: str
    transaction_id: str
    merchant: str
    amount: Decimal
    status: Literal["open"]
    opened_on: date


class TransferResult(_Result):
    """A completed transfer between two of the customer's own accounts."""

    reference: str
    amount: Decimal
    from_account: Account
    to_account: Account


class ContactUpdateResult(_Result):
    """Confirmation of a contact-details change; the new values stay in the back end."""

    updated_fields: tuple[ContactField, ...]


class FraudAlert(_Result):
    """A card transaction held by the fraud system until the customer confirms it."""

    alert_id: str
    card_id: str
    card_last_four: str
    merchant: str
    amount: Decimal
    currency: str
    occurred_at: datetime
    status: Literal["pending", "confirmed", "denied"]


class FraudAlertResolution(_Result):
    """Outcome of answering a fraud alert.

    ``confirmed``: the transaction is released and the card stays as it was.
    ``denied``: the card is frozen and a fraud case is opened (``case_number``).
    """

    alert_id: str
    outcome: Literal["confirmed", "denied"]
    card: Card
    case_number: str | None


class BranchHours(_Result):
    """Opening hours of a branch and its ATMs (times are local, 24-hour clock)."""

    branch_id: str
    name: str
    address: str
    weekday_hours: str
    saturday_hours: str
    sunday_hours: str
    atm_hours: str


class FeeOrRate(_Result):
    """One line of the published fees and rates table."""

    code: str
    description: str
    kind: Literal["fee", "rate"]
    value: Decimal
    unit: Literal["USD", "%", "% APY", "% APR"]
    notes: str


@runtime_checkable
class CoreBanking(Protocol):
    """What the bank bot needs from the bank's systems."""

    def verify_customer(self, date_of_birth: date, card_last_four: str) -> str | None:
        """Return the customer id matching both factors, or None (also when ambiguous)."""
        ...

    def get_customer(self, customer_id: str) -> Customer:
        """Return the customer's name."""
        ...

    def list_accounts(self, customer_id: str) -> list[Account]:
        """Return the customer's accounts with current balances."""
        ...

    def find_account(self, customer_id: str, account_type: AccountType) -> Account | None:
        """Return the customer's first account of this type, if any."""
        ...

    def recent_transactions(
        self,
        customer_id: str,
        *,
        account_id: str | None = None,
        since: date | None = None,
        limit: int = 10,
    ) -> list[Transaction]:
        """Return the newest transactions first, optionally for one account or from a date."""
        ...

    def list_cards(self, customer_id: str) -> list[Card]:
        """Return all the customer's cards, including lost and closed ones."""
        ...

    def find_card(self, customer_id: str, last_four: str) -> Card | None:
        """Return the customer's card with these last four digits (the usable one first)."""
        ...

    def freeze_card(self, customer_id: str, card_id: str) -> Card:
        """Temporarily block an active card (idempotent on a frozen card)."""
        ...

    def unfreeze_card(self, customer_id: str, card_id: str) -> Card:
        """Lift a temporary block (idempotent on an active card)."""
        ...

    def report_lost_card(self, customer_id: str, card_id: str) -> CardReplacement:
        """Mark a card lost or stolen (permanently blocked) and order a new one."""
        ...

    def replace_card(self, customer_id: str, card_id: str) -> CardReplacement:
        """Order a replacement for a damaged or expiring card; the old one works until
        the new one is activated."""
        ...

    def activate_card(self, customer_id: str, last_four: str) -> Card:
        """Activate a newly received card; a card it replaces is closed."""
        ...

    def open_dispute(
        self,
        customer_id: str,
        *,
        transaction_id: str | None = None,
        merchant: str | None = None,
        amount: Decimal | None = None,
        reason: str = "",
    ) -> Dispute:
        """Open (or return the existing) dispute case on a transaction, found by id or by
        merchant name and amount."""
        ...

    def transfer(
        self, customer_id: str, from_account_id: str, to_account_id: str, amount: Decimal
    ) -> TransferResult:
        """Move money between two of the customer's own accounts; no overdraft."""
        ...

    def update_contact_details(
        self,
        customer_id: str,
        *,
        address: str | None = None,
        phone: str | None = None,
        email: str | None = None,
    ) -> ContactUpdateResult:
        """Replace the given contact details; returns only which fields changed."""
        ...

    def pending_fraud_alert(self, customer_id: str) -> FraudAlert | None:
        """Return the oldest fraud alert awaiting the customer's answer, if any."""
        ...

    def confirm_fraud_alert(self, customer_id: str, alert_id: str) -> FraudAlertResolution:
        """The customer made the transaction: clear the alert."""
        ...

    def deny_fraud_alert(self, customer_id: str, alert_id: str) -> FraudAlertResolution:
        """The customer did not make it: freeze the card and open a fraud case."""
        ...

    def branch_hours(self, branch: str | None = None) -> list[BranchHours]:
        """Return opening hours of all branches, or of those whose name contains ``branch``."""
        ...

    def fees_and_rates(self) -> list[FeeOrRate]:
        """Return the published fees and interest rates."""
        ...
