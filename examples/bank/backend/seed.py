"""Deterministic synthetic seed data for the demo core-banking system.

Every person, card number and address here is made up. Card numbers are
Luhn-valid numbers in the Visa test range (the demo customer's debit card is
the well-known test number 4242 4242 4242 4242), so they pass the redactor's
checksum but can never be charged.

Dates are relative to ``anchor`` (the day the database was created), so
"recent" transactions stay recent and delivery dates lie ahead.

Demo customer: Mary-Jane O'Neil, date of birth 1984-03-12, debit card ending
4242 and credit card 4111 1111 1111 1111 (either card's last four verifies
her). She has a pending fraud alert on the debit card and a replacement for
the expiring credit card (ending 7714) on its way. Her data matches
``examples/bank/demo_conversation.txt`` (a $45.20 Starbucks charge yesterday).
"""

from __future__ import annotations

import sqlite3
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from .schema import insert_row

DEMO_DATE_OF_BIRTH = date(1984, 3, 12)
DEMO_CARD_LAST_FOUR = "4242"


def luhn_valid(number: str) -> bool:
    """Return True if the digit string passes the Luhn checksum."""
    if not number.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def make_pan(prefix: str, filler: int, last_four: str, length: int = 16) -> str:
    """Build a Luhn-valid card number with the given prefix and last four digits.

    ``filler`` seeds the middle digits; one middle digit is then chosen so the
    checksum holds (exactly one of 0-9 does, whichever position it is in).
    """
    middle_len = length - len(prefix) - len(last_four)
    middle = list(str(filler).zfill(middle_len)[-middle_len:])
    for candidate in "0123456789":
        middle[-1] = candidate
        pan = prefix + "".join(middle) + last_four
        if luhn_valid(pan):
            return pan
    raise ValueError("no Luhn digit found")  # unreachable: one digit always fits


def end_of_month(year: int, month: int) -> date:
    """Return the last day of the month (card expiry dates are month ends)."""
    return date(year, month, monthrange(year, month)[1])


@dataclass(frozen=True)
class _Card:
    kind: str
    pan: str
    status: str = "active"
    expires_in_months: int = 36
    delivery: tuple[str, int] | None = None  # (status, eta in days from anchor)
    replaces_last_four: str | None = None


@dataclass(frozen=True)
class _Customer:
    first_name: str
    last_name: str
    date_of_birth: date
    address: str
    phone: str
    email: str
    checking_cents: int
    savings_cents: int | None
    cards: tuple[_Card, ...]
    # (days ago, merchant, cents, card last four or None); on the checking account
    transactions: tuple[tuple[int, str, int, str | None], ...] = field(default=())
    # (merchant, cents, minutes before anchor midnight, status, card last four)
    alerts: tuple[tuple[str, int, int, str, str], ...] = field(default=())


_DEMO_TRANSACTIONS: tuple[tuple[int, str, int, str | None], ...] = (
    (1, "Starbucks", -4520, "1111"),
    (1, "Blue Bottle Coffee", -675, "4242"),
    (2, "Whole Foods Market", -8234, "4242"),
    (3, "Netflix", -1549, "1111"),
    (4, "Payroll - Acme Logistics", 315000, None),
    (5, "Uber", -2310, "4242"),
    (6, "Amazon", -8999, "1111"),
    (8, "Con Edison", -11240, None),
    (10, "Harbour Properties rent", -165000, None),
    (12, "Shell", -3800, "4242"),
    (13, "Trader Joe's", -5412, "4242"),
)

