"""The same scenarios through the engine and through the Rasa action server: one interpreter of
the handler contract, so they behave alike (they once did not: verification errors escaped the
engine with raw values, and the two disagreed on what a failing verifier means)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _rasa_payloads import action_call

from safebot.channels.rasa import RasaActionServer
from safebot.engine import Bot
from safebot.testing import capture_logs, find_leaks

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parents[1] / "examples"
DOB = "1971-09-17"
CARD = "4111 1111 1111 1111"
SSN = "536-22-8801"
ERROR = "Sorry, something went wrong on our side. Please try again in a moment."


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bot, RasaActionServer]]:
    target = tmp_path_factory.mktemp("twin") / "twinbank"
    shutil.copytree(HERE / "fixtures" / "twinbank", target)
    config = (target / "bot.yaml").read_text().replace("../../../../examples/bank/policy.yaml", str(EXAMPLES / "bank" / "policy.yaml"))
    (target / "bot.yaml").write_text(config)
    bot = Bot.load(target, exporters=False)
    yield bot, RasaActionServer.from_bot(bot)
    bot.close()


def rasa(server: RasaActionServer, action: str, text: str, sender: str, **kw: Any) -> dict[str, Any]:
    return asyncio.run(server.run(action_call(action, text, sender=sender, **kw)))


def texts(body: dict[str, Any]) -> list[str]:
    return [r["text"] for r in body["responses"]]


def stored(bot: Bot) -> list[str]:
    """Every table's rows as read back, and the bytes of the SQLite file and its WAL."""
    rows = []
    for ref in bot.store.conversations():
        rows += [json.dumps(r, default=str) for r in bot.store.transcript(ref)]
        rows += [json.dumps(r, default=str) for r in bot.store.audit_log(ref)]
    for path in (bot.bot_dir / ".safebot").glob("safebot.sqlite3*"):
        rows.append(path.read_bytes().decode("latin-1"))
    return rows


def test_a_verifier_that_raises_counts_as_a_failed_attempt_on_both(twin: tuple[Bot, RasaActionServer]) -> None:
    bot, server = twin
    with capture_logs() as logs:
        bot.handle_sync("engine-1", "check my balance")
        engine = bot.handle_sync("engine-1", f"my date of birth is {DOB}")
        body = rasa(server, "safebot_verify", f"my date of birth is {DOB}", "rasa-1", slots={"dob": DOB})
    assert engine.replies[0] == ERROR and texts(body)[0] == ERROR
    assert bot.state("engine-1").auth_attempts == 1
    assert bot.state("rasa:rasa-1").auth_attempts == 1
    assert not find_leaks([DOB, "17/09/1971"], {"logs": logs, "stored": stored(bot), "body": [json.dumps(body)]})


def test_a_failing_handler_is_an_error_reply_on_both(twin: tuple[Bot, RasaActionServer]) -> None:
    bot, server = twin
    with capture_logs() as logs:
        engine = bot.handle_sync("engine-2", f"run the broken thing {CARD}")
        body = rasa(server, "broken", f"run the broken thing {CARD}", "rasa-2", intent="broken")
    assert engine.replies == (ERROR,) and texts(body) == [ERROR]
    assert any("handler broken failed (RuntimeError)" in line for line in logs)
    assert not find_leaks([CARD], {"logs": logs, "stored": stored(bot)})


def test_an_undeclared_reveal_is_denied_and_audited_on_both(twin: tuple[Bot, RasaActionServer]) -> None:
    bot, server = twin
    engine = bot.handle_sync("engine-3", f"tell me my ssn {SSN}")
    body = rasa(server, "nosy", f"tell me my ssn {SSN}", "rasa-3", intent="nosy")
    assert engine.replies == (ERROR,) and texts(body) == [ERROR]
    for cid in ("engine-3", "rasa:rasa-3"):
        assert any(a["event"] == "reveal_denied" and a["entity_type"] == "US_SSN" for a in bot.audit_log(cid))


def test_raw_slot_values_from_a_handler_are_cleaned_on_both(twin: tuple[Bot, RasaActionServer]) -> None:
    bot, server = twin
    engine = bot.handle_sync("engine-4", f"save my card {CARD}")
    body = rasa(server, "leaky", f"save my card {CARD}", "rasa-4", intent="save_card")
    assert engine.replies == ("Saved card ****1111.",) and texts(body) == ["Saved card ****1111."]
    slots = {e["name"]: e["value"] for e in body["events"] if e["event"] == "slot"}
    assert slots == {"saved_card": "<CREDIT_CARD_1>", "card_digits": "<CREDIT_CARD_1>"}
    assert bot.state("engine-4").slots["saved_card"] == "<CREDIT_CARD_1>"
    assert bot.state("engine-4").slots["card_digits"] == "<CREDIT_CARD_1>"
    assert not find_leaks([CARD], {"stored": stored(bot), "body": [json.dumps(body)]})
