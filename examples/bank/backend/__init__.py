"""The demo bank's systems of record, behind the :class:`CoreBanking` interface.

Handlers import this package relative to the bot directory::

    from .backend import open_backend

    bank = open_backend()              # BOT_DIR/backend/demo.sqlite3, created on first use
    customer_id = bank.verify_customer(date(1984, 3, 12), "4242")

A real bank replaces :func:`open_backend` with a factory returning its own
implementation of :class:`CoreBanking` (see ``interface.py``).
"""

from __future__ import annotations

from pathlib import Path

from .errors import (
    BackendError,
    CardStateError,
    InsufficientFundsError,
    InvalidRequestError,
    NotFoundError,
)
from .interface import (
    Account,
    AccountType,
    BranchHours,
    Card,
    CardDelivery,
    CardKind,
    CardReplacement,
    CardStatus,
    ContactUpdateResult,
    CoreBanking,
    Customer,
    Dispute,
    FeeOrRate,
    FraudAlert,
    FraudAlertResolution,
    Transaction,
    TransferResult,
)
from .sqlite_backend import Clock, SqliteCoreBanking

DEFAULT_PATH = Path(__file__).resolve().parent / "demo.sqlite3"

__all__ = [
    "DEFAULT_PATH",
    "Account",
    "AccountType",
    "BackendError",
    "BranchHours",
    "Card",
    "CardDelivery",
    "CardKind",
    "CardReplacement",
    "CardStateError",
    "CardStatus",
    "Clock",
    "ContactUpdateResult",
    "CoreBanking",
    "Customer",
    "Dispute",
    "FeeOrRate",
    "FraudAlert",
    "FraudAlertResolution",
    "InsufficientFundsError",
    "InvalidRequestError",
    "NotFoundError",
    "SqliteCoreBanking",
    "Transaction",
    "TransferResult",
    "open_backend",
]


def open_backend(path: str | Path | None = None, *, clock: Clock | None = None) -> CoreBanking:
    """Open the demo core-banking system, creating and seeding the database on first use.

    ``path`` defaults to ``demo.sqlite3`` next to this package (``BOT_DIR/backend/``);
    ``clock`` supplies the current time (tests pass a fixed one).
    """
    return SqliteCoreBanking(DEFAULT_PATH if path is None else path, clock=clock)
