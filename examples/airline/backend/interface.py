"""The interface between the airline bot's handlers and the airline's systems of record.

``Reservations`` is the only thing the handlers depend on. The demo implements
it on SQLite (``sqlite_backend.py``); a real airline implements the same
Protocol on top of its passenger service system (PSS), departure control and
baggage-tracing APIs and returns the same result models.

Conventions:

* after verification every operation is keyed by the ``booking_id`` returned
  by :meth:`Reservations.verify_booking` (never by the booking reference the
  customer typed);
* flight numbers are written without a space (``NW214``); the back end accepts
  ``nw 214`` too; airports are IATA codes; times are the airport's local time;
* money is :class:`decimal.Decimal` with two places;
* passport numbers, dates of birth and frequent-flyer numbers never leave the
  back end: results carry only confirmations.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

FareClass = Literal["basic", "standard", "flex", "business"]
FlightStatus = Literal["on_time", "delayed", "cancelled"]
BookingStatus = Literal["active", "cancelled", "refunded"]
BaggageIssue = Literal["delayed", "lost", "damaged"]
AssistanceCode = Literal["WCHR", "WCHS", "WCHC", "BLND", "DEAF", "DPNA", "SVAN", "MAAS"]
MealCode = Literal[
    "VGML", "VLML", "GFML", "KSML", "MOML", "HNML", "CHML", "BBML", "DBML", "LSML", "NLML"
]
RefundReason = Literal[
    "refundable_fare",
    "flight_cancelled",
    "long_delay",
    "non_refundable_fare",
    "flown",
    "booking_cancelled",
    "already_refunded",
]

#: IATA special service request codes for assistance, with a plain description.
ASSISTANCE_DESCRIPTIONS: dict[str, str] = {
    "WCHR": "wheelchair to and from the aircraft (can climb steps and walk in the cabin)",
    "WCHS": "wheelchair, cannot climb steps",
    "WCHC": "wheelchair, fully immobile, needs help to the seat",
    "BLND": "blind or partially sighted passenger",
    "DEAF": "deaf or hard of hearing passenger",
    "DPNA": "passenger with an intellectual or developmental disability needing assistance",
    "SVAN": "service animal in the cabin",
    "MAAS": "meet and assist",
}

#: IATA special meal codes, with a plain description.
MEAL_DESCRIPTIONS: dict[str, str] = {
    "VGML": "vegan",
    "VLML": "vegetarian (lacto-ovo)",
    "GFML": "gluten free",
    "KSML": "kosher",
    "MOML": "halal",
    "HNML": "Hindu",
    "CHML": "child meal",
    "BBML": "baby meal",
    "DBML": "diabetic",
    "LSML": "low salt",
    "NLML": "low lactose",
}


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Flight(_Result):
    """One operated flight on one date."""

    flight_number: str
    flight_date: date
    origin: str
    destination: str
    scheduled_departure: datetime
    scheduled_arrival: datetime
    estimated_departure: datetime | None
    estimated_arrival: datetime | None
    status: FlightStatus
    delay_minutes: int
    gate: str | None
    aircraft: str


class Segment(_Result):
    """The passenger's place on one flight of the booking."""

    segment_id: str
    flight: Flight
    seat: str | None
    checked_in: bool


class Booking(_Result):
    """A booking (one passenger) with its flights and extras."""

    booking_id: str
    reference: str
    first_name: str
    last_name: str
    fare_class: FareClass
    status: BookingStatus
    segments: tuple[Segment, ...]
    included_bags: int
    extra_bags: int
    special_assistance: tuple[AssistanceCode, ...]
    meal: MealCode | None
    passport_on_file: bool
    frequent_flyer_member: bool


class FlightPassenger(_Result):
    """Someone booked on a flight, as a disruption notice needs them: the booking id (the
    customer id a suppression applies to) and the WhatsApp number on file, if any."""

    booking_id: str
    whatsapp: str | None


class SeatMap(_Result):
    """Seats of the aircraft on one segment; ``available`` lists the free ones the
    passenger may choose (their own cabin)."""

    segment_id: str
    flight_number: str
    rows: int
    letters: str
    business_rows: int
    current_seat: str | None
    available: tuple[str, ...]


class RebookResult(_Result):
    """The new segment after a rebooking, and any change fee charged."""

    segment: Segment
    change_fee: Decimal
    currency: str


class BaggageAllowance(_Result):
    """What a fare class includes."""

    fare_class: FareClass
    cabin_bags: int
    cabin_bag_max_kg: int
    checked_bags: int
    checked_bag_max_kg: int
    extra_bag_price: Decimal
    currency: str


class AddBagResult(_Result):
    """Extra checked bags bought on a booking."""

    bags_added: int
    price_per_bag: Decimal
    total_price: Decimal
    currency: str
    checked_bags_total: int


class BaggageReport(_Result):
    """A delayed, lost or damaged baggage file (property irregularity report)."""

    file_reference: str
    kind: BaggageIssue
    station: str
    flight_number: str


