"""The turn pipeline end to end on the minibank test bot (real SQLite file, real redactor)."""

from __future__ import annotations

import json
import uuid

import pytest

from safebot.engine import Bot
from safebot.testing import capture_logs, find_leaks

CARD = "4111 1111 1111 1111"


def cid() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def all_sinks(bot: Bot, conversation: str, logs: list[str]) -> dict[str, list[str]]:
    return {
        "transcript": [json.dumps(r, default=str) for r in bot.transcript(conversation)],
        "audit": [json.dumps(r, default=str) for r in bot.audit_log(conversation)],
        "analytics": [json.dumps(e.to_json()) for e in bot.test_analytics.events],  # type: ignore[attr-defined]
        "agent": [json.dumps(e.to_json()) for e in bot.test_agent.events],  # type: ignore[attr-defined]
        "analytics file": (bot.bot_dir / ".safebot" / "analytics.jsonl").read_text().splitlines(),
        "logs": logs,
    }


def test_greet_uses_bot_response(minibank: Bot) -> None:
    r = minibank.handle_sync(cid(), "hello")
    assert r.intent == "greet"
    assert r.replies == ("Hi! How can I help?",)


def test_out_of_scope_falls_back_then_hands_off(minibank: Bot) -> None:
    c = cid()
    first = minibank.handle_sync(c, "what's the weather like in paris")
    assert first.intent is None
    assert "rephrase" in first.replies[0]
    second = minibank.handle_sync(c, "tell me a joke about football")
    assert "colleague" in " ".join(second.replies)
    assert minibank.tracker(c).handed_off


def test_auth_gate_then_handler(minibank: Bot) -> None:
    c = cid()
    r = minibank.handle_sync(c, "what's my balance")
    assert r.intent == "check_balance"
    assert "verify" in r.replies[0] and "date of birth" in r.replies[-1]
    r = minibank.handle_sync(c, "my date of birth is 12/03/1984")
    assert "last four" in r.replies[-1]
    r = minibank.handle_sync(c, "4242")
    assert "verified" in r.replies[0]
    assert "balance is $1,234.56" in " ".join(r.replies)
    assert minibank.tracker(c).verified


def test_failed_verification_locks_after_three(minibank: Bot) -> None:
    c = cid()
    minibank.handle_sync(c, "check my balance")
    for _attempt in range(3):
        minibank.handle_sync(c, "born 01/01/1990")
        r = minibank.handle_sync(c, "9999")
    t = minibank.tracker(c)
    assert t.locked and t.handed_off and not t.verified
    assert "colleague" in " ".join(r.replies)
    later = minibank.handle_sync(c, "what's my balance")
    assert "colleague" in later.replies[0]


def test_form_interrupted_and_resumed(minibank: Bot) -> None:
    c = cid()
    r = minibank.handle_sync(c, "I want to make a transfer")
    assert "How much" in r.replies[-1]
    r = minibank.handle_sync(c, "hello")  # something else in the middle of the form
    assert r.replies[0] == "Hi! How can I help?"
    assert "back to where we were" in r.replies[-1]
    r = minibank.handle_sync(c, "$200")
    assert "checking or savings" in r.replies[-1]
    r = minibank.handle_sync(c, "banana")
    assert "Please say checking or savings" in r.replies[-1]
    r = minibank.handle_sync(c, "savings")
    assert r.replies[-1] == "Moved $200.00 to savings."
    assert minibank.tracker(c).form is None


def test_reveal_allowed_type_and_outbound_mask(minibank: Bot) -> None:
    c = cid()
    r = minibank.handle_sync(c, f"please freeze my card {CARD}")
    assert r.intent == "freeze_card"
    assert r.replies == ("Card ****1111 is now frozen.",)
    audit = minibank.audit_log(c)
    assert any(a["event"] == "revealed" and a["entity_type"] == "CREDIT_CARD" for a in audit)


def test_handler_error_is_safe(minibank: Bot) -> None:
    c = cid()
    with capture_logs() as logs:
        r = minibank.handle_sync(c, "thank you so much, sean o'neil")
    assert r.intent == "thanks"
    assert "went wrong" in r.replies[0]
    # the handler put the (redacted) text into its exception message; nothing raw is logged
    assert any("handler broken failed (RuntimeError)" in line for line in logs)
    assert not find_leaks(["sean o'neil"], {"logs": logs, "audit": [str(a) for a in minibank.audit_log(c)]})


