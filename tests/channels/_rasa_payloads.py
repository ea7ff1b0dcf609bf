"""Rasa action-server payloads for the tests: planted PII and the JSON Rasa 3.x posts."""

from __future__ import annotations

from typing import Any

#: planted in Rasa payloads; none may appear in a log line, audit row, sink or error body
CARD = "4111 1111 1111 1111"
NAME = "John Smith"
SSN = "536-22-8801"
DOB = "1984-03-12"
PHONE_SENDER = "+14155550123"   # Rasa's sender_id is a phone number on WhatsApp/Twilio channels
PLANTED = [CARD, NAME, SSN, DOB, PHONE_SENDER]


def action_call(
    action: str,
    text: str | None = "hello",
    *,
    intent: str = "greet",
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    sender: str = PHONE_SENDER,
) -> dict[str, Any]:
    """The JSON Rasa 3.x posts to an action server (rasa/core/actions/action.py, RemoteAction)."""
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.97},
        "entities": entities or [],
        "intent_ranking": [{"name": intent, "confidence": 0.97}, {"name": "greet", "confidence": 0.01}],
        "message_id": "8c0ec1c1b1f34b5c9d0c3f5a2e1f0a9b",
        "metadata": {},
    }
    all_slots = {"session_started_metadata": None, "requested_slot": None, **(slots or {})}
    return {
        "next_action": action,
        "sender_id": sender,
        "tracker": {
            "sender_id": sender,
            "slots": all_slots,
            "latest_message": parse_data,
            "latest_event_time": 1732870000.5,
            "followup_action": None,
            "paused": False,
            "stack": [],
            "events": [
                {"event": "action", "timestamp": 1732870000.1, "name": "action_session_start", "policy": None, "confidence": 1.0},
                {"event": "session_started", "timestamp": 1732870000.1},
                {"event": "action", "timestamp": 1732870000.1, "name": "action_listen"},
                {"event": "user", "timestamp": 1732870000.4, "text": text, "parse_data": parse_data, "input_channel": "rest", "message_id": parse_data["message_id"]},
                {"event": "user_featurization", "timestamp": 1732870000.5, "use_text_for_featurization": False},
            ],
            "latest_input_channel": "rest",
            "active_loop": {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
        "domain": {
            "version": "3.1",
            "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
            "intents": ["greet", "check_balance", "freeze_card", "card_status"],
            "entities": ["card", "name", "ssn"],
            "slots": {"card_number": {"type": "text", "mappings": [{"type": "from_entity", "entity": "card"}]}},
            "responses": {"utter_greet": [{"text": "Hi!"}]},
            "actions": ["balance", "freeze", "action_card_status"],
            "forms": {},
            "e2e_actions": [],
        },
        "version": "3.6.20",
        "domain_digest": "b1d9f0e3c5a7",
    }
