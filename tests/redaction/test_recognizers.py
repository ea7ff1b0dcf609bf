"""Table-driven recognizer cases: (text, entity type, the exact span that must be found)."""

from __future__ import annotations

import pytest

BANK = [
    ("card 4111 1111 1111 1111 please", "CREDIT_CARD", "4111 1111 1111 1111"),
    ("card 4111-1111-1111-1111", "CREDIT_CARD", "4111-1111-1111-1111"),
    ("card 4111.1111.1111.1111", "CREDIT_CARD", "4111.1111.1111.1111"),
    ("card 4111  1111  1111  1111 exp 12/27", "CREDIT_CARD", "4111  1111  1111  1111"),
    ("amex 3782 822463 10005", "CREDIT_CARD", "3782 822463 10005"),
    ("card 4111\u200b1111\u200b1111\u200b1111", "CREDIT_CARD", "4111\u200b1111\u200b1111\u200b1111"),
    ("card \uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11", "CREDIT_CARD",
     "\uff14\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11 \uff11\uff11\uff11\uff11"),
    ("iban GB82 WEST 1234 5698 7654 32 thanks", "IBAN_CODE", "GB82 WEST 1234 5698 7654 32"),
    ("iban gb82west12345698765432", "IBAN_CODE", "gb82west12345698765432"),
    ("DE89-3704-0044-0532-0130-00", "IBAN_CODE", "DE89-3704-0044-0532-0130-00"),
    ("routing number 021000021", "ABA_ROUTING_NUMBER", "021000021"),
    ("my ssn is 123-45-6789", "US_SSN", "123-45-6789"),
    ("social security 123 45 6789", "US_SSN", "123 45 6789"),
    ("account number 12345678901", "BANK_ACCOUNT", "12345678901"),
    ("swift DEUTDEFF500", "SWIFT_CODE", "DEUTDEFF500"),
    ("cvv 123", "CVV", "123"),
    ("the security code on the back is 4831", "CVV", "4831"),
    ("my pin is 4821", "PIN", "4821"),
    ("dob 12/03/1984", "DATE_OF_BIRTH", "12/03/1984"),
    ("I was born on March 12, 1984", "DATE_OF_BIRTH", "March 12, 1984"),
    ("email me at jane.doe@example.com", "EMAIL_ADDRESS", "jane.doe@example.com"),
    ("call (212) 555-0143", "PHONE_NUMBER", "(212) 555-0143"),
    ("my name is sean o'neil", "PERSON", "sean o'neil"),
    ("MARY-JANE WATSON here", "PERSON", "MARY-JANE WATSON"),
    ("hi im oluwaseun oyelaran", "PERSON", "oluwaseun oyelaran"),
    ("I moved to 221 Baker Street", "ADDRESS", "221 Baker Street"),
]

AIRLINE = [
    ("booking reference X7K9QP", "BOOKING_REFERENCE", "X7K9QP"),
    ("my booking ref is xkqpzt", "BOOKING_REFERENCE", "xkqpzt"),
    ("e-ticket 016 234567890 1", "TICKET_NUMBER", "016 234567890 1"),
    ("passport number 123456789", "PASSPORT", "123456789"),
    ("passport no AB-482-913", "PASSPORT", "AB-482-913"),
    ("P<GBRNGUYEN<<THI<MAI<<<<<<<<<<<<<<<<<<<<<<<<", "PASSPORT_MRZ", "P<GBRNGUYEN<<THI<MAI<<<<<<<<<<<<<<<<<<<<<<<<"),
    ("frequent flyer number XK482913", "FREQUENT_FLYER", "XK482913"),
    ("known traveler number 158830274", "KNOWN_TRAVELER_NUMBER", "158830274"),
    ("redress number 7312816", "REDRESS_NUMBER", "7312816"),
]

KEEP = [
    ("I paid $45.20 yesterday at Starbucks", ["$45.20", "yesterday", "Starbucks"]),
    ("card ending 4242 please", ["4242"]),
    ("flight UA 123 from JFK to LHR, seat 14C, gate B22", ["UA 123", "JFK", "LHR", "14C", "B22"]),
    ("move 1,200 dollars from savings to checking", ["1,200", "savings", "checking"]),
    ("order number 123456781 arrived", ["123456781"]),
    ("reference 20240312-0045 for the wire, sent at 10:45", ["20240312-0045", "10:45"]),
    ("is row 2 in first class a window seat on AA100?", ["row 2", "first class", "AA100"]),
    ("where do I find my booking reference?", ["booking reference"]),
]


@pytest.mark.parametrize(("text", "entity", "span"), BANK)
def test_bank_pack_finds(bank_redactor, text, entity, span):  # type: ignore[no-untyped-def]
    found = [(f.entity_type, text[f.start : f.end]) for f in bank_redactor.redact(text).findings]
    assert (entity, span) in found


@pytest.mark.parametrize(("text", "entity", "span"), AIRLINE)
def test_airline_pack_finds(airline_redactor, text, entity, span):  # type: ignore[no-untyped-def]
    found = [(f.entity_type, text[f.start : f.end]) for f in airline_redactor.redact(text).findings]
    assert (entity, span) in found


@pytest.mark.parametrize(("text", "keep"), KEEP)
def test_values_a_bot_needs_stay(bank_redactor, airline_redactor, text, keep):  # type: ignore[no-untyped-def]
    for redactor in (bank_redactor, airline_redactor):
        out = redactor.redact(text).text
        for value in keep:
            assert value in out
