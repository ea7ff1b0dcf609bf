"""Planted PII never survives redaction, in the everyday forms customers type it in.

Hypothesis draws checksummed identifiers (cards of several brands, IBANs of several countries,
ABA routing numbers, SSNs, e-ticket numbers, passports, MRZ lines, booking references, ...) from
``support.pii`` (tests/support/pii.py), writes them in a random everyday form (contiguous, single
or double spaces, dashes, dots, zero-width characters between groups, full-width digits, lower
case) inside a random customer message, and checks every destination's output: neither the
rendered value nor any 5-character run of the value (separators removed, NFKC-folded) may be
there. A ``****1234`` mask passes (runs of 4); short values (CVV, PIN, booking reference, redress
number) must be gone entirely. The obfuscated forms (issue 8, item 2) are in
test_obfuscated_pii.py.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import pii as tp
from support.strategies import SEEDS

from safebot.redaction import DESTINATIONS, Redactor, load_policy

ROOT = Path(__file__).resolve().parents[2]

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


@pytest.fixture(scope="module")
def redactors() -> dict[str, Redactor]:
    return {
        # a wide time budget: a busy machine must not turn a leak test into a fail-closed block
        domain: Redactor(
            load_policy(ROOT / "examples" / domain / "policy.yaml").model_copy(update={"time_budget_ms": 30000}),
            hmac_key=b"k" * 32,
        )
        for domain in ("bank", "airline")
    }


def _check(redactors: dict[str, Redactor], message: tp.Message) -> None:
    redactor = redactors[message.domain]
    for destination in DESTINATIONS:
        result = redactor.redact(message.text, destination=destination)
        assert not result.blocked, f"blocked: {message.text!r}"
        leaks = tp.survivors(message, result.text)
        assert not leaks, (
            f"{destination}: {[(p.label, why) for p, why in leaks]}\n"
            f"  in:  {message.text!r}\n  out: {result.text!r}"
        )


def _message(kind: str):
    forms = tp.KINDS[kind].forms
    return st.builds(
        lambda rnd, form, template: tp.plant(rnd, kind, form=form, template=template),
        SEEDS,
        st.sampled_from(forms),
        st.sampled_from(tp.KINDS[kind].templates),
    )


@SETTINGS
@given(message=_message("CREDIT_CARD"))
def test_cards_of_every_brand_in_every_form(redactors, message):
    _check(redactors, message)


@SETTINGS
@given(message=_message("IBAN_CODE"))
def test_ibans_of_several_countries_in_every_form(redactors, message):
    _check(redactors, message)


@SETTINGS
@given(message=_message("ABA_ROUTING_NUMBER"))
def test_aba_routing_numbers(redactors, message):
    _check(redactors, message)


@SETTINGS
@given(message=_message("US_SSN"))
def test_ssns(redactors, message):
    _check(redactors, message)


@SETTINGS
@given(message=_message("TICKET_NUMBER"))
def test_eticket_numbers(redactors, message):
    _check(redactors, message)


@SETTINGS
@given(message=_message("PASSPORT"))
def test_passport_numbers_with_context(redactors, message):
    _check(redactors, message)


@SETTINGS
@given(message=_message("PASSPORT_MRZ"))
def test_passport_mrz_lines(redactors, message):
    _check(redactors, message)


@SETTINGS
@given(message=_message("BOOKING_REFERENCE"))
def test_booking_references_with_context(redactors, message):
    _check(redactors, message)


_OTHER_KINDS = ["BANK_ACCOUNT", "US_ITIN", "SWIFT_CODE", "CVV", "PIN", "FREQUENT_FLYER",
                "KNOWN_TRAVELER_NUMBER", "REDRESS_NUMBER", "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER"]


@SETTINGS
@given(data=st.data())
def test_two_identifiers_in_one_message(redactors, data):
    domain = data.draw(st.sampled_from(["bank", "airline"]))
    kinds = data.draw(st.lists(st.sampled_from(tp.DOMAIN_KINDS[domain]), min_size=2, max_size=2, unique=True))
    rnd = data.draw(SEEDS)
    _check(redactors, tp.plant_many(rnd, [(k, None) for k in kinds], domain=domain))


@SETTINGS
@given(kind=st.sampled_from(_OTHER_KINDS), rnd=SEEDS)
def test_other_identifiers(redactors, kind, rnd):
    domain = "airline" if tp.KINDS[kind].domain == "airline" else "bank"
    _check(redactors, tp.plant(rnd, kind, domain=domain))


@pytest.mark.parametrize("index", range(len(tp.KEEP_MESSAGES)))
def test_must_keep_values_stay_in_every_destination(redactors, index):
    message = tp.keep_messages(random.Random(index))[index]
    redactor = redactors[message.domain]
    for destination in DESTINATIONS:
        out = redactor.redact(message.text, destination=destination).text
        assert not tp.mangled(message, out), f"{destination}: {message.text!r} -> {out!r}"
        assert not tp.survivors(message, out), f"{destination}: {message.text!r} -> {out!r}"
