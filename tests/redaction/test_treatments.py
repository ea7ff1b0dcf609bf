"""Per-destination treatments and PCI DSS defaults, on the bank example policy."""

from __future__ import annotations

import re

import pytest

from safebot.redaction import Redactor

CARD = "4111 1111 1111 1111"


@pytest.mark.parametrize(
    ("destination", "pattern"),
    [
        ("transcript", r"^card <CREDIT_CARD_1> cvv $"),
        ("nlu", r"^card <CREDIT_CARD_1> cvv $"),
        ("customer", r"^card \*\*\*\*1111 cvv $"),
        ("agent", r"^card \*\*\*\*1111 cvv $"),
        ("analytics", r"^card <CREDIT_CARD#[0-9a-f]{16}> cvv $"),
    ],
)
def test_card_and_cvv_per_destination(bank_redactor: Redactor, destination: str, pattern: str) -> None:
    out = bank_redactor.redact(f"card {CARD} cvv 123 ", destination=destination).text  # type: ignore[arg-type]
    assert re.match(pattern, out), out
    assert "123" not in out


def test_hash_joins_across_formats_but_not_keys(bank_redactor: Redactor) -> None:
    a = bank_redactor.redact(f"card {CARD}", destination="analytics").text
    b = bank_redactor.redact("card 4111-1111-1111-1111", destination="analytics").text
    assert a == b
    other = Redactor(bank_redactor.policy, detector=bank_redactor.detector, hmac_key=b"another key")
    assert other.redact(f"card {CARD}", destination="analytics").text != a


def test_same_value_same_placeholder(bank_redactor: Redactor) -> None:
    out = bank_redactor.redact(f"{CARD} or 4111-1111-1111-1111 or 5555 5555 5555 4444").text
    assert out == "<CREDIT_CARD_1> or <CREDIT_CARD_1> or <CREDIT_CARD_2>"


def test_findings_index_the_input(bank_redactor: Redactor) -> None:
    text = "zero\u200bwidth: 4111\u200b1111\u200b1111\u200b1111!"
    [f] = bank_redactor.redact(text).findings
    assert text[f.start : f.end] == "4111\u200b1111\u200b1111\u200b1111"


def test_redact_many_matches_redact(bank_redactor: Redactor) -> None:
    texts = [f"card {CARD}", "hello", "my name is sean o'neil", "iban GB82 WEST 1234 5698 7654 32"]
    assert [r.text for r in bank_redactor.redact_many(texts)] == [bank_redactor.redact(t).text for t in texts]


def test_unknown_destination_rejected(bank_redactor: Redactor) -> None:
    with pytest.raises(ValueError):
        bank_redactor.redact("hi", destination="twitter")  # type: ignore[arg-type]
