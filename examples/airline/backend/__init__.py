"""The demo airline's reservations system, behind the :class:`Reservations` interface.

Handlers import this package relative to the bot directory::

    from .backend import open_backend

    airline = open_backend()           # BOT_DIR/backend/demo.sqlite3, created on first use
    booking_id = airline.verify_booking("X7K9QP", "Nguyen")

A real airline replaces :func:`open_backend` with a factory returning its own
implementation of :class:`Reservations` (see ``interface.py``).
"""

from __future__ import annotations

from pathlib import Path

from .errors import (
    BackendError,
    InvalidRequestError,
    NotEligibleError,
    NotFoundError,
    SeatUnavailableError,
    TravelDocumentRequiredError,
)
from .interface import (
    ASSISTANCE_DESCRIPTIONS,
    MEAL_DESCRIPTIONS,
    AddBagResult,
    AssistanceCode,
    AssistanceRequest,
    BaggageAllowance,
    BaggageIssue,
    BaggageReport,
    BoardingPass,
    Booking,
    BookingStatus,
    CancellationResult,
    CheckInResult,
    FareClass,
    Flight,
    FlightPassenger,
    FlightStatus,
    LoyaltyBalance,
    MealCode,
    MealRequestResult,
    PassportUpdateResult,
    RebookResult,
    RefundEligibility,
    RefundReason,
    RefundResult,
    Reservations,
    SeatMap,
    Segment,
)
from .sqlite_backend import Clock, SqliteReservations, normalise_flight_number, normalise_name

DEFAULT_PATH = Path(__file__).resolve().parent / "demo.sqlite3"

__all__ = [
    "ASSISTANCE_DESCRIPTIONS",
    "DEFAULT_PATH",
    "MEAL_DESCRIPTIONS",
    "AddBagResult",
    "AssistanceCode",
    "AssistanceRequest",
    "BackendError",
    "BaggageAllowance",
    "BaggageIssue",
    "BaggageReport",
    "BoardingPass",
    "Booking",
    "BookingStatus",
    "CancellationResult",
    "CheckInResult",
    "Clock",
    "FareClass",
    "Flight",
    "FlightPassenger",
    "FlightStatus",
    "InvalidRequestError",
    "LoyaltyBalance",
    "MealCode",
    "MealRequestResult",
    "NotEligibleError",
    "NotFoundError",
    "PassportUpdateResult",
    "RebookResult",
    "RefundEligibility",
    "RefundReason",
    "RefundResult",
    "Reservations",
    "SeatMap",
    "SeatUnavailableError",
    "Segment",
    "SqliteReservations",
    "TravelDocumentRequiredError",
    "normalise_flight_number",
    "normalise_name",
    "open_backend",
]


def open_backend(path: str | Path | None = None, *, clock: Clock | None = None) -> Reservations:
    """Open the demo reservations system, creating and seeding the database on first use.

    ``path`` defaults to ``demo.sqlite3`` next to this package (``BOT_DIR/backend/``);
    ``clock`` supplies the current local time (tests pass a fixed one).
    """
    return SqliteReservations(DEFAULT_PATH if path is None else path, clock=clock)
