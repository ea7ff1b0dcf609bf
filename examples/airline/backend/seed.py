"""Deterministic synthetic seed data for the demo reservations system.

Every passenger, booking reference, passport and member number here is made
up. Flights run daily from three days before ``anchor`` (the day the
database was created) to three weeks after it, so the demo stays current.

Demo booking: reference X7K9QP, last name Nguyen (Linh Nguyen), standard fare,
NW214 London Heathrow -> New York JFK tomorrow, seat 14C, delayed by 3 h 20 min
(so rebooking is free and a refund is allowed; today's NW214 is delayed too),
returning on NW215; no
passport on file yet; gold frequent flyer.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .schema import insert_row

DEMO_REFERENCE = "X7K9QP"
DEMO_LAST_NAME = "Nguyen"
FIRST_DAY, LAST_DAY = -3, 21  # flights exist for anchor + FIRST_DAY .. anchor + LAST_DAY

AIRPORTS: tuple[tuple[str, str, str], ...] = (
    ("LHR", "London Heathrow", "GB"),
    ("JFK", "New York JFK", "US"),
    ("CDG", "Paris Charles de Gaulle", "FR"),
    ("DUB", "Dublin", "IE"),
    ("FRA", "Frankfurt", "DE"),
    ("LAX", "Los Angeles", "US"),
    ("MIA", "Miami", "US"),
)

# flight number, origin, destination, departs, arrives, arrival day offset, aircraft
SCHEDULE: tuple[tuple[str, str, str, str, str, int, str], ...] = (
    ("NW214", "LHR", "JFK", "11:30", "14:35", 0, "787"),
    ("NW218", "LHR", "JFK", "17:45", "20:50", 0, "787"),
    ("NW215", "JFK", "LHR", "19:00", "07:10", 1, "787"),
    ("NW219", "JFK", "LHR", "22:30", "10:40", 1, "787"),
    ("NW301", "LHR", "CDG", "08:10", "10:25", 0, "A320"),
    ("NW305", "LHR", "CDG", "15:40", "17:55", 0, "A320"),
    ("NW302", "CDG", "LHR", "11:20", "11:35", 0, "A320"),
    ("NW306", "CDG", "LHR", "19:00", "19:15", 0, "A320"),
    ("NW410", "LHR", "DUB", "09:00", "10:20", 0, "A320"),
    ("NW411", "DUB", "LHR", "11:10", "12:30", 0, "A320"),
    ("NW520", "LHR", "FRA", "07:30", "10:05", 0, "A320"),
    ("NW521", "FRA", "LHR", "11:00", "11:40", 0, "A320"),
    ("NW770", "JFK", "LAX", "08:00", "11:15", 0, "A320"),
    ("NW771", "LAX", "JFK", "13:00", "21:25", 0, "A320"),
    ("NW880", "JFK", "MIA", "10:00", "13:05", 0, "A320"),
    ("NW881", "MIA", "JFK", "15:00", "18:05", 0, "A320"),
)

# (flight number, day offset) -> (delay minutes, cancelled, gate)
DISRUPTIONS: dict[tuple[str, int], tuple[int, bool, str | None]] = {
    ("NW214", 0): (200, False, "B32"),
    ("NW214", 1): (200, False, "B32"),
    ("NW305", 1): (0, True, None),
    ("NW770", 2): (45, False, "22"),
}

# number, tier, miles, miles expiring, expiring in days
MEMBERS: tuple[tuple[str, str, int, int, int | None], ...] = (
    ("NW480215733", "gold", 48250, 5000, 60),
    ("NW310947262", "silver", 21400, 0, None),
    ("NW775120384", "blue", 3120, 3120, 25),
    ("NW902615548", "platinum", 212900, 0, None),
)


@dataclass(frozen=True)
class _Booking:
    reference: str
    first_name: str
    last_name: str
    date_of_birth: date
    fare_class: str
    fare_cents: int
    segments: tuple[tuple[str, int, str], ...]  # flight number, day offset, seat
    member: str | None = None
    passport: tuple[str, str, date] | None = None  # number, nationality, expiry
    extra_bags: int = 0
    meal: str | None = None
    whatsapp: str | None = None  # disruption notices (notifications.yaml)


BOOKINGS: tuple[_Booking, ...] = (
    _Booking(DEMO_REFERENCE, "Linh", DEMO_LAST_NAME, date(1991, 6, 24), "standard", 61240,
             (("NW214", 1, "14C"), ("NW215", 8, "22H")), member="NW480215733",
             whatsapp="+44 7700 900214"),
    _Booking("QK4Z7M", "Siobhan", "O'Neil", date(1983, 10, 2), "flex", 124500,
             (("NW214", 1, "14A"), ("NW219", 6, "30K")), member="NW310947262",
             passport=("P4471920", "IRL", date(2031, 5, 4)), whatsapp="+44 7700 900142"),
    _Booking("B3R8TW", "Priya", "Smith-Jones", date(1990, 11, 5), "basic", 9800,
             (("NW305", 1, "21C"), ("NW302", 4, "21C")), whatsapp="+44 7700 900305"),
    _Booking("M2N6PD", "Marco", "D'Angelo", date(1975, 7, 3), "business", 148000,
             (("NW770", 2, "2A"),), meal="VLML", whatsapp="+1 212 555 0177"),
    _Booking("H5J9LC", "Zoë", "Müller-Brandt", date(1968, 1, 30), "standard", 15630,
             (("NW520", 3, "12F"),), passport=("C01X00T47", "DEU", date(2029, 8, 31))),
    _Booking("T8V2KE", "Oluwaseun", "Adeyemi", date(1995, 5, 21), "standard", 13490,
             (("NW410", 1, "9D"), ("NW411", 2, "9D")), member="NW775120384"),
    _Booking("W4Y7GF", "Grace", "Okafor", date(1988, 9, 14), "flex", 38900,
             (("NW880", 6, "5C"),), extra_bags=1),
    _Booking("C6D3SA", "Seán", "MacDonald", date(1979, 12, 2), "basic", 41200,
             (("NW218", 1, "40K"),), whatsapp="+44 7700 900218"),
    _Booking("R9P5XU", "Hannah", "Kowalski", date(2001, 4, 18), "standard", 17750,
             (("NW301", -2, "17A"), ("NW302", 5, "17A")),
             passport=("EK2093318", "POL", date(2030, 1, 15))),
    _Booking("F7G2HN", "Tomás", "García", date(1962, 8, 27), "business", 210400,
             (("NW771", 8, "1A"),), member="NW902615548"),
)


def synthetic_taken(flight_number: str, seat: str) -> bool:
    """Return True if a (fictional) passenger outside the demo data holds this seat.

    About 60% of seats are taken, the same ones on every date, so a seat map
    looks busy without storing thousands of rows. Seats held by seeded
    bookings are never synthetic.
    """
    if (flight_number, seat) in _SEEDED_SEATS:
        return False
    digest = hashlib.sha256(f"{flight_number}/{seat}".encode()).digest()
    return digest[0] < 154


_SEEDED_SEATS = {
    (number, seat) for booking in BOOKINGS for number, _offset, seat in booking.segments
}


def _gate(flight_number: str, day: date) -> str:
    digest = hashlib.sha256(f"{flight_number}/{day.isoformat()}".encode()).digest()
    return f"{'ABC'[digest[0] % 3]}{digest[1] % 40 + 1}"


def seed(conn: sqlite3.Connection, anchor: date) -> None:
    """Insert the synthetic data; the caller owns the transaction."""
    conn.executemany("INSERT INTO airports VALUES (?, ?, ?)", AIRPORTS)
    flight_ids: dict[tuple[str, int], int] = {}
    for offset in range(FIRST_DAY, LAST_DAY + 1):
        day = anchor + timedelta(days=offset)
        for number, origin, dest, departs, arrives, arrival_days, aircraft in SCHEDULE:
            delay, cancelled, gate = DISRUPTIONS.get((number, offset), (0, False, None))
            departure = datetime.combine(day, time.fromisoformat(departs))
            arrival = datetime.combine(
                day + timedelta(days=arrival_days), time.fromisoformat(arrives)
            )
            flight_ids[(number, offset)] = insert_row(
                conn,
                "INSERT INTO flights (flight_number, flight_date, origin, destination,"
                " scheduled_departure, scheduled_arrival, delay_minutes, cancelled, gate,"
                " aircraft) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (number, day.isoformat(), origin, dest, departure.isoformat(),
                 arrival.isoformat(), delay, int(cancelled),
                 None if cancelled else gate or _gate(number, day), aircraft),
            )
    member_ids: dict[str, int] = {}
    for number, tier, miles, expiring, expiring_in in MEMBERS:
        expiring_on = None if expiring_in is None else anchor + timedelta(days=expiring_in)
        member_ids[number] = insert_row(
            conn,
            "INSERT INTO members (number, tier, miles, miles_expiring, expiring_on)"
            " VALUES (?, ?, ?, ?, ?)",
            (number, tier, miles, expiring, expiring_on.isoformat() if expiring_on else None),
        )
    for booking in BOOKINGS:
        passport = booking.passport
        booking_id = insert_row(
            conn,
            "INSERT INTO bookings (reference, first_name, last_name, date_of_birth, fare_class,"
            " fare_cents, extra_bags, meal, member_id, passport_number, passport_country,"
            " passport_expiry, whatsapp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (booking.reference, booking.first_name, booking.last_name,
             booking.date_of_birth.isoformat(), booking.fare_class, booking.fare_cents,
             booking.extra_bags, booking.meal,
             member_ids[booking.member] if booking.member else None,
             passport[0] if passport else None, passport[1] if passport else None,
             passport[2].isoformat() if passport else None, booking.whatsapp),
        )
        for position, (number, offset, seat) in enumerate(booking.segments):
            conn.execute(
                "INSERT INTO segments (booking_id, position, flight_id, seat)"
                " VALUES (?, ?, ?, ?)",
                (booking_id, position, flight_ids[(number, offset)], seat),
            )
