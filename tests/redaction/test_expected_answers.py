"""Bare answers to the bot's own question: the question tells the redactor what to expect."""

from __future__ import annotations

import pytest

from safebot.redaction import Redactor
from safebot.redaction.session import PlaceholderMemory

CASES = [
    # (policy, expected type, the customer's whole answer, what must not survive)
    ("airline", "BOOKING_REFERENCE", "LD3 GKG", ["LD3", "GKG"]),
    ("airline", "BOOKING_REFERENCE", "T M 4 9 8 L", ["M 4 9 8"]),
    ("airline", "BOOKING_REFERENCE", "it's x7k9qp", ["x7k9qp"]),
    ("airline", "BOOKING_REFERENCE", "ld3-gkg please", ["ld3", "gkg"]),
    ("airline", "PASSPORT", "533380006", ["533380006"]),
    ("airline", "PASSPORT", "5 3 3 3 8 0 0 0 6", ["3 3 8 0 0"]),
    ("airline", "FREQUENT_FLYER", "NW 4431 9982", ["4431", "9982"]),
    ("bank", "CREDIT_CARD", "4539_1488_0343_6467", ["4539", "6467"]),
    ("bank", "CREDIT_CARD", "4539 1488 0343 6467", ["4539", "6467"]),
    ("bank", "US_SSN", "219-09-9999", ["219-09", "9999"]),
    ("bank", "DATE_OF_BIRTH", "0312 1984", ["0312", "1984"]),
    ("bank", "PERSON", "Wisniewska", ["Wisniewska"]),
]


@pytest.mark.parametrize("policy,entity,answer,secrets", CASES, ids=[f"{c[1]}:{c[2]}" for c in CASES])
def test_a_bare_answer_is_redacted_as_what_was_asked(
    bank_redactor: Redactor, airline_redactor: Redactor, policy: str, entity: str, answer: str, secrets: list[str]
) -> None:
    redactor = bank_redactor if policy == "bank" else airline_redactor
    session = redactor.session("c-answer", PlaceholderMemory(), expected=frozenset({entity}))
    inbound = session.inbound(redactor.analyze(answer))
    for dest in ("transcript", "analytics", "nlu"):
        text = inbound.text(dest).text  # type: ignore[arg-type]
        assert not any(s.lower() in text.lower() for s in secrets), (dest, text)


@pytest.mark.parametrize("policy,entity,message", [
    ("airline", "BOOKING_REFERENCE", "what's the status of NW214"),
    ("airline", "BOOKING_REFERENCE", "actually I want to change my seat"),
    ("bank", "CREDIT_CARD", "how much is in my savings account"),
])
def test_a_new_request_instead_of_an_answer_stays_readable(
    bank_redactor: Redactor, airline_redactor: Redactor, policy: str, entity: str, message: str
) -> None:
    redactor = bank_redactor if policy == "bank" else airline_redactor
    session = redactor.session("c-answer", PlaceholderMemory(), expected=frozenset({entity}))
    assert session.inbound(redactor.analyze(message)).text("nlu").text == message
