"""SQLite schema of the demo reservations system.

Money is stored as integer cents, dates and local times as ISO-8601 text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

SCHEMA_VERSION = "2"  # 2: bookings.whatsapp (disruption notices)

DDL = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE airports (
    code    TEXT PRIMARY KEY,
    city    TEXT NOT NULL,
    country TEXT NOT NULL
);
CREATE TABLE flights (
    id                  INTEGER PRIMARY KEY,
    flight_number       TEXT NOT NULL,
    flight_date         TEXT NOT NULL,
    origin              TEXT NOT NULL REFERENCES airports(code),
    destination         TEXT NOT NULL REFERENCES airports(code),
    scheduled_departure TEXT NOT NULL,
    scheduled_arrival   TEXT NOT NULL,
    delay_minutes       INTEGER NOT NULL DEFAULT 0,
    cancelled           INTEGER NOT NULL DEFAULT 0,
    gate                TEXT,
    aircraft            TEXT NOT NULL,
    UNIQUE (flight_number, flight_date)
);
CREATE TABLE members (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,
    tier           TEXT NOT NULL,
    miles          INTEGER NOT NULL,
    miles_expiring INTEGER NOT NULL,
    expiring_on    TEXT
);
CREATE TABLE bookings (
    id                  INTEGER PRIMARY KEY,
    reference           TEXT NOT NULL UNIQUE,
    first_name          TEXT NOT NULL,
    last_name           TEXT NOT NULL,
    date_of_birth       TEXT NOT NULL,
    fare_class          TEXT NOT NULL
                        CHECK (fare_class IN ('basic', 'standard', 'flex', 'business')),
    fare_cents          INTEGER NOT NULL,
    currency            TEXT NOT NULL DEFAULT 'USD',
    status              TEXT NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'cancelled', 'refunded')),
    extra_bags          INTEGER NOT NULL DEFAULT 0,
    meal                TEXT,
    member_id           INTEGER REFERENCES members(id),
    passport_number     TEXT,
    passport_country    TEXT,
    passport_expiry     TEXT,
    -- where disruption notices go (the customer's WhatsApp number, E.164)
    whatsapp            TEXT
);
CREATE TABLE segments (
    id             INTEGER PRIMARY KEY,
    booking_id     INTEGER NOT NULL REFERENCES bookings(id),
    position       INTEGER NOT NULL,
    flight_id      INTEGER NOT NULL REFERENCES flights(id),
    seat           TEXT,
    checked_in     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX segments_flight ON segments(flight_id);
CREATE TABLE assistance (
    id         INTEGER PRIMARY KEY,
    booking_id INTEGER NOT NULL REFERENCES bookings(id),
    code       TEXT NOT NULL,
    notes      TEXT NOT NULL DEFAULT '',
    UNIQUE (booking_id, code)
);
CREATE TABLE baggage_reports (
    id         INTEGER PRIMARY KEY,
    booking_id INTEGER NOT NULL REFERENCES bookings(id),
    segment_id INTEGER NOT NULL REFERENCES segments(id),
    kind       TEXT NOT NULL,
    station    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE TABLE refunds (
    id           INTEGER PRIMARY KEY,
    booking_id   INTEGER NOT NULL REFERENCES bookings(id),
    amount_cents INTEGER NOT NULL,
    reason       TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE cancellations (
    id           INTEGER PRIMARY KEY,
    booking_id   INTEGER NOT NULL REFERENCES bookings(id),
    refund_cents INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
"""


def insert_row(conn: sqlite3.Connection, sql: str, params: Sequence[object]) -> int:
    """Run an INSERT and return the new row id."""
    rowid = conn.execute(sql, params).lastrowid
    if rowid is None:
        raise sqlite3.DatabaseError("INSERT returned no row id")
    return rowid
