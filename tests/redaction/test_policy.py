"""Policy loading: good policies load; bad ones name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from safebot.errors import ConfigError
from safebot.redaction import load_policy
from safebot.redaction.policy import Treatment

GOOD = "name: p\npacks: [common, bank]\nentities:\n  CREDIT_CARD: {}\n  CVV: {}\n"

BAD = [
    # (yaml, expected line, expected field fragment, expected message fragment)
    ("name: p\npacks: [bank]\nentities:\n  CREDIT_CARD: {}\nbogus: 1\n", 5, "bogus", "unknown key"),
    ("name: p\npacks: [bank]\nentities:\n  CREDIT_CARD:\n    threshold: 2\n", 5, "entities.CREDIT_CARD.threshold", "less than or equal"),
    ("name: p\npacks: [bank]\nentities:\n  NOPE: {}\n", 4, "entities.NOPE", "unknown entity"),
    ("name: p\npacks: [bank]\nentities:\n  CVV:\n    treatments:\n      customer: mask\n", 6, "entities.CVV.treatments.customer", "PCI DSS"),
    ("name: p\npacks: [bank]\nentities:\n  CREDIT_CARD:\n    treatments:\n      agent: mask:6\n", 6, "CREDIT_CARD.treatments.agent", "last 4"),
    ("name: p\npacks: [bank]\nentities:\n  CREDIT_CARD:\n    treatments:\n      agent: shred\n", 6, "agent", "Input should be"),
    ("name: p\npacks: [banking]\nentities: {}\n", 2, "packs[0]", "Input should be"),
    ("name: p\n  packs: [bank\n", 2, None, "invalid YAML"),
    ("- just\n- a list\n", 1, None, "must be a mapping"),
    ("name: p\npacks: [bank]\nentities: {}\nrecognizers:\n  - name: x\n    entity: ACCT\n    patterns:\n      - name: a\n        regex: '(unclosed'\n", 9, "recognizers[0].patterns[0].regex", "does not compile"),
    # the recognizer format: unknown engines, validators, word lists, defines and code names
    ("name: p\npacks: [bank]\nentities: {}\nrecognizers:\n  - name: x\n    entity: ACCT\n    engine: sequnce\n", 5, "recognizers[0]", "tag"),
    ("name: p\npacks: [bank]\nentities: {}\nrecognizers:\n  - name: x\n    entity: ACCT\n    validator: luhnn\n    patterns:\n      - {name: a, regex: 'x'}\n", 7, "recognizers[0].validator", "unknown validator"),
    ("name: p\npacks: [bank]\nentities: {}\nrecognizers:\n  - name: x\n    entity: ACCT\n    context: ['@no_such_list']\n    patterns:\n      - {name: a, regex: 'x'}\n", 7, "recognizers[0].context", "no word list"),
    ("name: p\npacks: [bank]\nentities: {}\nrecognizers:\n  - name: x\n    entity: ACCT\n    engine: sequence\n    run: '${nope}'\n    lengths: [8]\n", 8, "recognizers[0].run", "unknown ${nope}"),
    ("name: p\npacks: [bank]\nentities: {}\nrecognizers:\n  - name: x\n    entity: ACCT\n    engine: code\n    code: teleport\n", 8, "recognizers[0].code", "no recognizer called"),
    ("name: p\npacks: [bank]\nentities: {}\nrecognizers:\n  - name: x\n    entity: ACCT\n    engine: sequence\n    run: 'x'\n    lengths: '9-3'\n", 9, "recognizers[0].lengths", "backwards"),
    ("name: p\npacks: [bank]\nentities: {}\nrecognizers:\n  - name: x\n    entity: ACCT\n    priority: 101\n    patterns:\n      - {name: a, regex: 'x'}\n", 7, "recognizers[0].priority", "less than or equal"),
    # PCI DSS: the allow-list cannot exempt a card number, CVV, PIN, SSN or IBAN
    ("name: p\npacks: [bank]\nallow_list:\n  - help@example.com\n  - '4111 1111 1111 1111'\nentities:\n  CREDIT_CARD: {}\n", 5, "allow_list[1]", "CREDIT_CARD"),
    ("name: p\npacks: [common]\nallow_list: ['GB82 WEST 1234 5698 7654 32']\nentities:\n  EMAIL_ADDRESS: {}\n", 3, "allow_list[0]", "IBAN_CODE"),
    ("name: p\npacks: [bank]\nallow_list: ['078-05-1120']\nentities:\n  US_SSN: {}\n", 3, "allow_list[0]", "US_SSN"),
    ("name: p\npacks: [bank]\nallow_list: ['1234']\nentities:\n  PIN: {}\n", 3, "allow_list[0]", "PIN"),
]


def test_good_policy_loads(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(GOOD)
    policy = load_policy(f)
    assert policy.treatment("CREDIT_CARD", "customer") == Treatment(action="mask", keep_last=4)
    assert policy.treatment("CVV", "transcript").action == "drop"
    assert len(policy.hash) == 16


@pytest.mark.parametrize(("text", "line", "field", "message"), BAD)
def test_bad_policy_names_file_line_field(tmp_path: Path, text: str, line: int, field: str | None, message: str) -> None:
    f = tmp_path / "policy.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_policy(f)
    err = info.value
    assert err.path == str(f)
    assert err.line == line
    if field is not None:
        assert err.field is not None and field in err.field
    assert message in str(err)


def test_example_policies_load() -> None:
    root = Path(__file__).resolve().parents[2] / "examples"
    for name in ("bank", "airline"):
        assert load_policy(root / name / "policy.yaml").name


def test_policy_hash_changes_with_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(GOOD)
    b.write_text(GOOD.replace("CVV: {}", "CVV: {}\n  PIN: {}"))
    assert load_policy(a).hash != load_policy(b).hash


def test_allow_list_keeps_the_banks_own_contact_details(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(GOOD + "allow_list: ['+1 800 555 0100', '1-800-555-0100', 'help@examplebank.com']\n")
    assert load_policy(f).allow_list


def test_first_custom_recognizer_format_still_loads(tmp_path: Path) -> None:
    # 'checksum:' was the first name of the validator; the docs of the first release used it
    f = tmp_path / "p.yaml"
    f.write_text(
        "name: p\npacks: [common]\nnlp: {ner: false}\nrecognizers:\n  - name: acme\n    entity: ACME_ACCOUNT\n"
        "    patterns:\n      - {name: dashed, regex: '\\b[A-Z]{2}-\\d{7}-\\d\\b', score: 0.6}\n"
        "    context: [account]\n    checksum: luhn\nentities:\n  ACME_ACCOUNT: {}\n"
    )
    policy = load_policy(f)
    assert policy.recognizers[0].checksum == "luhn"
