"""The Rasa action server over real HTTP on loopback: protocol, redaction, errors, leaks."""

from __future__ import annotations

import json
import re
import time
import uuid
import zlib
from typing import Any

import httpx
import pytest
from _rasa_payloads import CARD, DOB, NAME, PHONE_SENDER, PLANTED, SSN, action_call
from conftest import Served

from safebot.testing import find_leaks

pytestmark = pytest.mark.slow


def texts(body: dict[str, Any]) -> list[str]:
    return [r["text"] for r in body["responses"]]


def slots(body: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in body["events"] if e["event"] == "slot"}


def assert_no_leaks(**sinks: list[str]) -> None:
    leaks = find_leaks(PLANTED, sinks)
    if leaks:  # say where, without printing the value
        canon = [re.sub(r"[^0-9a-z]", "", v.lower()) for v in PLANTED]
        where = [(name, i) for name, lines in sinks.items() for i, line in enumerate(lines)
                 if any(c in re.sub(r"[^0-9a-z]", "", line.lower()) for c in canon)]
        detail = [sinks[n][i][:300] for n, i in where[:3]]
    assert not leaks, (leaks, detail)


def new_sender() -> str:
    """A fresh Rasa sender (a phone number, as on WhatsApp): each test its own conversation."""
    return f"{PHONE_SENDER}{uuid.uuid4().hex[:6]}"


def verified(served: Served) -> str:
    """A sender that passed safebot_verify (identity lives in safebot's store, not in slots)."""
    sender = new_sender()
    body = served.post(action_call("safebot_verify", DOB, slots={"dob": DOB, "last4": "4242"}, sender=sender)).json()
    assert texts(body) == ["Thanks, you're verified."]
    return sender


# -- protocol --------------------------------------------------------------------------------


def test_health_and_actions(served: Served) -> None:
    assert httpx.get(f"{served.url}/health").json() == {"status": "ok"}
    names = [a["name"] for a in httpx.get(f"{served.url}/actions", params={"token": served.token}).json()]
    assert names == ["balance", "freeze", "transfer", "echo", "broken", "nosy", "agent", "action_card_status", "safebot_verify"]


def test_unknown_action_is_404_like_rasa_sdk(served: Served) -> None:
    r = served.post(action_call("action_does_not_exist"))
    assert r.status_code == 404
    assert r.json() == {
        "error": "No registered action found for name 'action_does_not_exist'.",
        "action_name": "action_does_not_exist",
    }


def test_unknown_action_name_holding_pii_is_not_echoed(served: Served) -> None:
    for name in (CARD, f"action_{CARD.replace(' ', '')}", NAME):
        r = served.post(action_call(name))
        assert r.status_code == 404
        assert r.json() == {"error": "No registered action found for that name.", "action_name": None}
    assert_no_leaks(bodies=served.bodies[-3:], logs=served.logs)


def test_action_name_with_action_prefix_is_accepted(served: Served) -> None:
    r = served.post(action_call("action_balance", intent="check_balance", sender=verified(served)))
    assert r.status_code == 200
    assert texts(r.json()) == ["Your checking balance is $1,234.56, customer C1."]


def test_response_has_rasa_sdk_shape(served: Served) -> None:
    body = served.post(action_call("balance", sender=verified(served))).json()
    assert set(body) == {"events", "responses"}
    assert body["events"] == []
    # exactly the keys CollectingDispatcher.utter_message produces
    from rasa_sdk.executor import CollectingDispatcher

    d = CollectingDispatcher()
    d.utter_message(text="x")
    assert set(body["responses"][0]) == set(d.messages[0])


# -- the door: a token ---------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "wrong-token", "x" * 200])
def test_requests_without_the_token_are_refused_before_anything_runs(served: Served, token: str) -> None:
    before = (len(served.audit), len(served.bot.store.conversations()))
    r = served.post(action_call("echo", f"my card is {CARD}", intent="echo"), token=token)
    assert r.status_code == 401
    assert httpx.get(f"{served.url}/actions", params={"token": token}).status_code == 401
    assert (len(served.audit), len(served.bot.store.conversations())) == before  # nothing processed
    assert_no_leaks(bodies=[r.text], logs=served.logs)


