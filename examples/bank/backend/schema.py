"""SQLite schema of the demo core-banking system.

Money is stored as integer cents, dates and times as ISO-8601 text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

SCHEMA_VERSION = "1"

DDL = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE customers (
    id            INTEGER PRIMARY KEY,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    address       TEXT NOT NULL,
    phone         TEXT NOT NULL,
    email         TEXT NOT NULL
);
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    account_type  TEXT NOT NULL CHECK (account_type IN ('checking', 'savings')),
    nickname      TEXT NOT NULL,
    number        TEXT NOT NULL UNIQUE,
    balance_cents INTEGER NOT NULL,
    currency      TEXT NOT NULL DEFAULT 'USD'
);
CREATE TABLE cards (
    id              INTEGER PRIMARY KEY,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    account_id      INTEGER REFERENCES accounts(id),
    kind            TEXT NOT NULL CHECK (kind IN ('debit', 'credit')),
    pan             TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL
                    CHECK (status IN ('active', 'frozen', 'lost', 'inactive', 'closed')),
    expires_on      TEXT NOT NULL,
    delivery_status TEXT CHECK (delivery_status IN ('ordered', 'dispatched', 'delivered')),
    delivery_eta    TEXT,
    replaces_card   INTEGER REFERENCES cards(id)
);
CREATE TABLE transactions (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    card_id      INTEGER REFERENCES cards(id),
    posted_on    TEXT NOT NULL,
    merchant     TEXT NOT NULL,
    amount_cents INTEGER NOT NULL
);
CREATE INDEX transactions_account ON transactions(account_id, posted_on);
CREATE TABLE cases (
    id             INTEGER PRIMARY KEY,
    customer_id    INTEGER NOT NULL REFERENCES customers(id),
    kind           TEXT NOT NULL CHECK (kind IN ('dispute', 'fraud')),
    transaction_id INTEGER REFERENCES transactions(id),
    alert_id       INTEGER REFERENCES fraud_alerts(id),
    reason         TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'open',
    opened_on      TEXT NOT NULL
);
CREATE TABLE fraud_alerts (
    id           INTEGER PRIMARY KEY,
    card_id      INTEGER NOT NULL REFERENCES cards(id),
    merchant     TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency     TEXT NOT NULL DEFAULT 'USD',
    occurred_at  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'denied'))
);
CREATE TABLE transfers (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    from_account INTEGER NOT NULL REFERENCES accounts(id),
    to_account   INTEGER NOT NULL REFERENCES accounts(id),
    amount_cents INTEGER NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE TABLE branches (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    address        TEXT NOT NULL,
    weekday_hours  TEXT NOT NULL,
    saturday_hours TEXT NOT NULL,
    sunday_hours   TEXT NOT NULL,
    atm_hours      TEXT NOT NULL
);
CREATE TABLE fees_and_rates (
    code        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('fee', 'rate')),
    value       TEXT NOT NULL,
    unit        TEXT NOT NULL,
    notes       TEXT NOT NULL DEFAULT '',
    position    INTEGER NOT NULL
);
"""


def insert_row(conn: sqlite3.Connection, sql: str, params: Sequence[object]) -> int:
    """Run an INSERT and return the new row id."""
    rowid = conn.execute(sql, params).lastrowid
    if rowid is None:
        raise sqlite3.DatabaseError("INSERT returned no row id")
    return rowid