CUSTOMERS: tuple[_Customer, ...] = (
    _Customer(
        "Mary-Jane", "O'Neil", DEMO_DATE_OF_BIRTH,
        "41 Harbour Lane, Portsmouth, NH 03801", "+1 603 555 0142", "maryjane.oneil@example.com",
        245017, 1032000,
        (
            _Card("debit", "4242424242424242"),
            _Card("credit", "4111111111111111", expires_in_months=1),
            _Card("credit", make_pan("400005", 12, "7714"), status="inactive",
                  delivery=("dispatched", 2), replaces_last_four="1111"),
        ),
        _DEMO_TRANSACTIONS,
        (("ElectroMart Online", 89900, 13, "pending", "4242"),),
    ),
    _Customer(
        "Priya", "Smith-Jones", date(1990, 11, 5),
        "7 Kestrel Court, Springfield, IL 62704", "+1 217 555 0188", "priya.sj@example.org",
        31255, 100000,
        (_Card("debit", make_pan("400000", 21, "0005"), status="frozen"),),
        ((1, "Starbucks", -495, "0005"), (3, "CVS Pharmacy", -2318, "0005")),
    ),
    _Customer(
        "Marco", "D'Angelo", date(1975, 7, 3),
        "1120 Vine Street, Cincinnati, OH 45202", "+1 513 555 0107", "marco.dangelo@example.net",
        4000, 0,
        (_Card("debit", make_pan("400000", 31, "5100")),),
        ((2, "Kroger", -6120, "5100"), (6, "Verizon Wireless", -7500, None)),
    ),
    _Customer(
        "Zoë", "Müller-Brandt", date(1968, 1, 30),
        "55 Lakeshore Drive, Madison, WI 53703", "+1 608 555 0163", "zoe.mb@example.com",
        882140, 2500000,
        (
            _Card("debit", make_pan("400000", 41, "3310"), status="lost"),
            _Card("debit", make_pan("400000", 42, "6048"), status="inactive",
                  delivery=("ordered", 5), replaces_last_four="3310"),
        ),
        ((3, "Costco", -21467, "3310"),),
    ),
    _Customer(
        "Oluwaseun", "Adeyemi", date(1995, 5, 21),
        "302 Peachtree Street NE, Atlanta, GA 30308", "+1 404 555 0129", "seun.adeyemi@example.org",
        127500, 560000,
        (_Card("debit", make_pan("400000", 51, "2718")),
         _Card("credit", make_pan("400005", 52, "9035"))),
        ((1, "Chipotle", -1385, "2718"), (2, "Delta Air Lines", -41230, "9035")),
    ),
    _Customer(
        "Grace", "Okafor", date(1988, 9, 14),
        "19 Willow Bend, Austin, TX 78704", "+1 512 555 0175", "grace.okafor@example.com",
        64210, 1200000,
        (_Card("debit", make_pan("400000", 61, "8821")),),
        ((2, "H-E-B", -9811, "8821"),),
        (("Gadget Hub", 12999, 600, "confirmed", "8821"),),
    ),
    _Customer(
        "Seán", "MacDonald", date(1979, 12, 2),
        "88 Beacon Street, Boston, MA 02108", "+1 617 555 0193", "sean.macdonald@example.net",
        219903, None,
        (_Card("debit", make_pan("400000", 71, "4410")),),
        ((4, "Dunkin'", -389, "4410"),),
    ),
    _Customer(
        "Hannah", "Kowalski", date(2001, 4, 18),
        "14 Elm Street, Springfield, IL 62701", "+1 217 555 0150", "hannah.k@example.org",
        18044, 35000,
        (_Card("debit", make_pan("400000", 81, "1357")),),
        ((1, "Spotify", -1199, "1357"),),
        (("QuickFlights", 21999, 300, "pending", "1357"),),
    ),
    _Customer(
        "Tomás", "García", date(1962, 8, 27),
        "2400 Mission Street, San Francisco, CA 94110", "+1 415 555 0116",
        "tomas.garcia@example.com",
        540022, 9100000,
        (_Card("debit", make_pan("400000", 91, "8642")),
         _Card("credit", make_pan("400005", 92, "2468"), status="frozen")),
        ((2, "Safeway", -7733, "8642"),),
        (("Northwind Outlet", 6450, 45, "pending", "8642"),),
    ),
    _Customer(
        "Lan", "Nguyen", date(1993, 2, 9),
        "610 Pike Street, Seattle, WA 98101", "+1 206 555 0171", "lan.nguyen@example.net",
        75000, 150000,
        (_Card("debit", make_pan("400000", 101, "9753")),),
        ((1, "Pike Place Market", -2450, "9753"),),
        # More pending alerts (Lan, Hannah, Tomás), so that every way of answering one can be
        # tried in one run without resetting the demo database.
        (("Sunset Electronics", 45000, 95, "pending", "9753"),),
    ),
    # Two more pending alerts, answered from the fraud_alert notification (tests/10_notifications.yml).
    _Customer(
        "Noor", "Haddad", date(1986, 3, 17),
        "9 Orchard Row, Burlington, VT 05401", "+1 802 555 0134", "noor.haddad@example.org",
        52310, 200000,
        (_Card("debit", make_pan("400000", 111, "5521")),),
        ((1, "Trader Joe's", -3412, "5521"),),
        (("Skyline Tickets", 31250, 20, "pending", "5521"),),
    ),
    _Customer(
        "Ines", "Duarte", date(1999, 10, 8),
        "27 Canal Street, Providence, RI 02903", "+1 401 555 0168", "ines.duarte@example.net",
        9120, 50000,
        (_Card("debit", make_pan("400000", 121, "7036")),),
        ((3, "Walgreens", -1589, "7036"),),
        (("Coastal Fuel", 8740, 35, "pending", "7036"),),
    ),
    # A pending alert answered after the card was reported lost (tests/11_misfires.yml).
    _Customer(
        "Rafael", "Ortiz", date(1981, 6, 30),
        "88 Elm Street, Hartford, CT 06103", "+1 860 555 0193", "rafael.ortiz@example.org",
        183450, 420000,
        (_Card("debit", make_pan("400000", 131, "6315")),),
        ((1, "Dunkin'", -489, "6315"),),
        (("Metro Gadgets", 12999, 50, "pending", "6315"),),
    ),
)

BRANCHES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("Main Street", "100 Main Street, Springfield, IL 62701",
     "09:00-17:00", "09:00-13:00", "closed", "24 hours"),
    ("Riverside", "8 River Road, Springfield, IL 62702",
     "09:30-16:30", "closed", "closed", "06:00-24:00"),
    ("Oak Avenue", "250 Oak Avenue, Springfield, IL 62704",
     "08:30-18:00", "10:00-14:00", "closed", "24 hours"),
    ("Downtown", "1 Market Plaza, Springfield, IL 62701",
     "08:00-18:00", "09:00-15:00", "11:00-15:00", "24 hours"),
)

