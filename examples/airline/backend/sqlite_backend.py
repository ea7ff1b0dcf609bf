"""The demo reservations system: :class:`~.interface.Reservations` on one SQLite file.

Each call opens its own short connection and transaction, so one instance can
be shared by threads and processes. Writes take SQLite's write lock up front
(``BEGIN IMMEDIATE``) so two passengers cannot be given the same seat.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from . import seed as seed_data
from .errors import (
    BackendError,
    InvalidRequestError,
    NotEligibleError,
    NotFoundError,
    SeatUnavailableError,
    TravelDocumentRequiredError,
)
from .fares import (
    AIRCRAFT,
    BOARDING_BEFORE_MINUTES,
    CURRENCY,
    FARES,
    FREE_REBOOK_DELAY_MINUTES,
    MAX_EXTRA_BAGS,
    REFUND_DELAY_MINUTES,
    Aircraft,
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
    RefundResult,
    SeatMap,
    Segment,
)
from .schema import DDL, SCHEMA_VERSION, insert_row

Clock = Callable[[], datetime]

_CENT = Decimal("0.01")
_REFERENCE = re.compile(r"^[A-Z0-9]{6}$")
_FLIGHT_NUMBER = re.compile(r"^[A-Z0-9]{2}\d{1,4}$")
_SEAT = re.compile(r"^\d{1,2}[A-K]$")
_PASSPORT = re.compile(r"^[A-Z0-9]{6,9}$")
_NATIONALITY = re.compile(r"^[A-Z]{2,3}$")
_DELAYED_FROM_MINUTES = 15
_SEGMENT_SQL = (
    "SELECT segments.id AS segment_pk, segments.position, segments.seat, segments.checked_in,"
    " segments.booking_id, flights.*, o.country AS origin_country,"
    " d.country AS destination_country FROM segments"
    " JOIN flights ON flights.id = segments.flight_id"
    " JOIN airports o ON o.code = flights.origin"
    " JOIN airports d ON d.code = flights.destination"
)


def _money(cents: int) -> Decimal:
    return (Decimal(cents) * _CENT).quantize(_CENT)


def _parse_id(prefix: str, public_id: str) -> int:
    if not isinstance(public_id, str) or not public_id.startswith(prefix):
        raise NotFoundError()
    digits = public_id[len(prefix):]
    if not digits.isdigit():
        raise NotFoundError()
    return int(digits)


def normalise_flight_number(flight_number: str) -> str:
    """Return ``NW214`` for ``nw 214``, ``NW-214`` or ``NW0214``; raise if malformed."""
    compact = re.sub(r"[\s\-]", "", str(flight_number)).upper()
    if not _FLIGHT_NUMBER.match(compact):
        raise InvalidRequestError("not a flight number", code="invalid_flight_number")
    return compact[:2] + str(int(compact[2:]))


def normalise_name(name: str) -> str:
    """Fold a surname for comparison: case, accents, apostrophe style and spacing."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = re.sub(r"[\u2018\u2019\u02bc`´]", "'", plain).casefold()
    plain = re.sub(r"\s*-\s*", "-", plain)
    return " ".join(plain.split())


class SqliteReservations:
    """Demo implementation of :class:`~.interface.Reservations`.

    The database is created and seeded on first use. ``clock`` supplies "now"
    (local time; tests pass a fixed one); it decides which flights have
    departed and is the seed's anchor date.
    """

    def __init__(self, path: str | Path, *, clock: Clock | None = None) -> None:
        self._path = Path(path)
        self._clock: Clock = clock or datetime.now
        self._ensure_database()

    # -- storage ---------------------------------------------------------

    @contextmanager
    def _tx(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
        except sqlite3.Error as exc:
            raise BackendError("cannot open the demo database") from exc
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise BackendError("demo database error") from exc
        finally:
            conn.close()

    def _ensure_database(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with self._tx(write=True) as conn:
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
            ).fetchone()
            if has_meta is None:
                for statement in DDL.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                anchor = self._clock().date()
                seed_data.seed(conn, anchor)
                conn.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("schema_version", SCHEMA_VERSION), ("anchor", anchor.isoformat())],
                )
                return
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None or row["value"] != SCHEMA_VERSION:
                raise BackendError(
                    "the demo database has an old schema; delete it to recreate it",
                    code="schema_mismatch",
                )

    # -- row -> model ----------------------------------------------------

    @staticmethod
    def _flight(row: sqlite3.Row) -> Flight:
        departure = datetime.fromisoformat(row["scheduled_departure"])
        arrival = datetime.fromisoformat(row["scheduled_arrival"])
        cancelled = bool(row["cancelled"])
        delay = 0 if cancelled else int(row["delay_minutes"])
        status: FlightStatus = (
            "cancelled" if cancelled else "delayed" if delay >= _DELAYED_FROM_MINUTES else "on_time"
        )
        return Flight(
            flight_number=row["flight_number"],
            flight_date=date.fromisoformat(row["flight_date"]),
            origin=row["origin"],
            destination=row["destination"],
            scheduled_departure=departure,
            scheduled_arrival=arrival,
            estimated_departure=None if cancelled else departure + timedelta(minutes=delay),
            estimated_arrival=None if cancelled else arrival + timedelta(minutes=delay),
            status=status,
            delay_minutes=delay,
            gate=row["gate"],
            aircraft=row["aircraft"],
        )

    def _segment(self, row: sqlite3.Row) -> Segment:
        return Segment(
            segment_id=f"SG{row['segment_pk']:06d}",
            flight=self._flight(row),
            seat=row["seat"],
            checked_in=bool(row["checked_in"]),
        )

    # -- shared lookups and rules ---------------------------------------

    @staticmethod
    def _booking_row(conn: sqlite3.Connection, booking_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM bookings WHERE id = ?", (_parse_id("BK", booking_id),)
        ).fetchone()
        if row is None:
            raise NotFoundError()
        return row

    @staticmethod
    def _active_booking_row(conn: sqlite3.Connection, booking_id: str) -> sqlite3.Row:
        row = SqliteReservations._booking_row(conn, booking_id)
        if row["status"] != "active":
            raise InvalidRequestError(f"booking is {row['status']}", code="booking_not_active")
        return row

    @staticmethod
    def _segment_rows(conn: sqlite3.Connection, booking_pk: int) -> list[sqlite3.Row]:
        return conn.execute(
            _SEGMENT_SQL + " WHERE segments.booking_id = ? ORDER BY segments.position",
            (booking_pk,),
        ).fetchall()

    @staticmethod
    def _segment_row(conn: sqlite3.Connection, booking_pk: int, segment_id: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            _SEGMENT_SQL + " WHERE segments.booking_id = ? AND segments.id = ?",
            (booking_pk, _parse_id("SG", segment_id)),
        ).fetchone()
        if row is None:
            raise NotFoundError()
        return row

    def _departed(self, flight_row: sqlite3.Row) -> bool:
        if flight_row["cancelled"]:
            return False
        departure = datetime.fromisoformat(flight_row["scheduled_departure"])
        return self._clock() >= departure + timedelta(minutes=flight_row["delay_minutes"])

    def _require_upcoming(self, flight_row: sqlite3.Row) -> None:
        if self._departed(flight_row):
            raise InvalidRequestError("the flight has departed", code="segment_departed")

    @staticmethod
    def _taken_seats(conn: sqlite3.Connection, flight_pk: int) -> set[str]:
        rows = conn.execute(
            "SELECT segments.seat FROM segments JOIN bookings ON bookings.id = segments.booking_id"
            " WHERE segments.flight_id = ? AND bookings.status = 'active'"
            " AND segments.seat IS NOT NULL",
            (flight_pk,),
        ).fetchall()
        return {row["seat"] for row in rows}

    def _free_seats(
        self, conn: sqlite3.Connection, flight_row: sqlite3.Row, business: bool
    ) -> list[str]:
        aircraft = AIRCRAFT[flight_row["aircraft"]]
        taken = self._taken_seats(conn, flight_row["id"])
        return [
            seat
            for seat in aircraft.seats()
            if aircraft.is_business(seat) == business
            and seat not in taken
            and not seed_data.synthetic_taken(flight_row["flight_number"], seat)
        ]

    @staticmethod
    def _cabin_check(aircraft: Aircraft, seat: str, business: bool) -> None:
        if not aircraft.has_seat(seat):
            raise InvalidRequestError("no such seat on this aircraft", code="no_such_seat")
        if aircraft.is_business(seat) != business:
            raise InvalidRequestError("seat is in another cabin", code="seat_in_other_cabin")

    # -- verification and booking ----------------------------------------

    def verify_booking(self, reference: str, last_name: str) -> str | None:
        """Return the booking id for a 6-character reference and the passenger's last
        name (case, accents and apostrophe style ignored), or None."""
        compact = re.sub(r"\s", "", str(reference)).upper()
        if not _REFERENCE.match(compact) or not str(last_name).strip():
            return None
        with self._tx() as conn:
            row = conn.execute(
                "SELECT id, last_name FROM bookings WHERE reference = ?", (compact,)
            ).fetchone()
        if row is None or normalise_name(row["last_name"]) != normalise_name(last_name):
            return None
        return f"BK{row['id']:05d}"

    def get_booking(self, booking_id: str) -> Booking:
        """Return the booking with its segments and extras."""
        with self._tx() as conn:
            row = self._booking_row(conn, booking_id)
            segments = self._segment_rows(conn, row["id"])
            codes = conn.execute(
                "SELECT code FROM assistance WHERE booking_id = ? ORDER BY id", (row["id"],)
            ).fetchall()
        return Booking(
            booking_id=booking_id,
            reference=row["reference"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            fare_class=row["fare_class"],
            status=row["status"],
            segments=tuple(self._segment(segment) for segment in segments),
            included_bags=FARES[row["fare_class"]].checked_bags,
            extra_bags=row["extra_bags"],
            special_assistance=tuple(code["code"] for code in codes),
            meal=row["meal"],
            passport_on_file=row["passport_number"] is not None,
            frequent_flyer_member=row["member_id"] is not None,
        )

    def flight_status(self, flight_number: str, flight_date: date | None = None) -> Flight | None:
        """Return the flight on that date; without a date, the first one that has not
        landed yet (a cancelled flight counts as not landed)."""
        number = normalise_flight_number(flight_number)
        with self._tx() as conn:
            if flight_date is not None:
                row = conn.execute(
                    "SELECT * FROM flights WHERE flight_number = ? AND flight_date = ?",
                    (number, flight_date.isoformat()),
                ).fetchone()
            else:
                rows = conn.execute(
                    "SELECT * FROM flights WHERE flight_number = ? AND flight_date >= ?"
                    " ORDER BY flight_date",
                    (number, (self._clock().date() - timedelta(days=1)).isoformat()),
                ).fetchall()
                flights = [self._flight(r) for r in rows]
                now = self._clock()
                return next(
                    (f for f in flights
                     if f.estimated_arrival is None or f.estimated_arrival > now),
                    flights[-1] if flights else None,
                )
        return None if row is None else self._flight(row)

    def flight_passengers(self, flight_number: str, flight_date: date) -> list[FlightPassenger]:
        number = normalise_flight_number(flight_number)
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT b.id, b.whatsapp FROM bookings b JOIN segments s ON s.booking_id = b.id"
                " JOIN flights f ON f.id = s.flight_id"
                " WHERE f.flight_number = ? AND f.flight_date = ? AND b.status = 'active'"
                " ORDER BY b.id",
                (number, flight_date.isoformat()),
            ).fetchall()
        return [FlightPassenger(booking_id=f"BK{r['id']:05d}", whatsapp=r["whatsapp"]) for r in rows]

    # -- rebooking and seats ---------------------------------------------

    def _options(
        self,
        conn: sqlite3.Connection,
        segment: sqlite3.Row,
        business: bool,
        first_day: date,
        last_day: date,
    ) -> list[sqlite3.Row]:
        rows = conn.execute(
            "SELECT * FROM flights WHERE origin = ? AND destination = ? AND cancelled = 0"
            " AND id != ? AND flight_date BETWEEN ? AND ? ORDER BY scheduled_departure",
            (segment["origin"], segment["destination"], segment["id"],
             first_day.isoformat(), last_day.isoformat()),
        ).fetchall()
        return [
            row for row in rows
            if not self._departed(row) and self._free_seats(conn, row, business)
        ]

    def rebook_options(
        self, booking_id: str, segment_id: str, *, on_date: date | None = None, limit: int = 5
    ) -> list[Flight]:
        """Return upcoming flights on the same route with a free seat, earliest first:
        on ``on_date`` if given, else from the day before to three days after the
        booked flight."""
        with self._tx() as conn:
            booking = self._active_booking_row(conn, booking_id)
            segment = self._segment_row(conn, booking["id"], segment_id)
            if on_date is None:
                booked = date.fromisoformat(segment["flight_date"])
                first, last = booked - timedelta(days=1), booked + timedelta(days=3)
            else:
                first = last = on_date
            rows = self._options(conn, segment, booking["fare_class"] == "business", first, last)
        return [self._flight(row) for row in rows[: max(limit, 0)]]

    def rebook(
        self, booking_id: str, segment_id: str, flight_number: str, flight_date: date
    ) -> RebookResult:
        """Move the segment to an upcoming flight on the same route with a free seat; free
        of charge when the original flight is disrupted or the fare is flexible."""
        number = normalise_flight_number(flight_number)
        with self._tx(write=True) as conn:
            booking = self._active_booking_row(conn, booking_id)
            segment = self._segment_row(conn, booking["id"], segment_id)
            self._require_upcoming(segment)
            business = booking["fare_class"] == "business"
            options = self._options(conn, segment, business, flight_date, flight_date)
            target = next((row for row in options if row["flight_number"] == number), None)
            if target is None:
                raise InvalidRequestError("not a rebooking option", code="not_a_rebook_option")
            disrupted = bool(segment["cancelled"]) or (
                segment["delay_minutes"] >= FREE_REBOOK_DELAY_MINUTES
            )
            fee = Decimal("0.00") if disrupted else FARES[booking["fare_class"]].change_fee
            free = self._free_seats(conn, target, business)
            seat = segment["seat"] if segment["seat"] in free else free[0]
            conn.execute(
                "UPDATE segments SET flight_id = ?, seat = ?, checked_in = 0 WHERE id = ?",
                (target["id"], seat, segment["segment_pk"]),
            )
            new_row = self._segment_row(conn, booking["id"], segment_id)
            return RebookResult(segment=self._segment(new_row), change_fee=fee, currency=CURRENCY)

    def seat_map(self, booking_id: str, segment_id: str) -> SeatMap:
        """Return the seats the passenger could move to on this segment."""
        with self._tx() as conn:
            booking = self._booking_row(conn, booking_id)
            segment = self._segment_row(conn, booking["id"], segment_id)
            aircraft = AIRCRAFT[segment["aircraft"]]
            free = self._free_seats(conn, segment, booking["fare_class"] == "business")
        return SeatMap(
            segment_id=segment_id,
            flight_number=segment["flight_number"],
            rows=aircraft.rows,
            letters=aircraft.letters,
            business_rows=aircraft.business_rows,
            current_seat=segment["seat"],
            available=tuple(free),
        )

    def change_seat(self, booking_id: str, segment_id: str, seat: str) -> Segment:
        """Move the passenger to a free seat in their cabin."""
        wanted = re.sub(r"\s", "", str(seat)).upper().lstrip("0")
        if not _SEAT.match(wanted):
            raise InvalidRequestError("not a seat", code="no_such_seat")
        with self._tx(write=True) as conn:
            booking = self._active_booking_row(conn, booking_id)
            segment = self._segment_row(conn, booking["id"], segment_id)
            self._require_upcoming(segment)
            if segment["cancelled"]:
                raise InvalidRequestError("the flight is cancelled", code="flight_cancelled")
            if segment["seat"] == wanted:
                return self._segment(segment)
            business = booking["fare_class"] == "business"
            self._cabin_check(AIRCRAFT[segment["aircraft"]], wanted, business)
            if wanted not in self._free_seats(conn, segment, business):
                raise SeatUnavailableError()
            conn.execute(
                "UPDATE segments SET seat = ? WHERE id = ?", (wanted, segment["segment_pk"])
            )
            return self._segment(self._segment_row(conn, booking["id"], segment_id))

    # -- baggage ----------------------------------------------------------

    def baggage_allowance(self, fare_class: FareClass) -> BaggageAllowance:
        """Return the baggage included in a fare class."""
        rules = FARES.get(fare_class)
        if rules is None:
            raise InvalidRequestError("unknown fare class", code="invalid_fare_class")
        return BaggageAllowance(
            fare_class=fare_class,
            cabin_bags=rules.cabin_bags,
            cabin_bag_max_kg=rules.cabin_bag_max_kg,
            checked_bags=rules.checked_bags,
            checked_bag_max_kg=rules.checked_bag_max_kg,
            extra_bag_price=rules.extra_bag_price,
            currency=CURRENCY,
        )

    def add_bags(self, booking_id: str, count: int = 1) -> AddBagResult:
        """Buy extra checked bags (at most 3 extra per booking)."""
        if not isinstance(count, int) or count < 1:
            raise InvalidRequestError("count must be at least 1", code="invalid_count")
        with self._tx(write=True) as conn:
            booking = self._active_booking_row(conn, booking_id)
            if booking["extra_bags"] + count > MAX_EXTRA_BAGS:
                raise InvalidRequestError("too many extra bags", code="bag_limit")
            conn.execute(
                "UPDATE bookings SET extra_bags = extra_bags + ? WHERE id = ?",
                (count, booking["id"]),
            )
        rules = FARES[booking["fare_class"]]
        return AddBagResult(
            bags_added=count,
            price_per_bag=rules.extra_bag_price,
            total_price=rules.extra_bag_price * count,
            currency=CURRENCY,
            checked_bags_total=rules.checked_bags + booking["extra_bags"] + count,
        )

    def report_baggage(
        self,
        booking_id: str,
        kind: BaggageIssue,
        *,
        segment_id: str | None = None,
        description: str = "",
    ) -> BaggageReport:
        """Open a baggage file for a segment (default: the last flown one, or the first
        segment when none has been flown yet)."""
        if kind not in ("delayed", "lost", "damaged"):
            raise InvalidRequestError("unknown baggage issue", code="invalid_kind")
        with self._tx(write=True) as conn:
            booking = self._booking_row(conn, booking_id)
            if segment_id is not None:
                segment = self._segment_row(conn, booking["id"], segment_id)
            else:
                segments = self._segment_rows(conn, booking["id"])
                if not segments:
                    raise NotFoundError()
                flown = [row for row in segments if self._departed(row)]
                segment = flown[-1] if flown else segments[0]
            report_pk = insert_row(
                conn,
                "INSERT INTO baggage_reports (booking_id, segment_id, kind, station,"
                " description, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (booking["id"], segment["segment_pk"], kind, segment["destination"],
                 description[:1000], self._clock().isoformat()),
            )
        return BaggageReport(
            file_reference=(
                f"{segment['destination']}{segment['flight_number'][:2]}{10000 + report_pk}"
            ),
            kind=kind,
            station=segment["destination"],
            flight_number=segment["flight_number"],
        )

    # -- refunds and cancellation ----------------------------------------

    def _eligibility(self, conn: sqlite3.Connection, booking: sqlite3.Row) -> RefundEligibility:
        fare = _money(booking["fare_cents"])
        zero = Decimal("0.00")

        def answer(eligible: bool, reason: str) -> RefundEligibility:
            return RefundEligibility.model_validate(
                {"eligible": eligible, "reason": reason, "amount": fare if eligible else zero,
                 "currency": booking["currency"]}
            )

        if booking["status"] == "refunded":
            return answer(False, "already_refunded")
        if booking["status"] == "cancelled":
            return answer(False, "booking_cancelled")
        segments = self._segment_rows(conn, booking["id"])
        upcoming = [row for row in segments if not self._departed(row)]
        if not upcoming:
            return answer(False, "flown")
        if any(row["cancelled"] for row in upcoming):
            return answer(True, "flight_cancelled")
        if any(row["delay_minutes"] >= REFUND_DELAY_MINUTES for row in upcoming):
            return answer(True, "long_delay")
        if FARES[booking["fare_class"]].refundable:
            return answer(True, "refundable_fare")
        return answer(False, "non_refundable_fare")

    def refund_eligibility(self, booking_id: str) -> RefundEligibility:
        """Say whether the booking can be refunded and how much."""
        with self._tx() as conn:
            return self._eligibility(conn, self._booking_row(conn, booking_id))

    def request_refund(self, booking_id: str) -> RefundResult:
        """Refund an eligible booking; raises NotEligibleError (code = reason) otherwise."""
        with self._tx(write=True) as conn:
            booking = self._booking_row(conn, booking_id)
            eligibility = self._eligibility(conn, booking)
            if not eligibility.eligible:
                raise NotEligibleError(code=eligibility.reason)
            refund_pk = insert_row(
                conn,
                "INSERT INTO refunds (booking_id, amount_cents, reason, created_at)"
                " VALUES (?, ?, ?, ?)",
                (booking["id"], booking["fare_cents"], eligibility.reason,
                 self._clock().isoformat()),
            )
            conn.execute("UPDATE bookings SET status = 'refunded' WHERE id = ?", (booking["id"],))
        return RefundResult(
            refund_reference=f"RF-{refund_pk:06d}",
            amount=eligibility.amount,
            currency=eligibility.currency,
            reason=eligibility.reason,
        )

    def cancel_booking(self, booking_id: str) -> CancellationResult:
        """Cancel the booking, refunding what the fare rules allow."""
        with self._tx(write=True) as conn:
            booking = self._active_booking_row(conn, booking_id)
            eligibility = self._eligibility(conn, booking)
            if eligibility.reason == "flown":
                raise InvalidRequestError("every flight has departed", code="segment_departed")
            refund = eligibility.amount if eligibility.eligible else Decimal("0.00")
            cancellation_pk = insert_row(
                conn,
                "INSERT INTO cancellations (booking_id, refund_cents, created_at)"
                " VALUES (?, ?, ?)",
                (booking["id"], int(refund / _CENT), self._clock().isoformat()),
            )
            conn.execute("UPDATE bookings SET status = 'cancelled' WHERE id = ?", (booking["id"],))
        return CancellationResult(
            cancellation_reference=f"CX-{cancellation_pk:06d}",
            refund_amount=refund,
            currency=eligibility.currency,
        )

    # -- check-in and extras ---------------------------------------------

    def check_in(self, booking_id: str, segment_id: str | None = None) -> CheckInResult:
        """Check in for a segment (default: the next one) and issue a boarding pass."""
        with self._tx(write=True) as conn:
            booking = self._active_booking_row(conn, booking_id)
            if segment_id is not None:
                segment = self._segment_row(conn, booking["id"], segment_id)
                self._require_upcoming(segment)
            else:
                upcoming = [
                    row for row in self._segment_rows(conn, booking["id"])
                    if not self._departed(row)
                ]
                if not upcoming:
                    raise InvalidRequestError("no upcoming flight", code="segment_departed")
                segment = upcoming[0]
            if segment["cancelled"]:
                raise InvalidRequestError("the flight is cancelled", code="flight_cancelled")
            international = segment["origin_country"] != segment["destination_country"]
            if international and booking["passport_number"] is None:
                raise TravelDocumentRequiredError()
            seat = segment["seat"]
            if seat is None:
                free = self._free_seats(conn, segment, booking["fare_class"] == "business")
                if not free:
                    raise SeatUnavailableError("no free seat", code="flight_full")
                seat = free[0]
            conn.execute(
                "UPDATE segments SET seat = ?, checked_in = 1 WHERE id = ?",
                (seat, segment["segment_pk"]),
            )
        flight = self._flight(segment)
        departure = flight.estimated_departure or flight.scheduled_departure
        boarding_pass = BoardingPass(
            segment_id=f"SG{segment['segment_pk']:06d}",
            flight_number=flight.flight_number,
            seat=seat,
            boarding_pass_reference=f"BP-{segment['segment_pk']:06d}-{flight.flight_number}",
            gate=flight.gate,
            boarding_time=departure - timedelta(minutes=BOARDING_BEFORE_MINUTES),
        )
        return CheckInResult(boarding_passes=(boarding_pass,))

    def request_special_assistance(
        self, booking_id: str, code: AssistanceCode, notes: str = ""
    ) -> AssistanceRequest:
        """Record a special-assistance request for all segments."""
        if code not in ASSISTANCE_DESCRIPTIONS:
            raise InvalidRequestError("unknown assistance code", code="invalid_assistance_code")
        with self._tx(write=True) as conn:
            booking = self._active_booking_row(conn, booking_id)
            conn.execute(
                "INSERT OR IGNORE INTO assistance (booking_id, code, notes) VALUES (?, ?, ?)",
                (booking["id"], code, notes[:500]),
            )
            row = conn.execute(
                "SELECT id FROM assistance WHERE booking_id = ? AND code = ?",
                (booking["id"], code),
            ).fetchone()
        return AssistanceRequest(
            request_reference=f"SSR-{row['id']:05d}",
            code=code,
            description=ASSISTANCE_DESCRIPTIONS[code],
        )

    def request_meal(self, booking_id: str, code: MealCode) -> MealRequestResult:
        """Record a special meal for all segments."""
        if code not in MEAL_DESCRIPTIONS:
            raise InvalidRequestError("unknown meal code", code="invalid_meal_code")
        with self._tx(write=True) as conn:
            booking = self._active_booking_row(conn, booking_id)
            conn.execute("UPDATE bookings SET meal = ? WHERE id = ?", (code, booking["id"]))
        return MealRequestResult(code=code, description=MEAL_DESCRIPTIONS[code])

    def update_passport(
        self, booking_id: str, number: str, nationality: str, expiry: date
    ) -> PassportUpdateResult:
        """Store passport details (advance passenger information); returns a confirmation."""
        compact = re.sub(r"\s", "", str(number)).upper()
        country = str(nationality).strip().upper()
        if not _PASSPORT.match(compact):
            raise InvalidRequestError("not a passport number", code="invalid_passport_number")
        if not _NATIONALITY.match(country):
            raise InvalidRequestError(
                "nationality must be a country code", code="invalid_nationality"
            )
        if expiry <= self._clock().date():
            raise InvalidRequestError("the passport has expired", code="passport_expired")
        with self._tx(write=True) as conn:
            booking = self._active_booking_row(conn, booking_id)
            segments = self._segment_rows(conn, booking["id"])
            last_flight = max(
                (date.fromisoformat(row["flight_date"]) for row in segments), default=None
            )
            if last_flight is not None and expiry <= last_flight:
                raise InvalidRequestError(
                    "the passport expires before the trip ends",
                    code="passport_expires_before_travel",
                )
            conn.execute(
                "UPDATE bookings SET passport_number = ?, passport_country = ?,"
                " passport_expiry = ? WHERE id = ?",
                (compact, country, expiry.isoformat(), booking["id"]),
            )
        return PassportUpdateResult(booking_id=booking_id, passport_on_file=True)

    def frequent_flyer_balance(self, booking_id: str) -> LoyaltyBalance | None:
        """Return the passenger's loyalty balance, or None when not a member."""
        with self._tx() as conn:
            booking = self._booking_row(conn, booking_id)
            if booking["member_id"] is None:
                return None
            row = conn.execute(
                "SELECT * FROM members WHERE id = ?", (booking["member_id"],)
            ).fetchone()
        return LoyaltyBalance(
            tier=row["tier"],
            miles=row["miles"],
            miles_expiring=row["miles_expiring"],
            expiring_on=date.fromisoformat(row["expiring_on"]) if row["expiring_on"] else None,
        )
