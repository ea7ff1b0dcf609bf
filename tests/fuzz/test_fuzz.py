"""Fuzz targets that stay in the suite, on a bounded budget (Hypothesis, derandomised for CI).

Each target accepts arbitrary input; anything but the documented outcome is a failure:
* the redactor returns renderings (or blocks) and never raises; a planted card never survives;
* the policy loader returns a Policy or raises ConfigError (with file and line), nothing else;
* the action server's request parser returns an ActionCall or raises RasaRequestError, and no
  value from the body appears in the error.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import luhn

from safebot.channels.rasa.protocol import parse_action_call
from safebot.errors import ConfigError, RasaRequestError
from safebot.redaction import DESTINATIONS, Redactor, load_policy

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

#: printable text with the characters that have broken normalisers before
NASTY = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)) | st.sampled_from(list("\u200b\u00ad\u0301\x00\ufeff٣४_,\t\n-/.@")),
    max_size=300,
)


def card(seed: int) -> str:
    rng = random.Random(seed)
    body = "4" + "".join(str(rng.randrange(10)) for _ in range(14))
    return body + luhn.calc_check_digit(body)


@FUZZ
@given(before=NASTY, after=NASTY, seed=st.integers(0, 10**6), sep=st.sampled_from([" ", "-", "", "  "]))
def test_redactor_never_raises_and_never_lets_a_card_through(
    bank_redactor: Redactor, before: str, after: str, seed: int, sep: str
) -> None:
    number = card(seed)
    written = sep.join(number[i : i + 4] for i in range(0, 16, 4))
    text = f"{before} my card is {written} {after}"
    out = bank_redactor.redact_all(text)
    assert set(out) == set(DESTINATIONS)
    for dest, rendered in out.items():
        digits = "".join(c for c in rendered.text if c.isdigit())
        assert number not in digits, dest


@FUZZ
@given(text=NASTY)
def test_redactor_on_arbitrary_text(bank_redactor: Redactor, text: str) -> None:
    r = bank_redactor.redact(text)
    assert isinstance(r.text, str)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=6),
    max_leaves=30,
)

POLICY_KEYS = ["name", "version", "packs", "entities", "defaults", "allow_list", "score_threshold",
               "time_budget_ms", "nlp", "recognizers", "threshold", "treatments", "customer", "transcript"]


@st.composite
def policies(draw: Any) -> Any:
    """Mostly policy-shaped mappings (so the fuzzer gets past the first check), with junk inside."""
    keys = draw(st.lists(st.sampled_from(POLICY_KEYS) | st.text(max_size=12), max_size=8))
    return {k: draw(JSONISH) for k in keys}


@FUZZ
@given(data=policies() | JSONISH)
def test_policy_loader_gives_a_policy_or_a_config_error(tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    path = Path(tmp_path_factory.mktemp("fuzzpolicy")) / "policy.yaml"
    try:
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    except (yaml.YAMLError, UnicodeEncodeError):
        return
    try:
        load_policy(path)
    except ConfigError as exc:
        assert str(path) in str(exc)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_policy_loader_on_raw_bytes(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("fuzzbytes")) / "policy.yaml"
    path.write_bytes(raw)
    try:
        load_policy(path)
    except ConfigError:
        pass


SECRET = "4111111111111111"


@st.composite
def action_bodies(draw: Any) -> Any:
    tracker = draw(st.dictionaries(
        st.sampled_from(["sender_id", "slots", "latest_message", "events", "paused"]) | st.text(max_size=8),
        JSONISH | st.just(SECRET), max_size=6))
    body = draw(st.dictionaries(st.sampled_from(["next_action", "tracker", "domain", "version"]), JSONISH | st.just(SECRET), max_size=4))
    if draw(st.booleans()):
        body["tracker"] = tracker
    return body


@FUZZ
@given(body=action_bodies() | JSONISH)
def test_action_parser_gives_a_call_or_a_safe_error(body: Any) -> None:
    try:
        call = parse_action_call(body)
    except RasaRequestError as exc:
        assert SECRET not in json.dumps(exc.body()) and SECRET not in str(exc)
        assert 400 <= exc.status < 500
        return
    assert SECRET not in repr(call)
