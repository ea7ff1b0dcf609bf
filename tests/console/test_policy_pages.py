"""Policy pages: what counts as loosening (table-driven), the HTML files the commands write
(self-contained, loosening first), the Markdown that stays, and near-miss recording."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from safebot.redaction.policy import Policy, policy_from_dict
from safebot.redaction.report import changes, loosens, recognizers

ROOT = Path(__file__).resolve().parents[2]
BANK = ROOT / "examples" / "bank" / "policy.yaml"

BASE: dict[str, Any] = {
    "name": "p", "packs": ["common", "bank"], "nlp": {"ner": True}, "score_threshold": 0.4,
    "allow_list": ["help@examplebank.com"],
    "entities": {"CREDIT_CARD": {}, "EMAIL_ADDRESS": {"treatments": {"customer": "placeholder"}},
                 "PHONE_NUMBER": {"treatments": {"customer": "mask:2"}}, "SWIFT_CODE": {"threshold": 0.5}},
}


def _with(**changes: Any) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = out
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return out


CASES = [  # (label, new policy, expected effect of the first change, its subject)
    ("entity removed", _with(entities__SWIFT_CODE=None), "loosens", "SWIFT_CODE"),
    ("entity added", _with(entities__US_SSN={}), "tightens", "US_SSN"),
    ("placeholder -> mask", _with(entities__EMAIL_ADDRESS__treatments__customer="mask:4"), "loosens", "EMAIL_ADDRESS"),
    ("mask:2 -> mask:4", _with(entities__PHONE_NUMBER__treatments__customer="mask:4"), "loosens", "PHONE_NUMBER"),
    ("mask:2 -> placeholder", _with(entities__PHONE_NUMBER__treatments__customer="placeholder"), "tightens", "PHONE_NUMBER"),
    ("hash -> drop", _with(entities__EMAIL_ADDRESS__treatments__analytics="drop"), "tightens", "EMAIL_ADDRESS"),
    ("placeholder -> encrypt", _with(entities__EMAIL_ADDRESS__treatments__transcript="encrypt"), "loosens", "EMAIL_ADDRESS"),
    ("threshold raised", _with(entities__SWIFT_CODE__threshold=0.7), "loosens", "SWIFT_CODE"),
    ("threshold lowered", _with(entities__SWIFT_CODE__threshold=0.3), "tightens", "SWIFT_CODE"),
    ("default threshold raised", _with(score_threshold=0.6), "loosens", "CREDIT_CARD"),
    ("allow-list entry added", _with(allow_list=["help@examplebank.com", "EXAMPLEBANK"]), "loosens", "allow-list"),
    ("allow-list entry removed", _with(allow_list=[]), "tightens", "allow-list"),
    ("pack removed", _with(packs=["common", "bank", "airline"]), "tightens", "packs"),
    ("NER off", _with(nlp={"ner": False}), "loosens", "NER"),
    ("NER label ignored", _with(nlp={"ner": True, "labels_to_ignore": ["ORG", "PERSON"]}), "loosens", "NER"),
    ("time budget", _with(time_budget_ms=900), "review", "time budget"),
]


@pytest.fixture(scope="module")
def base() -> Policy:
    return policy_from_dict(BASE)


@pytest.mark.parametrize(("label", "data", "effect", "subject"), CASES, ids=[c[0] for c in CASES])
def test_each_change_is_classified(base: Policy, label: str, data: dict[str, Any], effect: str, subject: str) -> None:
    found = changes(base, policy_from_dict(data))
    assert found, label
    assert (found[0].effect, found[0].subject) == (effect, subject), [(c.effect, c.subject, c.text) for c in found]
    assert loosens(found) == (effect == "loosens")
    order = [c.effect for c in found]
    assert order == sorted(order, key=["loosens", "tightens", "review"].index)  # loosening first


def test_no_change_is_no_change(base: Policy) -> None:
    assert changes(base, policy_from_dict(BASE)) == []


def test_every_recognizer_of_the_bank_policy_is_listed_by_name() -> None:
    from safebot.redaction.policy import load_policy
    from safebot.redaction.recognizers.packs import load_pack

    policy = load_policy(BANK)
    listed = {r.name for r in recognizers(policy)}
    for pack in policy.packs:
        for spec in load_pack(pack).spec.recognizers:
            if spec.entity in policy.entities:
                assert spec.name in listed
    assert any(r.engine == "ner" for r in recognizers(policy))
    card = next(r for r in recognizers(policy) if r.name == "safebot.card")
    assert card.validator == "luhn" and "card" in card.context


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "safebot.cli", *args], capture_output=True, text=True, timeout=600)


def _self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert "<link rel=\"stylesheet\"" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


@pytest.mark.slow
def test_explain_and_diff_html_files(tmp_path: Path) -> None:
    out = tmp_path / "explain.html"
    r = _cli("policy", "explain", str(BANK), "--format", "html", "-o", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    _self_contained(html)
    for name in ("safebot.card", "safebot.iban", "safebot.ssn", "spacy.ner (PERSON)"):
        assert f"<code>{name}</code>" in html
    assert "help@examplebank.com" in html and "+1 800 555 0100" in html  # every allow-list entry
    assert "****1111" in html and "NOT FOUND" not in html  # worked examples, all found
    loose = tmp_path / "loose.yaml"
    loose.write_text(BANK.read_text().replace("  ABA_ROUTING_NUMBER: {}\n", "").replace("threshold: 0.5", "threshold: 0.8"))
    diff_out = tmp_path / "diff.html"
    r = _cli("policy", "diff", str(BANK), str(loose), "--format", "html", "-o", str(diff_out))
    assert r.returncode == 1 and "loosen protection" in r.stderr
    html = diff_out.read_text()
    _self_contained(html)
    first = re.findall(r'<li class="change (\w+)">', html)
    assert first[:2] == ["loosens", "loosens"]
    md = _cli("policy", "diff", str(BANK), str(loose))
    assert md.returncode == 1 and md.stdout.index("Loosens protection") < md.stdout.index("ABA_ROUTING_NUMBER")
    same = _cli("policy", "diff", str(BANK), str(BANK), "--format", "html")
    assert same.returncode == 0 and "No change in what is detected" in same.stdout
    bad = _cli("policy", "explain", str(BANK), "--format", "pdf")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")


NEAR_POLICY: dict[str, Any] = {
    "name": "near", "packs": [], "nlp": {"ner": False},
    "recognizers": [{"name": "t.code", "entity": "TEST_CODE", "score": 0.3,
                     "patterns": [{"name": "code", "regex": r"\bZX\d{4}\b"}]},
                    {"name": "t.faint", "entity": "TEST_FAINT", "score": 0.1,
                     "patterns": [{"name": "faint", "regex": r"\bQQ\d{4}\b"}]}],
    "entities": {"TEST_CODE": {}, "TEST_FAINT": {}},
}


@pytest.mark.parametrize(("text", "threshold", "near", "found"), [
    ("code ZX1234 please", 0.4, [("TEST_CODE", "t.code", 0.3)], []),     # 0.3 < 0.4, within the margin
    ("code ZX1234 please", 0.2, [], ["TEST_CODE"]),                       # redacted: not a near miss
    ("code QQ1234 please", 0.4, [], []),                                  # 0.1: far below, not near
    ("nothing here", 0.4, [], []),
])
def test_near_misses_are_audited_by_type_recognizer_and_score(
    text: str, threshold: float, near: list[tuple[str, str, float]], found: list[str]
) -> None:
    from safebot.redaction.redactor import Redactor

    policy = policy_from_dict({**NEAR_POLICY, "score_threshold": threshold})
    redactor = Redactor(policy, hmac_key=b"k")
    session = redactor.session("c-near")
    inbound = session.inbound(redactor.analyze(text))
    assert [f.entity_type for f in inbound.text("transcript").findings] == found
    records = [r for r in session.audit_records if r.event == "near_miss"]
    assert [(r.entity_type, r.recognizer, r.score) for r in records] == near
    for r in records:
        assert r.conversation_id == "c-near" and "ZX1234" not in repr(r) and r.detail is None