def test_planted_pii_reaches_no_sink(minibank: Bot) -> None:
    c = cid()
    planted = [CARD, "sean o'neil", "123-45-6789", "GB82 WEST 1234 5698 7654 32", "12/03/1984"]
    with capture_logs() as logs:
        minibank.handle_sync(c, f"hi, I'm sean o'neil, card {CARD}")
        minibank.handle_sync(c, "my ssn is 123-45-6789 and iban GB82 WEST 1234 5698 7654 32")
        minibank.handle_sync(c, "check my balance")
        minibank.handle_sync(c, "12/03/1984")
        minibank.handle_sync(c, "talk to a human")
    sinks = all_sinks(minibank, c, logs)
    assert sinks["transcript"] and sinks["analytics"]
    assert find_leaks(planted, sinks) == []


def test_handoff_gives_agent_masked_transcript(minibank: Bot) -> None:
    c = cid()
    minibank.handle_sync(c, f"my card {CARD} was stolen")
    minibank.handle_sync(c, "let me speak to a person")
    agent_lines = [e.text.text for e in minibank.test_agent.events if e.conversation_id == minibank.conversation_ref(c)]  # type: ignore[attr-defined]
    assert any("****1111" in line for line in agent_lines)
    assert not find_leaks([CARD], {"agent": agent_lines})


def test_vault_holds_encrypted_card_and_shreds(minibank: Bot) -> None:
    c = cid()
    minibank.handle_sync(c, f"freeze card {CARD}")
    with minibank.store.unit_of_work() as uow:
        value = uow.vault_get(minibank.conversation_ref(c), "<CREDIT_CARD_1>")
    assert value is not None and value.reveal() == CARD
    minibank.store.forget(f"conversation:{minibank.conversation_ref(c)}")
    with minibank.store.unit_of_work() as uow:
        assert uow.vault_get(minibank.conversation_ref(c), "<CREDIT_CARD_1>") is None


def test_same_value_keeps_its_placeholder_across_turns(minibank: Bot) -> None:
    c = cid()
    minibank.handle_sync(c, f"card {CARD}")
    minibank.handle_sync(c, "card 4111-1111-1111-1111 again and 5555 5555 5555 4444")
    users = [r["text"] for r in minibank.transcript(c) if r["kind"] == "user"]
    assert users[0].endswith("<CREDIT_CARD_1>")
    assert "<CREDIT_CARD_1>" in users[1] and "<CREDIT_CARD_2>" in users[1]


def test_raw_string_to_sink_is_a_type_error(minibank: Bot) -> None:
    with pytest.raises(TypeError):
        minibank.test_analytics.emit("my card is 4111 1111 1111 1111")  # type: ignore[attr-defined]


def test_forget_customer_shreds_their_conversations(minibank: Bot) -> None:
    c = cid()
    minibank.handle_sync(c, f"freeze card {CARD}")
    minibank.handle_sync(c, "check my balance")
    minibank.handle_sync(c, "12/03/1984")
    minibank.handle_sync(c, "4242")
    assert minibank.tracker(c).customer_id == "C1"
    assert minibank.forget_customer("C1") >= 2
    with minibank.store.unit_of_work() as uow:
        assert uow.vault_get(minibank.conversation_ref(c), "<CREDIT_CARD_1>") is None
        assert uow.vault_get(minibank.conversation_ref(c), "<DATE_OF_BIRTH_1>") is None
    assert minibank.transcript(c)  # the redacted transcript stays


def test_bare_answer_to_a_pii_question_is_redacted(minibank: Bot) -> None:
    c = cid()
    minibank.handle_sync(c, "check my balance")  # asks for the date of birth
    minibank.handle_sync(c, "it's 0312 1984")  # not a date the recognizers know, but the answer
    users = [r["text"] for r in minibank.transcript(c) if r["kind"] == "user"]
    assert "0312" not in users[1] and "<DATE_OF_BIRTH_1>" in users[1]


def test_cancel_clears_the_form_slots(minibank: Bot) -> None:
    c = cid()
    minibank.handle_sync(c, "transfer 100 dollars")
    assert minibank.tracker(c).slots.get("amount") == "100.00"
    r = minibank.handle_sync(c, "cancel")
    assert "cancelled" in r.replies[0]
    assert "amount" not in minibank.tracker(c).slots
