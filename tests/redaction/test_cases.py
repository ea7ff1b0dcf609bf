"""policy_cases.yaml: entity types are checked against the policy; literal values are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from safebot.errors import ConfigError
from safebot.redaction import Redactor
from safebot.redaction.cases import load_cases, run_cases

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("item", "hint"),
    [("CREDITCARD", "CREDIT_CARD"), ("US_SSM", "US_SSN"), ("BANK_ACCT", None), ("PASSPORT", None)],
)
def test_unknown_entity_type_fails_with_file_line_and_name(
    tmp_path: Path, bank_redactor: Redactor, item: str, hint: str | None
) -> None:
    f = tmp_path / "cases.yaml"
    f.write_text(f'cases:\n  - name: ok\n    text: "card 4111 1111 1111 1111"\n    must_redact: [CREDIT_CARD, {item}]\n')
    with pytest.raises(ConfigError) as info:
        run_cases(bank_redactor, load_cases(f))
    err = info.value
    assert err.path == str(f) and err.line == 4 and err.field == "cases[0].must_redact[1]"
    assert repr(item) in str(err)
    if hint:
        assert f"did you mean {hint}" in str(err)


def test_capitalised_values_and_explicit_literals_are_values(tmp_path: Path, airline_redactor: Redactor) -> None:
    f = tmp_path / "cases.yaml"
    f.write_text(
        "cases:\n"
        '  - text: "passenger name WATSON, booking ref XKQPZT"\n'
        "    must_redact: [PERSON, WATSON, XKQPZT]\n"
        '  - text: "the code CREDITCARD is a promo code"\n'
        "    must_redact: [{value: CREDITCARD}]\n"
    )
    results = run_cases(airline_redactor, load_cases(f))
    assert results[0].passed, results[0].problems
    # an explicit literal is checked as a value, and this one does survive
    assert results[1].problems == ("must_redact[0]: value survives in customer, transcript, analytics, agent, nlu",)


def test_a_keyed_hash_token_is_not_a_leak(tmp_path: Path, bank_redactor: Redactor) -> None:
    # '562' can be inside the 16 hex digits of <CREDIT_CARD#...>; that is not the CVV surviving
    f = tmp_path / "cases.yaml"
    f.write_text('cases:\n  - text: "card 5516184959310341 cvv 562"\n    must_redact: [CREDIT_CARD, CVV, "562"]\n')
    for key in (b"a" * 32, b"b" * 32, b"c" * 32, b"d" * 32):
        redactor = Redactor(bank_redactor.policy, detector=bank_redactor.detector, hmac_key=key)
        assert run_cases(redactor, load_cases(f))[0].passed


def test_example_cases_pass(bank_redactor: Redactor, airline_redactor: Redactor) -> None:
    for name, redactor in (("bank", bank_redactor), ("airline", airline_redactor)):
        results = run_cases(redactor, load_cases(ROOT / "examples" / name / "policy_cases.yaml"))
        failed = [(r.name, r.problems) for r in results if not r.passed]
        assert not failed, failed
