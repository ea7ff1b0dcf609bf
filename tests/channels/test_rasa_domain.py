"""``safebot rasa-domain``: the Rasa domain fragment for a bot's handlers (channels/rasa_domain.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from safebot.channels.rasa_domain import domain_for, domain_yaml
from safebot.engine.config import load_bot_config
from safebot.engine.forms import Form, SlotSpec
from safebot.engine.handlers import Handler, Result, Routes, Verification
from safebot.engine.loader import load_routes
from safebot.errors import WiringError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TEXT_SLOT = {"type": "text", "influence_conversation": False, "mappings": [{"type": "custom"}]}
#: what a caller could use to claim an identity: never in the domain
IDENTITY = {"safebot_verified_customer", "safebot_auth_attempts", "customer_id"}


def _bot(tmp_path: Path, source: Path) -> Path:
    target = tmp_path / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".safebot"))
    if not (target / "policy.yaml").exists():
        shutil.copy(ROOT / "examples" / "bank" / "policy.yaml", target / "policy.yaml")
    return target


def _routes(bot_dir: Path) -> Routes:
    return load_routes(bot_dir, load_bot_config(bot_dir).handlers)


@pytest.mark.parametrize("source", [HERE / "fixtures" / "rasabank", ROOT / "examples" / "bank",
                                    HERE / "fixtures" / "rasaforms"])
def test_every_action_and_form_slot_is_declared_and_no_identity(tmp_path: Path, source: Path) -> None:
    routes = _routes(_bot(tmp_path, source))
    domain = domain_for(routes)
    assert domain["version"] == "3.1"
    assert domain["actions"] == [h.name for h in routes.handlers] + ["safebot_verify"]
    form_slots = {s.name for h in routes.handlers if h.form for s in h.form.slots}
    assert routes.verification is not None
    form_slots |= {s.name for s in routes.verification.form.slots}
    slots = domain["slots"]
    assert set(slots) == form_slots | {"requested_slot", "safebot_verified", "safebot_locked"}
    assert all(slots[name] == TEXT_SLOT for name in form_slots)
    # featurized as "a question is pending" only: rules that route answers keep working as it changes
    assert slots["requested_slot"] == {"type": "text", "influence_conversation": True, "mappings": [{"type": "custom"}]}
    assert slots["safebot_verified"]["type"] == "bool" and slots["safebot_locked"]["type"] == "bool"
    assert not IDENTITY & set(slots)
    # no slot may be filled by Rasa's NLU (from_entity / from_text) or by running a handler each turn
    assert all(m == {"type": "custom"} for s in slots.values() for m in s["mappings"])


def test_the_rasabank_fragment(tmp_path: Path) -> None:
    domain = domain_for(_routes(_bot(tmp_path, HERE / "fixtures" / "rasabank")))
    assert domain["actions"] == ["balance", "freeze", "transfer", "echo", "broken", "nosy", "agent",
                                 "action_card_status", "safebot_verify"]
    assert list(domain["slots"]) == ["amount", "to_account", "dob", "last4", "requested_slot",
                                     "safebot_verified", "safebot_locked"]


async def _run(ctx: Any) -> Result:
    return Result()


async def _verify(ctx: Any) -> str | None:
    return None


@pytest.mark.parametrize("slot", ["requested_slot", "safebot_verified", "safebot_locked", "safebot_verified_customer"])
def test_a_form_slot_named_like_safebots_own_fails(slot: str) -> None:
    routes = Routes([Handler("h", ("i",), _run, form=Form("f", [SlotSpec(slot, "?")]))])
    with pytest.raises(WiringError, match=slot):
        domain_for(routes)


def test_a_bot_without_forms_or_verification() -> None:
    assert domain_for(Routes([Handler("hello", ("greet",), _run)])) == {"version": "3.1", "actions": ["hello"], "slots": {}}
    verified = Routes([], verification=Verification(Form("v", [SlotSpec("dob", "?")]), _verify))
    assert set(domain_for(verified)["slots"]) == {"dob", "requested_slot", "safebot_verified", "safebot_locked"}


def test_yaml_round_trips_with_comments_naming_intents(tmp_path: Path) -> None:
    routes = _routes(_bot(tmp_path, HERE / "fixtures" / "rasabank"))
    text = domain_yaml(routes, bot_name="Rasa Bank")
    assert yaml.safe_load(text) == domain_for(routes)
    assert "#   balance: check_balance" in text and "#   safebot_verify:" in text


def test_the_command(tmp_path: Path) -> None:
    from safebot.cli import app

    bot_dir = _bot(tmp_path, HERE / "fixtures" / "rasabank")
    result = CliRunner().invoke(app, ["rasa-domain", str(bot_dir)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.output) == domain_for(_routes(bot_dir))
    missing = CliRunner().invoke(app, ["rasa-domain", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "is not a directory" in missing.output
