"""How the airline bot words flights, money and dates for passengers.

Nothing here sees personal data: results from the back end carry flight facts, seats and
references the airline issues (file, refund and boarding-pass references), never names,
booking references or document numbers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from .backend import Flight, RefundReason

__all__ = ["day", "delay", "flight_line", "money", "option_line", "refund_reason", "status_sentence"]


def day(d: date) -> str:
    """'Tue 3 Jun'."""
    return f"{d:%a} {d.day} {d:%b}"


def clock(t: datetime) -> str:
    return f"{t:%H:%M}"


def money(amount: Decimal, currency: str = "USD") -> str:
    """'$60.00' (the demo airline sells in US dollars)."""
    return f"${amount:,.2f}" if currency == "USD" else f"{amount:,.2f} {currency}"


def delay(minutes: int) -> str:
    """'3 h 20 min' / '45 min'."""
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"


def flight_line(f: Flight) -> str:
    """'NW214 LHR to JFK on Tue 3 Jun'."""
    return f"{f.flight_number} {f.origin} to {f.destination} on {day(f.flight_date)}"


def status_sentence(f: Flight) -> str:
    """The status of one flight, the way a gate agent would say it."""
    head = flight_line(f)
    if f.status == "cancelled":
        return f"{head} is cancelled. I'm sorry. If you're booked on it, I can move you to another flight or refund you."
    gate = f", gate {f.gate}" if f.gate else ""
    if f.status == "delayed" and f.estimated_departure is not None:
        return (
            f"{head} is delayed by {delay(f.delay_minutes)}: scheduled {clock(f.scheduled_departure)}, "
            f"now expected to leave at {clock(f.estimated_departure)}{gate}."
        )
    return (
        f"{head} is on time: departs {clock(f.scheduled_departure)}, "
        f"arrives {clock(f.scheduled_arrival)}{gate}."
    )


def option_line(n: int, f: Flight) -> str:
    """'1) NW218 on Tue 3 Jun, 17:45 to 20:50'."""
    leaves = f.estimated_departure or f.scheduled_departure
    arrives = f.estimated_arrival or f.scheduled_arrival
    late = f" (running {delay(f.delay_minutes)} late)" if f.status == "delayed" else ""
    return f"{n}) {f.flight_number} on {day(f.flight_date)}, {clock(leaves)} to {clock(arrives)}{late}"


_REASONS: dict[str, str] = {
    "refundable_fare": "your fare is refundable",
    "flight_cancelled": "your flight was cancelled",
    "long_delay": "your flight is delayed by more than 3 hours",
    "non_refundable_fare": "your fare isn't refundable",
    "flown": "the flights on this booking have already been flown",
    "booking_cancelled": "this booking has already been cancelled",
    "already_refunded": "this booking has already been refunded",
}


def refund_reason(reason: RefundReason) -> str:
    """Plain words for a refund decision."""
    return _REASONS.get(reason, "of the fare rules")