FEES_AND_RATES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("checking_monthly_fee", "Everyday Checking monthly fee", "fee", "5.00", "USD",
     "Waived with a $500 minimum daily balance or a monthly direct deposit."),
    ("overdraft_fee", "Overdraft fee", "fee", "25.00", "USD", "At most one per day."),
    ("out_of_network_atm_fee", "Withdrawal at another bank's ATM", "fee", "2.50", "USD",
     "The ATM owner may charge its own fee as well."),
    ("foreign_transaction_fee", "Card payments and withdrawals in a foreign currency", "fee",
     "3.00", "%", "Percent of the converted amount."),
    ("domestic_wire_fee", "Outgoing domestic wire", "fee", "20.00", "USD", ""),
    ("international_wire_fee", "Outgoing international wire", "fee", "35.00", "USD", ""),
    ("replacement_card_fee", "Replacement card, standard delivery", "fee", "0.00", "USD",
     "Free; expedited delivery is $15.00."),
    ("late_payment_fee", "Credit card late payment", "fee", "29.00", "USD", ""),
    ("savings_rate", "Rainy Day Savings interest", "rate", "4.10", "% APY",
     "Variable; paid monthly."),
    ("checking_rate", "Everyday Checking interest", "rate", "0.01", "% APY", ""),
    ("purchase_apr", "Credit card purchases", "rate", "21.99", "% APR", "Variable."),
    ("cash_advance_apr", "Credit card cash advances", "rate", "27.49", "% APR", "Variable."),
)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return end_of_month(index // 12, index % 12 + 1)


def seed(conn: sqlite3.Connection, anchor: date) -> None:
    """Insert the synthetic data; the caller owns the transaction."""
    for position, (code, description, kind, value, unit, notes) in enumerate(FEES_AND_RATES):
        conn.execute(
            "INSERT INTO fees_and_rates VALUES (?, ?, ?, ?, ?, ?, ?)",
            (code, description, kind, value, unit, notes, position),
        )
    conn.executemany(
        "INSERT INTO branches (name, address, weekday_hours, saturday_hours, sunday_hours,"
        " atm_hours) VALUES (?, ?, ?, ?, ?, ?)",
        BRANCHES,
    )
    for number, person in enumerate(CUSTOMERS, start=1):
        _seed_customer(conn, anchor, number, person)


def _seed_customer(conn: sqlite3.Connection, anchor: date, number: int, person: _Customer) -> None:
    customer_id = insert_row(
        conn,
        "INSERT INTO customers (first_name, last_name, date_of_birth, address, phone, email)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (person.first_name, person.last_name, person.date_of_birth.isoformat(),
         person.address, person.phone, person.email),
    )
    checking_id = insert_row(
        conn,
        "INSERT INTO accounts (customer_id, account_type, nickname, number, balance_cents)"
        " VALUES (?, 'checking', 'Everyday Checking', ?, ?)",
        (customer_id, f"10{number:04d}{number * 3571 % 10000:04d}", person.checking_cents),
    )
    if person.savings_cents is not None:
        conn.execute(
            "INSERT INTO accounts (customer_id, account_type, nickname, number, balance_cents)"
            " VALUES (?, 'savings', 'Rainy Day Savings', ?, ?)",
            (customer_id, f"20{number:04d}{number * 5821 % 10000:04d}", person.savings_cents),
        )
    card_ids: dict[str, int] = {}
    for card in person.cards:
        delivery_status, eta = (None, None)
        if card.delivery is not None:
            delivery_status = card.delivery[0]
            eta = (anchor + timedelta(days=card.delivery[1])).isoformat()
        card_id = insert_row(
            conn,
            "INSERT INTO cards (customer_id, account_id, kind, pan, status, expires_on,"
            " delivery_status, delivery_eta, replaces_card) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (customer_id, checking_id if card.kind == "debit" else None, card.kind, card.pan,
             card.status, _add_months(anchor, card.expires_in_months).isoformat(),
             delivery_status, eta,
             card_ids.get(card.replaces_last_four) if card.replaces_last_four else None),
        )
        card_ids[card.pan[-4:]] = card_id
    for days_ago, merchant, cents, last_four in person.transactions:
        conn.execute(
            "INSERT INTO transactions (account_id, card_id, posted_on, merchant, amount_cents)"
            " VALUES (?, ?, ?, ?, ?)",
            (checking_id, card_ids.get(last_four) if last_four else None,
             (anchor - timedelta(days=days_ago)).isoformat(), merchant, cents),
        )
    midnight = datetime.combine(anchor, time.min)
    for merchant, cents, minutes_before, status, last_four in person.alerts:
        conn.execute(
            "INSERT INTO fraud_alerts (card_id, merchant, amount_cents, occurred_at, status)"
            " VALUES (?, ?, ?, ?, ?)",
            (card_ids[last_four], merchant, cents,
             (midnight - timedelta(minutes=minutes_before)).isoformat(), status),
        )
