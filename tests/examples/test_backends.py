"""Tests for the example bots' demo back ends and their NLU training data.

The back ends live in the bot directories (examples/*/backend/), which are not
installed packages, so they are imported by file path.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import sqlite3
import sys
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pydantic
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BANKING77_TRAIN = Path("/work/shared/data/banking77/train.csv")
NOW = datetime(2025, 6, 10, 9, 30)
TODAY = NOW.date()


def load_backend(bot: str) -> ModuleType:
    """Import ``examples/<bot>/backend`` as a package named ``<bot>_demo_backend``."""
    name = f"{bot}_demo_backend"
    if name in sys.modules:
        return sys.modules[name]
    package_dir = EXAMPLES / bot / "backend"
    spec = importlib.util.spec_from_file_location(
        name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


bankmod = load_backend("bank")
airmod = load_backend("airline")


def fixed_clock() -> datetime:
    return NOW


def rows(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# --------------------------------------------------------------------------- bank


@pytest.fixture
def bank_path(tmp_path: Path) -> Path:
    return tmp_path / "bank.sqlite3"


@pytest.fixture
def bank(bank_path: Path) -> Any:
    return bankmod.open_backend(bank_path, clock=fixed_clock)


@pytest.fixture
def demo(bank: Any) -> str:
    customer_id = bank.verify_customer(date(1984, 3, 12), "4242")
    assert customer_id is not None
    return customer_id


def test_bank_satisfies_protocol(bank: Any) -> None:
    assert isinstance(bank, bankmod.CoreBanking)


def test_bank_default_path_is_inside_the_bot_backend_dir() -> None:
    assert bankmod.DEFAULT_PATH == EXAMPLES / "bank" / "backend" / "demo.sqlite3"


def test_bank_verification(bank: Any, demo: str) -> None:
    assert bank.get_customer(demo).last_name == "O'Neil"
    assert bank.verify_customer(date(1984, 3, 12), "1111") == demo  # her credit card
    assert bank.verify_customer(date(1984, 3, 12), " 4242 ") == demo
    assert bank.verify_customer(date(1984, 3, 13), "4242") is None
    assert bank.verify_customer(date(1984, 3, 12), "0005") is None  # someone else's card
    assert bank.verify_customer(date(1984, 3, 12), "42") is None
    assert bank.verify_customer(date(1984, 3, 12), "abcd") is None
    assert bank.verify_customer(date(1990, 11, 5), "0005") not in (None, demo)


def test_bank_card_numbers_are_luhn_valid(bank: Any, bank_path: Path, demo: str) -> None:
    card = bank.find_card(demo, "4242")
    bank.report_lost_card(demo, card.card_id)  # creates a new number too
    luhn_valid = sys.modules["bank_demo_backend.seed"].luhn_valid
    pans = [pan for (pan,) in rows(bank_path, "SELECT pan FROM cards")]
    assert len(pans) >= 10
    for pan in pans:
        assert luhn_valid(pan)
        assert pan.startswith("4")
    assert not luhn_valid("4242424242424241")


def test_bank_unknown_ids_are_not_found(bank: Any, demo: str) -> None:
    for call in (
        lambda: bank.get_customer("C99999"),
        lambda: bank.list_accounts("nonsense"),
        lambda: bank.freeze_card(demo, "K99999"),
        lambda: bank.recent_transactions(demo, account_id="A99999"),
    ):
        with pytest.raises(bankmod.NotFoundError):
            call()


def test_bank_accounts_and_balances(bank: Any, demo: str) -> None:
    accounts = bank.list_accounts(demo)
    assert [a.account_type for a in accounts] == ["checking", "savings"]
    checking = bank.find_account(demo, "checking")
    assert checking.balance == Decimal("2450.17")
    assert isinstance(checking.balance, Decimal)
    assert len(checking.number_last_four) == 4


def test_bank_recent_transactions(bank: Any, demo: str) -> None:
    transactions = bank.recent_transactions(demo, limit=20)
    assert len(transactions) == 11
    dates = [t.posted_on for t in transactions]
    assert dates == sorted(dates, reverse=True)
    assert transactions[0].posted_on == TODAY - timedelta(days=1)
    assert any(t.merchant == "Starbucks" and t.amount == Decimal("-45.20") for t in transactions)
    assert len(bank.recent_transactions(demo, limit=3)) == 3
    recent = bank.recent_transactions(demo, since=TODAY - timedelta(days=2), limit=50)
    assert recent and all(t.posted_on >= TODAY - timedelta(days=2) for t in recent)
    savings = bank.find_account(demo, "savings")
    assert bank.recent_transactions(demo, account_id=savings.account_id) == []
    other = bank.verify_customer(date(1990, 11, 5), "0005")
    other_account = bank.find_account(other, "checking")
    with pytest.raises(bankmod.NotFoundError):
        bank.recent_transactions(demo, account_id=other_account.account_id)
    with pytest.raises(bankmod.InvalidRequestError):
        bank.recent_transactions(demo, limit=0)


def test_bank_freeze_then_unfreeze(bank: Any, demo: str) -> None:
    card = bank.find_card(demo, "4242")
    assert card.status == "active"
    frozen = bank.freeze_card(demo, card.card_id)
    assert frozen.status == "frozen"
    assert bank.freeze_card(demo, card.card_id).status == "frozen"  # idempotent
    assert bank.unfreeze_card(demo, card.card_id).status == "active"
    assert bank.unfreeze_card(demo, card.card_id).status == "active"  # idempotent


def test_bank_card_state_rules(bank: Any, demo: str) -> None:
    inactive = bank.find_card(demo, "7714")
    with pytest.raises(bankmod.CardStateError):
        bank.freeze_card(demo, inactive.card_id)
    other = bank.verify_customer(date(1990, 11, 5), "0005")
    other_card = bank.find_card(other, "0005")
    assert other_card.status == "frozen"
    with pytest.raises(bankmod.NotFoundError):  # not the demo customer's card
        bank.unfreeze_card(demo, other_card.card_id)
    assert bank.unfreeze_card(other, other_card.card_id).status == "active"


def test_bank_report_lost_card_orders_a_new_one(bank: Any, demo: str) -> None:
    card = bank.find_card(demo, "4242")
    result = bank.report_lost_card(demo, card.card_id)
    assert result.old_card.status == "lost"
    new = result.new_card
    assert new.status == "inactive" and new.kind == "debit"
    assert new.delivery.status == "ordered" and new.delivery.eta > TODAY
    assert new.last_four != "4242"
    with pytest.raises(bankmod.CardStateError):
        bank.unfreeze_card(demo, card.card_id)
    with pytest.raises(bankmod.CardStateError):
        bank.report_lost_card(demo, card.card_id)
    activated = bank.activate_card(demo, new.last_four)
    assert activated.status == "active"
    assert bank.find_card(demo, "4242").status == "lost"  # stays lost, not closed
    # the new card verifies the customer as soon as it exists (the lost one still does too)
    assert bank.verify_customer(date(1984, 3, 12), new.last_four) == demo
    assert bank.verify_customer(date(1984, 3, 12), "4242") == demo


def test_bank_card_delivery_and_activation(bank: Any, demo: str) -> None:
    pending = bank.find_card(demo, "7714")
    assert pending.status == "inactive"
    assert pending.delivery.status == "dispatched"
    assert pending.delivery.eta == TODAY + timedelta(days=2)
    activated = bank.activate_card(demo, "7714")
    assert activated.status == "active"
    assert activated.delivery.status == "delivered" and activated.delivery.eta is None
    assert bank.find_card(demo, "1111").status == "closed"  # the card it replaced
    assert bank.activate_card(demo, "7714").status == "active"  # idempotent
    with pytest.raises(bankmod.NotFoundError):
        bank.activate_card(demo, "0000")


def test_bank_replace_card(bank: Any, demo: str) -> None:
    credit = bank.find_card(demo, "1111")
    with pytest.raises(bankmod.CardStateError) as excinfo:
        bank.replace_card(demo, credit.card_id)  # 7714 is already on its way
    assert excinfo.value.code == "already_ordered"
    debit = bank.find_card(demo, "4242")
    result = bank.replace_card(demo, debit.card_id)
    assert result.old_card.status == "active"  # keeps working until the new one is active
    assert result.new_card.status == "inactive"
    bank.activate_card(demo, result.new_card.last_four)
    assert bank.find_card(demo, "4242").status == "closed"


def test_bank_dispute_by_id_and_by_merchant(bank: Any, demo: str) -> None:
    starbucks = next(
        t for t in bank.recent_transactions(demo, limit=50) if t.amount == Decimal("-45.20")
    )
    by_id = bank.open_dispute(demo, transaction_id=starbucks.transaction_id, reason="not me")
    assert re.fullmatch(r"CASE-\d{6}", by_id.case_number)
    assert by_id.amount == Decimal("45.20") and by_id.status == "open"
    by_merchant = bank.open_dispute(demo, merchant="starbucks ", amount=Decimal("45.20"))
    assert by_merchant.case_number == by_id.case_number  # same transaction, same case
    amazon = bank.open_dispute(demo, merchant="AMAZON", amount=Decimal("89.99"))
    assert amazon.case_number != by_id.case_number and amazon.merchant == "Amazon"
    with pytest.raises(bankmod.NotFoundError):
        bank.open_dispute(demo, merchant="Starbucks", amount=Decimal("1.00"))
    payroll = next(t for t in bank.recent_transactions(demo, limit=50) if t.amount > 0)
    with pytest.raises(bankmod.NotFoundError):  # money in cannot be disputed
        bank.open_dispute(demo, transaction_id=payroll.transaction_id)
    with pytest.raises(bankmod.InvalidRequestError):
        bank.open_dispute(demo, merchant="Starbucks")


def test_bank_transfer(bank: Any, demo: str) -> None:
    checking = bank.find_account(demo, "checking")
    savings = bank.find_account(demo, "savings")
    result = bank.transfer(demo, checking.account_id, savings.account_id, Decimal("500.00"))
    assert result.amount == Decimal("500.00")
    assert result.from_account.balance == Decimal("1950.17")
    assert result.to_account.balance == Decimal("10820.00")
    assert re.fullmatch(r"TRF-\d{6}", result.reference)
    latest = bank.recent_transactions(demo, account_id=savings.account_id, limit=1)[0]
    assert latest.amount == Decimal("500.00") and latest.posted_on == TODAY


def test_bank_transfer_with_insufficient_funds_fails_cleanly(
    bank: Any, bank_path: Path, demo: str
) -> None:
    checking = bank.find_account(demo, "checking")
    savings = bank.find_account(demo, "savings")
    before = rows(bank_path, "SELECT COUNT(*) FROM transactions")
    with pytest.raises(bankmod.InsufficientFundsError) as excinfo:
        bank.transfer(demo, checking.account_id, savings.account_id, Decimal("2450.18"))
    assert excinfo.value.code == "insufficient_funds"
    assert "2450" not in str(excinfo.value)  # no customer data in messages
    assert bank.find_account(demo, "checking").balance == Decimal("2450.17")
    assert bank.find_account(demo, "savings").balance == Decimal("10320.00")
    assert rows(bank_path, "SELECT COUNT(*) FROM transactions") == before
    # the whole balance can be moved
    bank.transfer(demo, checking.account_id, savings.account_id, Decimal("2450.17"))
    assert bank.find_account(demo, "checking").balance == Decimal("0.00")


@pytest.mark.parametrize(
    "amount", [Decimal(0), Decimal(-5), Decimal("1.005"), Decimal("NaN"), Decimal("Infinity")]
)
def test_bank_transfer_rejects_bad_amounts(bank: Any, demo: str, amount: Decimal) -> None:
    checking = bank.find_account(demo, "checking")
    savings = bank.find_account(demo, "savings")
    with pytest.raises(bankmod.InvalidRequestError):
        bank.transfer(demo, checking.account_id, savings.account_id, amount)


def test_bank_transfer_only_between_own_distinct_accounts(bank: Any, demo: str) -> None:
    checking = bank.find_account(demo, "checking")
    with pytest.raises(bankmod.InvalidRequestError):
        bank.transfer(demo, checking.account_id, checking.account_id, Decimal("1.00"))
    other = bank.verify_customer(date(1990, 11, 5), "0005")
    with pytest.raises(bankmod.NotFoundError):
        bank.transfer(
            demo, checking.account_id, bank.find_account(other, "checking").account_id,
            Decimal("1.00"),
        )


def test_bank_update_contact_details(bank: Any, bank_path: Path, demo: str) -> None:
    result = bank.update_contact_details(
        demo, email="new.address@example.com", phone="+1 (603) 555-0199"
    )
    assert set(result.updated_fields) == {"email", "phone"}
    assert "example.com" not in repr(result)  # confirmation only
    stored = rows(bank_path, "SELECT email, phone FROM customers WHERE first_name = 'Mary-Jane'")
    assert stored == [("new.address@example.com", "+16035550199")]
    moved = bank.update_contact_details(demo, address="12 Elm Street, Springfield")
    assert moved.updated_fields == ("address",)
    for kwargs in ({"email": "not-an-email"}, {"phone": "12"}, {"address": "x"}, {}):
        with pytest.raises(bankmod.InvalidRequestError):
            bank.update_contact_details(demo, **kwargs)


def test_bank_fraud_alert_confirm(bank: Any, demo: str) -> None:
    alert = bank.pending_fraud_alert(demo)
    assert alert.merchant == "ElectroMart Online" and alert.amount == Decimal("899.00")
    assert alert.card_last_four == "4242" and alert.status == "pending"
    assert alert.occurred_at < NOW
    resolution = bank.confirm_fraud_alert(demo, alert.alert_id)
    assert resolution.outcome == "confirmed" and resolution.case_number is None
    assert resolution.card.status == "active"
    assert bank.pending_fraud_alert(demo) is None
    with pytest.raises(bankmod.InvalidRequestError):
        bank.deny_fraud_alert(demo, alert.alert_id)


def test_bank_fraud_alert_deny_freezes_card_and_opens_case(bank: Any, demo: str) -> None:
    alert = bank.pending_fraud_alert(demo)
    resolution = bank.deny_fraud_alert(demo, alert.alert_id)
    assert resolution.outcome == "denied"
    assert re.fullmatch(r"CASE-\d{6}", resolution.case_number)
    assert resolution.card.status == "frozen"
    assert bank.find_card(demo, "4242").status == "frozen"
    assert bank.pending_fraud_alert(demo) is None
    other = bank.verify_customer(date(1990, 11, 5), "0005")
    assert bank.pending_fraud_alert(other) is None
    with pytest.raises(bankmod.NotFoundError):
        bank.confirm_fraud_alert(other, alert.alert_id)


def test_bank_branch_hours_and_fees(bank: Any) -> None:
    branches = bank.branch_hours()
    assert len(branches) >= 3
    assert [b.name for b in bank.branch_hours("oak avenue branch")] == ["Oak Avenue"]
    assert bank.branch_hours("Atlantis") == []
    assert all(b.atm_hours for b in branches)
    fees = bank.fees_and_rates()
    kinds = {f.kind for f in fees}
    assert kinds == {"fee", "rate"}
    savings_rate = next(f for f in fees if f.code == "savings_rate")
    assert savings_rate.value == Decimal("4.10") and savings_rate.unit == "% APY"


def test_bank_state_persists_and_is_not_reseeded(bank: Any, bank_path: Path, demo: str) -> None:
    bank.freeze_card(demo, bank.find_card(demo, "4242").card_id)
    reopened = bankmod.open_backend(bank_path, clock=fixed_clock)
    assert reopened.find_card(demo, "4242").status == "frozen"
    assert rows(bank_path, "SELECT COUNT(*) FROM customers") == [(len(sys.modules["bank_demo_backend.seed"].CUSTOMERS),)]


def test_bank_results_are_immutable(bank: Any, demo: str) -> None:
    account = bank.find_account(demo, "checking")
    with pytest.raises(pydantic.ValidationError):
        account.balance = Decimal(1000000)


# ------------------------------------------------------------------------ airline


@pytest.fixture
def air_path(tmp_path: Path) -> Path:
    return tmp_path / "airline.sqlite3"


@pytest.fixture
def air(air_path: Path) -> Any:
    return airmod.open_backend(air_path, clock=fixed_clock)


@pytest.fixture
def booking(air: Any) -> str:
    booking_id = air.verify_booking("X7K9QP", "Nguyen")
    assert booking_id is not None
    return booking_id


def verify(air: Any, reference: str, name: str) -> str:
    booking_id = air.verify_booking(reference, name)
    assert booking_id is not None
    return booking_id


def test_airline_satisfies_protocol(air: Any) -> None:
    assert isinstance(air, airmod.Reservations)


def test_airline_verification(air: Any, booking: str) -> None:
    assert air.verify_booking("x7k9qp", "NGUYEN") == booking
    assert air.verify_booking(" X7K9QP ", " nguyen ") == booking
    assert air.verify_booking("X7K9QP", "Smith") is None
    assert air.verify_booking("ZZZZZZ", "Nguyen") is None
    assert air.verify_booking("X7K9", "Nguyen") is None
    assert air.verify_booking("X7K9QP", "") is None
    assert air.verify_booking("QK4Z7M", "o’neil") is not None  # curly apostrophe
    assert air.verify_booking("H5J9LC", "Muller-Brandt") is not None  # no umlaut
    assert air.verify_booking("B3R8TW", "smith - jones") is not None


def test_airline_booking_details(air: Any, booking: str) -> None:
    details = air.get_booking(booking)
    assert details.reference == "X7K9QP" and details.fare_class == "standard"
    assert details.status == "active" and not details.passport_on_file
    outbound, inbound = details.segments
    assert (outbound.flight.flight_number, outbound.seat) == ("NW214", "14C")
    assert (outbound.flight.origin, outbound.flight.destination) == ("LHR", "JFK")
    assert outbound.flight.flight_date == TODAY + timedelta(days=1)
    assert outbound.flight.status == "delayed" and outbound.flight.delay_minutes == 200
    assert outbound.flight.estimated_departure - outbound.flight.scheduled_departure == timedelta(
        minutes=200
    )
    assert outbound.flight.gate == "B32"
    assert inbound.flight.flight_number == "NW215" and inbound.flight.status == "on_time"
    with pytest.raises(airmod.NotFoundError):
        air.get_booking("BK99999")


def test_airline_flight_status(air: Any) -> None:
    tomorrow = air.flight_status("nw 214", TODAY + timedelta(days=1))
    assert tomorrow.status == "delayed" and tomorrow.flight_number == "NW214"
    assert air.flight_status("NW214").flight_date == TODAY
    cancelled = air.flight_status("NW-305", TODAY + timedelta(days=1))
    assert cancelled.status == "cancelled" and cancelled.estimated_departure is None
    assert air.flight_status("NW301", TODAY).status == "on_time"
    assert air.flight_status("NW999", TODAY) is None
    assert air.flight_status("NW214", TODAY + timedelta(days=400)) is None
    with pytest.raises(airmod.InvalidRequestError):
        air.flight_status("not a flight")


def test_airline_rebook_disrupted_flight(air: Any, booking: str) -> None:
    segment = air.get_booking(booking).segments[0]
    options = air.rebook_options(booking, segment.segment_id)
    assert options
    for flight in options:
        assert (flight.origin, flight.destination) == ("LHR", "JFK")
        assert flight.status != "cancelled"
        assert (flight.estimated_departure or flight.scheduled_departure) > NOW
        assert (flight.flight_number, flight.flight_date) != ("NW214", segment.flight.flight_date)
    target = next(f for f in options if f.flight_number == "NW218")
    result = air.rebook(booking, segment.segment_id, "NW 218", target.flight_date)
    assert result.change_fee == Decimal("0.00")  # the original flight is delayed 200 min
    assert result.segment.flight.flight_number == "NW218"
    assert result.segment.seat is not None and not result.segment.checked_in
    assert air.get_booking(booking).segments[0].flight.flight_number == "NW218"
    with pytest.raises(airmod.InvalidRequestError) as excinfo:
        air.rebook(booking, segment.segment_id, "NW301", TODAY + timedelta(days=2))  # LHR-CDG
    assert excinfo.value.code == "not_a_rebook_option"


def test_airline_voluntary_rebook_charges_the_fare_change_fee(air: Any, booking: str) -> None:
    inbound = air.get_booking(booking).segments[1]
    options = air.rebook_options(booking, inbound.segment_id, on_date=TODAY + timedelta(days=9))
    assert {f.flight_number for f in options} <= {"NW215", "NW219"}
    first = options[0]
    result = air.rebook(booking, inbound.segment_id, first.flight_number, first.flight_date)
    assert result.change_fee == Decimal("50.00")


def test_airline_rebook_options_skip_cancelled_flights(air: Any) -> None:
    booking_id = verify(air, "B3R8TW", "Smith-Jones")
    segment = air.get_booking(booking_id).segments[0]
    assert segment.flight.status == "cancelled"
    options = air.rebook_options(booking_id, segment.segment_id, limit=10)
    assert options and all(f.status != "cancelled" for f in options)
    assert all((f.origin, f.destination) == ("LHR", "CDG") for f in options)
    first = options[0]
    result = air.rebook(booking_id, segment.segment_id, first.flight_number, first.flight_date)
    assert result.change_fee == Decimal("0.00")


def test_airline_seat_map_and_change_seat(air: Any, booking: str) -> None:
    segment = air.get_booking(booking).segments[0]
    seats = air.seat_map(booking, segment.segment_id)
    assert seats.current_seat == "14C" and seats.letters == "ABCDEFGHK"
    assert "14A" not in seats.available  # Siobhan O'Neil's seat
    assert "14D" in seats.available
    assert all(int(seat[:-1]) > seats.business_rows for seat in seats.available)
    with pytest.raises(airmod.SeatUnavailableError):
        air.change_seat(booking, segment.segment_id, "14A")
    with pytest.raises(airmod.InvalidRequestError) as excinfo:
        air.change_seat(booking, segment.segment_id, "99Z")
    assert excinfo.value.code == "no_such_seat"
    with pytest.raises(airmod.InvalidRequestError) as excinfo:
        air.change_seat(booking, segment.segment_id, "2A")  # business cabin
    assert excinfo.value.code == "seat_in_other_cabin"
    assert air.change_seat(booking, segment.segment_id, "14d").seat == "14D"
    # the old seat is released to other passengers, the new one is taken
    oneil = verify(air, "QK4Z7M", "O'Neil")
    oneil_segment = air.get_booking(oneil).segments[0]
    oneil_seats = air.seat_map(oneil, oneil_segment.segment_id)
    assert "14C" in oneil_seats.available and "14D" not in oneil_seats.available
    with pytest.raises(airmod.SeatUnavailableError):
        air.change_seat(oneil, oneil_segment.segment_id, "14D")


def test_airline_segment_of_another_booking_is_not_found(air: Any, booking: str) -> None:
    oneil = verify(air, "QK4Z7M", "O'Neil")
    foreign = air.get_booking(oneil).segments[0].segment_id
    with pytest.raises(airmod.NotFoundError):
        air.change_seat(booking, foreign, "14D")


def test_airline_baggage_allowance_and_add_bags(air: Any, booking: str) -> None:
    basic = air.baggage_allowance("basic")
    business = air.baggage_allowance("business")
    assert basic.checked_bags == 0 and business.checked_bags == 2
    assert business.checked_bag_max_kg > basic.checked_bag_max_kg
    with pytest.raises(airmod.InvalidRequestError):
        air.baggage_allowance("first")
    added = air.add_bags(booking, 2)
    assert added.price_per_bag == Decimal("60.00") and added.total_price == Decimal("120.00")
    assert added.checked_bags_total == 3
    assert air.get_booking(booking).extra_bags == 2
    with pytest.raises(airmod.InvalidRequestError) as excinfo:
        air.add_bags(booking, 2)
    assert excinfo.value.code == "bag_limit"
    with pytest.raises(airmod.InvalidRequestError):
        air.add_bags(booking, 0)


def test_airline_report_baggage(air: Any, booking: str) -> None:
    flown = verify(air, "R9P5XU", "Kowalski")
    report = air.report_baggage(flown, "delayed", description="blue suitcase")
    assert report.station == "CDG" and report.flight_number == "NW301"
    assert re.fullmatch(r"CDGNW\d{5}", report.file_reference)
    second = air.report_baggage(booking, "lost")
    assert second.file_reference != report.file_reference
    with pytest.raises(airmod.InvalidRequestError):
        air.report_baggage(booking, "stolen")


def test_airline_refund_for_long_delay(air: Any, booking: str) -> None:
    eligibility = air.refund_eligibility(booking)
    assert eligibility.eligible and eligibility.reason == "long_delay"
    assert eligibility.amount == Decimal("612.40")
    refund = air.request_refund(booking)
    assert refund.amount == Decimal("612.40") and re.fullmatch(r"RF-\d{6}", refund.refund_reference)
    assert air.get_booking(booking).status == "refunded"
    with pytest.raises(airmod.NotEligibleError) as excinfo:
        air.request_refund(booking)
    assert excinfo.value.code == "already_refunded"
    with pytest.raises(airmod.InvalidRequestError) as excinfo:
        air.add_bags(booking)
    assert excinfo.value.code == "booking_not_active"


def test_airline_refund_rules(air: Any) -> None:
    cancelled_flight = verify(air, "B3R8TW", "Smith-Jones")
    assert air.refund_eligibility(cancelled_flight).reason == "flight_cancelled"
    flex = verify(air, "W4Y7GF", "Okafor")
    assert air.refund_eligibility(flex).reason == "refundable_fare"
    standard = verify(air, "H5J9LC", "Müller-Brandt")
    eligibility = air.refund_eligibility(standard)
    assert not eligibility.eligible and eligibility.amount == Decimal("0.00")
    with pytest.raises(airmod.NotEligibleError) as excinfo:
        air.request_refund(standard)
    assert excinfo.value.code == "non_refundable_fare"


def test_airline_cancel_booking(air: Any) -> None:
    flex = verify(air, "W4Y7GF", "Okafor")
    result = air.cancel_booking(flex)
    assert result.refund_amount == Decimal("389.00")
    assert re.fullmatch(r"CX-\d{6}", result.cancellation_reference)
    assert air.get_booking(flex).status == "cancelled"
    assert air.refund_eligibility(flex).reason == "booking_cancelled"
    with pytest.raises(airmod.InvalidRequestError):
        air.cancel_booking(flex)
    basic = verify(air, "C6D3SA", "MacDonald")
    assert air.cancel_booking(basic).refund_amount == Decimal("0.00")


def test_airline_check_in_needs_passport_for_international_flights(air: Any, booking: str) -> None:
    with pytest.raises(airmod.TravelDocumentRequiredError):
        air.check_in(booking)
    confirmation = air.update_passport(booking, "X1234 5678", "gbr", date(2032, 1, 31))
    assert confirmation.passport_on_file
    assert "X12345678" not in confirmation.model_dump_json()
    result = air.check_in(booking)
    (boarding_pass,) = result.boarding_passes
    assert boarding_pass.flight_number == "NW214" and boarding_pass.seat == "14C"
    assert boarding_pass.gate == "B32"
    assert boarding_pass.boarding_time == datetime.combine(
        TODAY + timedelta(days=1), datetime.min.time()
    ) + timedelta(hours=14, minutes=10)
    assert air.get_booking(booking).segments[0].checked_in
    assert air.check_in(booking).boarding_passes == result.boarding_passes  # idempotent


def test_airline_check_in_domestic_and_cancelled(air: Any) -> None:
    domestic = verify(air, "M2N6PD", "D'Angelo")
    assert air.check_in(domestic).boarding_passes[0].seat == "2A"
    cancelled = verify(air, "B3R8TW", "Smith-Jones")
    air.update_passport(cancelled, "123456789", "GBR", date(2030, 1, 1))
    with pytest.raises(airmod.InvalidRequestError) as excinfo:
        air.check_in(cancelled)
    assert excinfo.value.code == "flight_cancelled"
    flown = verify(air, "R9P5XU", "Kowalski")
    first = air.get_booking(flown).segments[0]
    with pytest.raises(airmod.InvalidRequestError) as excinfo:
        air.check_in(flown, first.segment_id)
    assert excinfo.value.code == "segment_departed"
    assert air.check_in(flown).boarding_passes[0].flight_number == "NW302"


def test_airline_update_passport_validation(air: Any, air_path: Path, booking: str) -> None:
    cases = [
        ("12", "GBR", date(2032, 1, 1), "invalid_passport_number"),
        ("X12345678", "British", date(2032, 1, 1), "invalid_nationality"),
        ("X12345678", "GBR", TODAY - timedelta(days=1), "passport_expired"),
        ("X12345678", "GBR", TODAY + timedelta(days=3), "passport_expires_before_travel"),
    ]
    for number, nationality, expiry, code in cases:
        with pytest.raises(airmod.InvalidRequestError) as excinfo:
            air.update_passport(booking, number, nationality, expiry)
        assert excinfo.value.code == code
        assert number not in str(excinfo.value)
    air.update_passport(booking, "X12345678", "GBR", date(2032, 1, 31))
    stored = rows(air_path, "SELECT passport_number, passport_country FROM bookings WHERE id = 1")
    assert stored == [("X12345678", "GBR")]


def test_airline_special_assistance_and_meal(air: Any, booking: str) -> None:
    request = air.request_special_assistance(booking, "WCHR", notes="can walk short distances")
    assert re.fullmatch(r"SSR-\d{5}", request.request_reference)
    assert "wheelchair" in request.description
    again = air.request_special_assistance(booking, "WCHR")
    assert again.request_reference == request.request_reference
    assert air.get_booking(booking).special_assistance == ("WCHR",)
    with pytest.raises(airmod.InvalidRequestError):
        air.request_special_assistance(booking, "FLY")
    meal = air.request_meal(booking, "VGML")
    assert meal.description == "vegan" and air.get_booking(booking).meal == "VGML"
    with pytest.raises(airmod.InvalidRequestError):
        air.request_meal(booking, "PIZZA")


def test_airline_frequent_flyer(air: Any, booking: str) -> None:
    balance = air.frequent_flyer_balance(booking)
    assert balance.tier == "gold" and balance.miles == 48250
    assert balance.expiring_on == TODAY + timedelta(days=60)
    assert "NW480215733" not in balance.model_dump_json()
    assert air.frequent_flyer_balance(verify(air, "H5J9LC", "Müller-Brandt")) is None


def test_airline_seed_is_consistent(air: Any, air_path: Path) -> None:
    seed = sys.modules["airline_demo_backend.seed"]
    fares = sys.modules["airline_demo_backend.fares"]
    seated = rows(
        air_path,
        "SELECT flights.flight_number, flights.id, segments.seat, flights.aircraft FROM segments"
        " JOIN flights ON flights.id = segments.flight_id",
    )
    assert len({(flight_id, seat) for _n, flight_id, seat, _a in seated}) == len(seated)
    for number, _flight_id, seat, aircraft in seated:
        assert fares.AIRCRAFT[aircraft].has_seat(seat)
        assert not seed.synthetic_taken(number, seat)
    references = [ref for (ref,) in rows(air_path, "SELECT reference FROM bookings")]
    assert len(references) == 10 and all(re.fullmatch(r"[A-Z0-9]{6}", r) for r in references)


def test_airline_reopen_keeps_state(air: Any, air_path: Path, booking: str) -> None:
    segment = air.get_booking(booking).segments[0]
    air.change_seat(booking, segment.segment_id, "14D")
    reopened = airmod.open_backend(air_path, clock=fixed_clock)
    assert reopened.get_booking(booking).segments[0].seat == "14D"


# ---------------------------------------------------------------------------- NLU

BANK_CONTRACT = {
    "check_balance", "recent_transactions", "report_lost_card", "freeze_card", "unfreeze_card",
    "dispute_charge", "confirm_fraud_alert", "deny_fraud_alert", "transfer_funds",
    "card_delivery_status", "activate_card", "update_contact_details", "branch_hours",
    "fees_and_rates", "human_handoff", "greet", "thanks", "goodbye",
}
AIRLINE_CONTRACT = {
    "flight_status", "rebook_flight", "change_seat", "baggage_allowance", "report_baggage",
    "add_bag", "request_refund", "check_in", "special_assistance", "update_passport",
    "frequent_flyer_miles", "human_handoff", "greet", "thanks", "goodbye",
}
_ANNOTATION = re.compile(r"\[([^\]]+)\]\(([a-z_]+)\)")


def examples_of(block: str) -> list[str]:
    return [line[2:].strip() for line in block.splitlines() if line.startswith("- ")]


def load_nlu(bot: str) -> dict[str, Any]:
    data = yaml.safe_load((EXAMPLES / bot / "nlu.yml").read_text(encoding="utf-8"))
    assert str(data["version"]) == "3.1"
    return data


def intents_of(data: dict[str, Any]) -> dict[str, list[str]]:
    intents: dict[str, list[str]] = {}
    for item in data["nlu"]:
        if "intent" in item:
            assert item["intent"] not in intents, f"duplicate intent {item['intent']}"
            intents[item["intent"]] = examples_of(item["examples"])
    return intents


@pytest.mark.parametrize(
    ("bot", "contract", "minimum_intents"),
    [("bank", BANK_CONTRACT, 20), ("airline", AIRLINE_CONTRACT, 18)],
)
def test_nlu_training_data(bot: str, contract: set[str], minimum_intents: int) -> None:
    intents = intents_of(load_nlu(bot))
    assert contract <= set(intents)
    assert len(set(intents) - {"out_of_scope"}) >= minimum_intents
    assert len(intents["out_of_scope"]) >= 40
    seen: dict[str, str] = {}
    for intent, examples in intents.items():
        assert len(examples) >= 15, intent
        for example in examples:
            plain = _ANNOTATION.sub(r"\1", example)
            assert "[" not in plain and "](" not in plain, f"broken annotation: {example}"
            key = plain.casefold()
            assert key not in seen, f"{example!r} is in both {seen.get(key)} and {intent}"
            seen[key] = intent


@pytest.mark.parametrize("bot", ["bank", "airline"])
def test_nlu_regexes_and_lookups(bot: str) -> None:
    data = load_nlu(bot)
    names = set()
    for item in data["nlu"]:
        if "regex" in item:
            names.add(item["regex"])
            for pattern in examples_of(item["examples"]):
                re.compile(pattern)
        if "lookup" in item:
            names.add(item["lookup"])
            assert examples_of(item["examples"])
    if bot == "airline":
        assert {"flight_number", "seat", "airport"} <= names
        airports = next(
            examples_of(item["examples"]) for item in data["nlu"] if item.get("lookup") == "airport"
        )
        assert len(airports) >= 55 and all(re.fullmatch(r"[A-Z]{3}", code) for code in airports)
        assert len(set(airports)) == len(airports)
    else:
        assert {"amount", "account_type", "date"} <= names


@pytest.mark.skipif(not BANKING77_TRAIN.exists(), reason="BANKING77 train split not available")
def test_bank_nlu_borrows_at_most_30_percent_from_banking77() -> None:
    def norm(text: str) -> str:
        return re.sub(r"\W+", " ", _ANNOTATION.sub(r"\1", text).casefold()).strip()

    with BANKING77_TRAIN.open(encoding="utf-8") as handle:
        borrowed = {norm(row["text"]) for row in csv.DictReader(handle)}
    for intent, examples in intents_of(load_nlu("bank")).items():
        copied = sum(norm(example) in borrowed for example in examples)
        assert copied <= 0.3 * len(examples), intent


@pytest.fixture(autouse=True)
def _no_default_demo_database() -> Iterator[None]:
    """Tests must never create the demo databases inside the bot directories."""
    before = {p: p.exists() for p in (bankmod.DEFAULT_PATH, airmod.DEFAULT_PATH)}
    yield
    for path, existed in before.items():
        assert path.exists() == existed
