"""Static product rules of the demo airline (Northwind Airways, code NW).

In a real airline these come from the fare filing and the fleet database.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

AIRLINE_CODE = "NW"
CURRENCY = "USD"
MAX_EXTRA_BAGS = 3
#: A delay of at least this many minutes entitles the passenger to a refund.
REFUND_DELAY_MINUTES = 180
#: A delay of at least this many minutes makes rebooking free.
FREE_REBOOK_DELAY_MINUTES = 120
#: Minutes before departure that boarding starts.
BOARDING_BEFORE_MINUTES = 40


@dataclass(frozen=True)
class FareRules:
    """Baggage, refund and change rules of one fare class."""

    cabin_bags: int
    cabin_bag_max_kg: int
    checked_bags: int
    checked_bag_max_kg: int
    extra_bag_price: Decimal
    refundable: bool
    change_fee: Decimal


FARES: dict[str, FareRules] = {
    "basic": FareRules(1, 10, 0, 23, Decimal("60.00"), False, Decimal("75.00")),
    "standard": FareRules(1, 10, 1, 23, Decimal("60.00"), False, Decimal("50.00")),
    "flex": FareRules(1, 10, 2, 23, Decimal("50.00"), True, Decimal("0.00")),
    "business": FareRules(2, 10, 2, 32, Decimal("50.00"), True, Decimal("0.00")),
}


@dataclass(frozen=True)
class Aircraft:
    """Seat layout: rows numbered from 1, the first ``business_rows`` are business class."""

    rows: int
    letters: str
    business_rows: int

    def has_seat(self, seat: str) -> bool:
        """Return True if the seat (e.g. ``14C``) exists on this aircraft."""
        row, letter = seat[:-1], seat[-1:]
        return row.isdigit() and 1 <= int(row) <= self.rows and letter in self.letters

    def is_business(self, seat: str) -> bool:
        """Return True if the seat is in the business cabin."""
        return int(seat[:-1]) <= self.business_rows

    def seats(self) -> list[str]:
        """Return every seat, front to back."""
        return [f"{row}{letter}" for row in range(1, self.rows + 1) for letter in self.letters]


AIRCRAFT: dict[str, Aircraft] = {
    "787": Aircraft(rows=40, letters="ABCDEFGHK", business_rows=6),
    "A320": Aircraft(rows=30, letters="ABCDEF", business_rows=3),
}