class RefundEligibility(_Result):
    """Whether the booking can be refunded now, why, and how much."""

    eligible: bool
    reason: RefundReason
    amount: Decimal
    currency: str


class RefundResult(_Result):
    """A submitted refund."""

    refund_reference: str
    amount: Decimal
    currency: str
    reason: RefundReason


class CancellationResult(_Result):
    """A cancelled booking and what is refunded (zero on non-refundable fares)."""

    cancellation_reference: str
    refund_amount: Decimal
    currency: str


class BoardingPass(_Result):
    """A boarding pass issued at check-in."""

    segment_id: str
    flight_number: str
    seat: str
    boarding_pass_reference: str
    gate: str | None
    boarding_time: datetime


class CheckInResult(_Result):
    """The boarding passes issued (or already issued) by a check-in."""

    boarding_passes: tuple[BoardingPass, ...]


class AssistanceRequest(_Result):
    """A recorded special-assistance request."""

    request_reference: str
    code: AssistanceCode
    description: str


class MealRequestResult(_Result):
    """A recorded special meal."""

    code: MealCode
    description: str


class PassportUpdateResult(_Result):
    """Confirmation only: the passport details stay in the back end."""

    booking_id: str
    passport_on_file: bool


class LoyaltyBalance(_Result):
    """The passenger's frequent-flyer balance (the member number stays in the back end)."""

    tier: Literal["blue", "silver", "gold", "platinum"]
    miles: int
    miles_expiring: int
    expiring_on: date | None


@runtime_checkable
class Reservations(Protocol):
    """What the airline bot needs from the airline's systems."""

    def verify_booking(self, reference: str, last_name: str) -> str | None:
        """Return the booking id for a 6-character reference and the passenger's last
        name (case, accents and apostrophe style ignored), or None."""
        ...

    def get_booking(self, booking_id: str) -> Booking:
        """Return the booking with its segments and extras."""
        ...

    def flight_status(self, flight_number: str, flight_date: date | None = None) -> Flight | None:
        """Return the flight on that date; without a date, the first one that has not
        landed yet (a cancelled flight counts as not landed)."""
        ...

    def flight_passengers(self, flight_number: str, flight_date: date) -> list[FlightPassenger]:
        """Return everyone on an active booking with a segment on that flight (for a delay
        or cancellation notice), in booking order."""
        ...

    def rebook_options(
        self, booking_id: str, segment_id: str, *, on_date: date | None = None, limit: int = 5
    ) -> list[Flight]:
        """Return upcoming flights on the same route with a free seat, earliest first:
        on ``on_date`` if given, else from the day before to three days after the
        booked flight."""
        ...

    def rebook(
        self, booking_id: str, segment_id: str, flight_number: str, flight_date: date
    ) -> RebookResult:
        """Move the segment to an upcoming flight on the same route with a free seat; free
        of charge when the original flight is disrupted or the fare is flexible."""
        ...

    def seat_map(self, booking_id: str, segment_id: str) -> SeatMap:
        """Return the seats the passenger could move to on this segment."""
        ...

    def change_seat(self, booking_id: str, segment_id: str, seat: str) -> Segment:
        """Move the passenger to a free seat in their cabin."""
        ...

    def baggage_allowance(self, fare_class: FareClass) -> BaggageAllowance:
        """Return the baggage included in a fare class."""
        ...

    def add_bags(self, booking_id: str, count: int = 1) -> AddBagResult:
        """Buy extra checked bags (at most 3 extra per booking)."""
        ...

    def report_baggage(
        self,
        booking_id: str,
        kind: BaggageIssue,
        *,
        segment_id: str | None = None,
        description: str = "",
    ) -> BaggageReport:
        """Open a baggage file for a segment (default: the last flown one)."""
        ...

    def refund_eligibility(self, booking_id: str) -> RefundEligibility:
        """Say whether the booking can be refunded and how much."""
        ...

    def request_refund(self, booking_id: str) -> RefundResult:
        """Refund an eligible booking; raises NotEligibleError (code = reason) otherwise."""
        ...

    def cancel_booking(self, booking_id: str) -> CancellationResult:
        """Cancel the booking, refunding what the fare rules allow."""
        ...

    def check_in(self, booking_id: str, segment_id: str | None = None) -> CheckInResult:
        """Check in for a segment (default: the next one) and issue a boarding pass."""
        ...

    def request_special_assistance(
        self, booking_id: str, code: AssistanceCode, notes: str = ""
    ) -> AssistanceRequest:
        """Record a special-assistance request for all segments."""
        ...

    def request_meal(self, booking_id: str, code: MealCode) -> MealRequestResult:
        """Record a special meal for all segments."""
        ...

    def update_passport(
        self, booking_id: str, number: str, nationality: str, expiry: date
    ) -> PassportUpdateResult:
        """Store passport details (advance passenger information); returns a confirmation."""
        ...

    def frequent_flyer_balance(self, booking_id: str) -> LoyaltyBalance | None:
        """Return the passenger's loyalty balance, or None when not a member."""
        ...
