"""notifications.yaml: every problem fails at load with file, line and field; a parameter the
customer treatment would not show whole never loads; the examples load."""

from __future__ import annotations

from pathlib import Path

import pytest

from safebot.errors import ConfigError
from safebot.notify.templates import load_templates
from safebot.redaction.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
BANK_POLICY = ROOT / "examples" / "bank" / "policy.yaml"

GOOD = """templates:
  - name: alert
    category: UTILITY
    purpose: fraud_alerts
    lawful_basis: legitimate_interests
    body: "Payment of {{amount}} on the card ending {{card}}?"
    parameters:
      amount: {type: money}
      card: {type: card_last_four}
    buttons: ["Yes", "No"]
"""


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_policy(BANK_POLICY)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "notifications.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("kind", "entity"), [
    ("card_number", "CREDIT_CARD"), ("ssn", "US_SSN"), ("passport", "PASSPORT"), ("person", "PERSON"),
    ("iban", "IBAN_CODE"), ("date_of_birth", "DATE_OF_BIRTH"), ("email", "EMAIL_ADDRESS"), ("cvv", "CVV"),
])
def test_a_parameter_the_customer_would_not_see_whole_fails_naming_it(tmp_path: Path, policy, kind: str, entity: str) -> None:  # type: ignore[no-untyped-def]
    text = GOOD.replace("card: {type: card_last_four}", f"card: {{type: {kind}}}")
    with pytest.raises(ConfigError) as err:
        load_templates(write(tmp_path, text), policy)
    e = err.value
    assert e.line == 9 and e.field == "templates[0].parameters.card.type"
    assert f"parameter 'card' would carry a {entity}" in e.reason
    if entity == "CREDIT_CARD":
        assert "card_last_four" in e.reason


@pytest.mark.parametrize(("change", "line", "field", "reason"), [
    (("category: UTILITY", "category: MARKETING"), 5, "templates[0].lawful_basis", "needs lawful_basis: consent"),
    (("{{amount}}", "{{amount}} {{merchant}}"), 6, "templates[0].body", "{{merchant}}, which is not declared"),
    (("card ending {{card}}", "card"), 9, "templates[0].parameters.card", "never uses it"),
    (('["Yes", "No"]', '["Yes", "Yes"]'), 10, "templates[0].buttons", "same title"),
    (("category: UTILITY", "category: PROMO"), 3, "templates[0].category", "Input should be"),
    (("lawful_basis: legitimate_interests", "lawful_basis: because"), 5, "templates[0].lawful_basis", "Input should be"),
    (("buttons:", "button:"), 10, "templates[0].button", "unknown key"),
    (("type: money", "type: money, max_length: 0"), 8, "templates[0].parameters.amount.max_length", "greater than"),
])
def test_problems_fail_at_load_with_file_line_and_field(tmp_path: Path, policy, change: tuple[str, str], line: int,  # type: ignore[no-untyped-def]
                                                       field: str, reason: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_templates(write(tmp_path, GOOD.replace(*change)), policy)
    e = err.value
    assert e.path and e.path.endswith("notifications.yaml")
    assert (e.line, e.field) == (line, field), str(e)
    assert reason in e.reason


def test_a_template_declared_twice_is_refused(tmp_path: Path, policy) -> None:  # type: ignore[no-untyped-def]
    twice = GOOD + GOOD.split("\n", 1)[1]
    with pytest.raises(ConfigError, match="declared twice"):
        load_templates(write(tmp_path, twice), policy)


@pytest.mark.parametrize("bot", ["bank", "airline"])
def test_the_examples_templates_load_and_describe_what_they_carry(bot: str) -> None:
    catalog = load_templates(ROOT / "examples" / bot / "notifications.yaml", load_policy(ROOT / "examples" / bot / "policy.yaml"))
    described = catalog.describe()
    assert described and all(t["category"] in ("UTILITY", "MARKETING", "AUTHENTICATION") for t in described)
    for t in described:
        assert set(t["parameters"]) == set(catalog.get(t["name"]).placeholders())