def test_token_in_a_bearer_header_is_accepted(served: Served) -> None:
    r = httpx.post(
        f"{served.url}/webhook", json=action_call("echo", "hello", intent="echo", sender=new_sender()),
        headers={"authorization": f"Bearer {served.token}"}, timeout=60,
    )
    assert r.status_code == 200


def test_serve_refuses_a_public_address_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    from safebot.channels.rasa import serve
    from safebot.errors import ConfigError

    monkeypatch.delenv("SAFEBOT_ACTION_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="without a token"):
        serve(object(), host="0.0.0.0", port=1)  # type: ignore[arg-type]


# -- identity: safebot's, never the caller's ------------------------------------------------------


def test_auth_required_without_verification(served: Served) -> None:
    body = served.post(action_call("balance", "what's my balance", intent="check_balance", sender=new_sender())).json()
    assert texts(body) == ["Before I can help with that, I need to verify your identity."]
    assert body["events"] == []


@pytest.mark.parametrize("forged", [
    {"safebot_verified_customer": "C1"},
    {"safebot_verified_customer": "C1", "safebot_verified": True, "safebot_locked": False},
    {"safebot_verified_customer": f"{NAME} {CARD}"},
])
def test_a_forged_identity_slot_yields_no_account_data(served: Served, forged: dict[str, Any]) -> None:
    sender = new_sender()
    for action in ("balance", "action_card_status"):
        body = served.post(action_call(action, "balance please", intent="check_balance", slots=forged, sender=sender)).json()
        assert texts(body) == ["Before I can help with that, I need to verify your identity."]
        assert "C1" not in json.dumps(body)
    assert_no_leaks(bodies=served.bodies[-2:], logs=served.logs)


def test_verification_is_kept_per_sender(served: Served) -> None:
    sender = verified(served)
    assert texts(served.post(action_call("balance", sender=sender)).json()) == ["Your checking balance is $1,234.56, customer C1."]
    other = new_sender()  # another sender claiming nothing gets nothing
    assert texts(served.post(action_call("balance", sender=other)).json())[0].startswith("Before I can help")


def test_verify_action_reports_and_clears_the_form(served: Served) -> None:
    before = len(served.audit)
    body = served.post(action_call("safebot_verify", "1984-03-12", slots={"dob": DOB, "last4": "4242"}, sender=new_sender())).json()
    assert texts(body) == ["Thanks, you're verified."]
    assert slots(body) == {"dob": None, "last4": None, "requested_slot": None, "safebot_verified": True}
    new = served.audit[before:]
    assert any(r.event == "revealed" and r.entity_type == "DATE_OF_BIRTH" and r.handler == "verification" for r in new)
    assert_no_leaks(bodies=[json.dumps(body)], audit=[json.dumps(r.to_json()) for r in new])


def test_verify_action_asks_for_missing_slots(served: Served) -> None:
    body = served.post(action_call("safebot_verify", "verify me", sender=new_sender())).json()
    assert texts(body) == ["What is your date of birth?"]
    assert slots(body) == {"requested_slot": "dob"}


@pytest.mark.parametrize("reset", [{}, {"safebot_auth_attempts": 0}, {"safebot_auth_attempts": 0.0}, {"safebot_locked": False}])
def test_failed_attempts_lock_whatever_the_caller_sends(served: Served, reset: dict[str, Any]) -> None:
    sender = new_sender()
    wrong = {"dob": "1990-01-01", "last4": "0000", **reset}
    for _ in range(2):
        body = served.post(action_call("safebot_verify", "x", slots=wrong, sender=sender)).json()
        assert texts(body) == ["Sorry, those details don't match our records."]
    body = served.post(action_call("safebot_verify", "x", slots=wrong, sender=sender)).json()
    assert slots(body)["safebot_locked"] is True
    assert {"event": "pause", "timestamp": None} in body["events"]  # ConversationPaused: a human takes over
    # Locked for good: the right details no longer get in, whatever the slots say.
    body = served.post(action_call("safebot_verify", DOB, slots={"dob": DOB, "last4": "4242", **reset}, sender=sender)).json()
    assert "can't try again" in texts(body)[0]
    assert texts(served.post(action_call("balance", sender=sender)).json()) != ["Your checking balance is $1,234.56, customer C1."]


def test_sequential_ids_enumerate_nothing(served: Served) -> None:
    for n in range(1, 6):
        body = served.post(action_call("balance", slots={"safebot_verified_customer": f"C{n}"}, sender=new_sender())).json()
        assert "balance is" not in json.dumps(body)


# -- redaction -------------------------------------------------------------------------------


def test_handler_sees_only_redacted_text_slots_and_entities(served: Served) -> None:
    text = f"my card is {CARD}, I am {NAME} and my SSN is {SSN}"
    call = action_call(
        "echo", text, intent="echo",
        slots={"holder_name": NAME, "ssn": SSN.replace("-", ""), "card_number": CARD, "amount_paid": 4111111111111111, "vip": True},
        entities=[{"entity": "card", "start": 11, "end": 30, "value": CARD, "extractor": "RegexEntityExtractor"},
                  {"entity": "name", "value": NAME, "extractor": "DIETClassifier", "confidence_entity": 0.99}],
    )
    body = served.post(call).json()
    said, entities, slot_line = texts(body)
    assert said == "You said: my card is <CREDIT_CARD_1>, I am <PERSON_1> and my SSN is <US_SSN_1>"
    assert "card=<CREDIT_CARD_1>" in entities and "name=<PERSON_1>" in entities
    assert "holder_name=<PERSON_1>" in slot_line and "ssn=<US_SSN_1>" in slot_line
    assert "card_number=<CREDIT_CARD_1>" in slot_line and "amount_paid=<CREDIT_CARD_1>" in slot_line
    assert "vip=True" in slot_line
    assert_no_leaks(bodies=[json.dumps(body)], logs=served.logs)


def test_a_value_keeps_its_placeholder_across_calls(served: Served) -> None:
    sender = new_sender()
    other = "5555 5555 5555 4444"
    first = texts(served.post(action_call("echo", f"card {CARD}", intent="echo", sender=sender)).json())[0]
    second = texts(served.post(action_call("echo", f"card {other} and {CARD}", intent="echo", sender=sender)).json())[0]
    assert first == "You said: card <CREDIT_CARD_1>"
    assert second == "You said: card <CREDIT_CARD_2> and <CREDIT_CARD_1>"


def test_reveal_and_outbound_redaction(served: Served) -> None:
    before = len(served.audit)
    call = action_call("freeze", f"freeze card {CARD}", intent="freeze_card", sender=new_sender())
    body = served.post(call).json()
    assert texts(body) == ["Card ****1111 is now frozen."]      # the customer treatment: last four
    assert slots(body) == {"card_state": "frozen", "frozen_card": "<CREDIT_CARD_1>"}  # never the number
    new = served.audit[before:]
    assert [r.handler for r in new if r.event == "revealed"] == ["freeze"]
    assert all(r.conversation_id and r.conversation_id.startswith("c-") for r in new)
    assert_no_leaks(bodies=[json.dumps(body)], audit=[json.dumps(r.to_json()) for r in new], logs=served.logs)


def test_reveal_of_undeclared_type_is_denied_and_audited(served: Served) -> None:
    before = len(served.audit)
    body = served.post(action_call("nosy", f"my SSN is {SSN}", intent="nosy")).json()
    assert texts(body) == ["Sorry, something went wrong on our side. Please try again in a moment."]
    assert any(r.event == "reveal_denied" and r.entity_type == "US_SSN" for r in served.audit[before:])
    assert_no_leaks(bodies=[json.dumps(body)], logs=served.logs)


def test_failing_handler_leaks_nothing(served: Served) -> None:
    r = served.post(action_call("broken", f"card {CARD} for {NAME}", intent="broken"))
    assert r.status_code == 200
    assert texts(r.json()) == ["Sorry, something went wrong on our side. Please try again in a moment."]
    assert any("handler broken failed (RuntimeError)" in line for line in served.logs)
    assert_no_leaks(bodies=[r.text], logs=served.logs)


def test_form_is_filled_from_the_message_or_asked(served: Served) -> None:
    sender = new_sender()
    body = served.post(action_call("transfer", "transfer money", intent="transfer_funds", sender=sender)).json()
    assert texts(body) == ["How much would you like to move?"]
    assert slots(body) == {"requested_slot": "amount"}
    body = served.post(action_call("transfer", "move $200 to savings", intent="transfer_funds", sender=sender)).json()
    assert texts(body) == ["Moved $200.00 to savings."]
    assert slots(body)["amount"] is None and slots(body)["to_account"] is None  # a finished form starts fresh
    body = served.post(action_call("transfer", "savings", intent="inform",
                                   slots={"amount": "50.00", "requested_slot": "to_account"}, sender=sender)).json()
    assert texts(body) == ["Moved $50.00 to savings."]


def test_handoff_pauses_the_conversation(served: Served) -> None:
    body = served.post(action_call("agent", "talk to a human", intent="human_handoff")).json()
    assert {"event": "pause", "timestamp": None} in body["events"]
    assert texts(body) == ["I'm passing you to a colleague who will be with you shortly."]


def test_wrapped_rasa_sdk_action(served: Served) -> None:
    call = action_call(
        "action_card_status", f"status of {CARD} please {NAME}", intent="card_status",
        slots={"card_number": CARD}, sender=verified(served),
    )
    body = served.post(call).json()
    assert texts(body) == [
        "Card ****1111 is active. You asked: status of <CREDIT_CARD_1> please <PERSON_1>",
        "Anything else, customer C1?",
    ]
    assert slots(body) == {"card_state": "active", "card_number": "<CREDIT_CARD_1>"}
    assert_no_leaks(bodies=[json.dumps(body)], logs=served.logs)


# -- bad input ---------------------------------------------------------------------------------


BAD_BODIES: list[tuple[bytes, str]] = [
    (f'{{"next_action": "echo", "tracker": {{"text": "{CARD}"'.encode(), "request body is not valid JSON"),
    (f"card {CARD} name {NAME}".encode(), "request body is not valid JSON"),
    (json.dumps([CARD, NAME]).encode(), "'body' must be a JSON object"),
    (json.dumps({"tracker": {"sender_id": "x", "latest_message": {"text": CARD}}}).encode(), "'next_action' must be a non-empty string"),
    (json.dumps({"next_action": CARD, "tracker": {}}).encode(), "'tracker.sender_id' must be a non-empty string"),
    (json.dumps({"next_action": "echo", "tracker": CARD}).encode(), "'tracker' must be a JSON object"),
    (json.dumps({"next_action": "echo", "tracker": {"sender_id": PHONE_SENDER, "slots": [CARD]}}).encode(), "'tracker.slots' must be a JSON object"),
    (json.dumps({"next_action": "echo", "tracker": {"sender_id": "s", "latest_message": {"text": 4111111111111111}}}).encode(),
     "'tracker.latest_message.text' must be a string or null"),
    (json.dumps({"next_action": "echo", "tracker": {"sender_id": "s", "latest_message": {"intent": {"name": "x", "confidence": SSN}}}}).encode(),
     "'tracker.latest_message.intent.confidence' must be a number"),
    (json.dumps({"next_action": "echo", "tracker": {"sender_id": "s", "latest_message": {"entities": [CARD]}}}).encode(),
     "each entity must be a JSON object"),
    (json.dumps({"next_action": "echo", "tracker": {"sender_id": "s", "events": {"x": NAME}}}).encode(), "'tracker.events' must be a list"),
    (b"", "Invalid body request"),
]


@pytest.mark.parametrize("content,message", BAD_BODIES)
def test_malformed_bodies_get_safe_400s(served: Served, content: bytes, message: str) -> None:
    r = served.post(content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"] == message
    assert "action_name" in r.json()   # Rasa reads it from every 400
    assert_no_leaks(bodies=[r.text], logs=served.logs)
    assert served.post(action_call("echo", sender=new_sender())).status_code == 200


def test_deflated_body_is_accepted(served: Served) -> None:
    content = zlib.compress(json.dumps(action_call("balance", sender=verified(served))).encode())
    r = served.post(content=content, headers={"content-encoding": "deflate", "content-type": "application/json"})
    assert r.status_code == 200 and texts(r.json()) == ["Your checking balance is $1,234.56, customer C1."]
    r = served.post(content=b"not deflate " + CARD.encode(), headers={"content-encoding": "deflate"})
    assert r.status_code == 400 and r.json()["error"] == "request body could not be decompressed"


def test_oversized_body_is_413(served: Served) -> None:
    content = json.dumps(action_call("echo", CARD * 70_000, intent="echo")).encode()
    r = served.post(content=content, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert CARD not in r.text


def test_a_long_session_is_accepted_and_a_long_message_refused_at_once(served: Served) -> None:
    call = action_call("echo", f"card {CARD}", intent="echo", sender=new_sender())
    user = call["tracker"]["events"][3]
    call["tracker"]["events"] += [dict(user, text=f"turn {i}: my card is {CARD}") for i in range(1000)]
    assert 400_000 < len(json.dumps(call)) < 1_000_000
    r = served.post(call)
    assert r.status_code == 200 and texts(r.json())[0] == "You said: card <CREDIT_CARD_1>"
    started = time.monotonic()
    r = served.post(action_call("echo", f"{CARD} " * 2000, intent="echo", sender=new_sender()))
    assert r.status_code == 200 and "too long" in texts(r.json())[0]
    assert time.monotonic() - started < 5  # refused before detection, not after it


def test_too_many_slots_is_413(served: Served) -> None:
    call = action_call("echo", "hi", intent="echo", slots={f"s{i}": i for i in range(1500)}, sender=new_sender())
    r = served.post(call)
    assert r.status_code == 413


def test_other_routes_and_methods_say_nothing_about_the_request(served: Served) -> None:
    r = httpx.get(f"{served.url}/webhook?card={CARD.replace(' ', '')}")
    assert r.status_code == 405 and CARD.replace(" ", "") not in r.text
    r = httpx.post(f"{served.url}/nowhere/{NAME}", json={"x": CARD})
    assert r.status_code == 404 and NAME not in r.text and CARD not in r.text
    assert httpx.get(f"{served.url}/docs").status_code == 404


# -- everything the server wrote -------------------------------------------------------------------


def test_store_sinks_logs_and_bodies_hold_no_planted_pii(served: Served) -> None:
    text = f"my card is {CARD}, I am {NAME}, SSN {SSN}, born {DOB}"
    sender = new_sender()
    served.post(action_call("echo", text, intent="echo", slots={"holder_name": NAME, "ssn": SSN, "dob": DOB}, sender=sender))
    served.post(action_call("freeze", text, intent="freeze_card", sender=sender))
    served.post(action_call("broken", text, intent="broken", sender=sender))
    served.post(action_call("safebot_verify", text, slots={"dob": DOB, "last4": "4242"}, sender=sender))
    store = served.bot.store
    rows = store.audit_log()
    assert rows and {r["event"] for r in rows} >= {"redacted", "revealed"}
    conversations = store.conversations()
    assert conversations and all(c.startswith("c-") for c in conversations)   # sender ids (phone numbers) are hashed
    transcript = [json.dumps(row, default=str) for c in conversations for row in store.transcript(c)]
    assert any('"kind": "bot"' in row for row in transcript)
    analytics = served.bot.bot_dir / ".safebot" / "analytics.jsonl"
    assert analytics.exists()
    assert_no_leaks(
        audit_rows=[json.dumps(r, default=str) for r in rows],
        audit_records=[json.dumps(r.to_json()) for r in served.audit],
        transcript=transcript,
        analytics=analytics.read_text().splitlines(),
        logs=served.logs,
        bodies=[b for b in served.bodies if "****1111" not in b] + [b.replace("****1111", "") for b in served.bodies],
    )
    assert not any(line.startswith(("ERROR uvicorn", "CRITICAL")) or "uvicorn.access" in line for line in served.logs)
