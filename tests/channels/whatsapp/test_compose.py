"""Reply composition and inbound text extraction, table-driven (no server)."""

from __future__ import annotations

import pytest

from safebot.channels.whatsapp.compose import MAX_TEXT, to_messages
from safebot.channels.whatsapp.payloads import Message, run_text
from safebot.engine import Button
from safebot.serve.metrics import Metrics


@pytest.mark.parametrize(("buttons", "kind"), [
    ((), "text"),
    ((Button("Yes", "/affirm"), Button("No", "/deny")), "button"),
    (tuple(Button(f"Choice {i}", f"/c{i}") for i in range(5)), "list"),
    ((Button("Twenty-two characters!", "/x"),), "list"),
    (tuple(Button(f"Choice {i}") for i in range(12)), "text"),
    ((Button("An option title that is too long for a list row"),), "text"),
])
def test_buttons_become_reply_buttons_a_list_or_text(buttons: tuple[Button, ...], kind: str) -> None:
    [message] = to_messages(("Pick one",), (buttons,))
    got = message["interactive"]["type"] if message["type"] == "interactive" else "text"
    assert got == kind
    if kind == "text" and buttons:
        assert all(b.title in message["text"]["body"] for b in buttons)


def test_repeated_payloads_get_unique_ids_that_come_back_as_the_payload() -> None:
    [message] = to_messages(("Pick",), ((Button("One", "/greet"), Button("Two", "/greet")),))
    ids = [b["reply"]["id"] for b in message["interactive"]["action"]["buttons"]]
    assert ids == ["/greet", "/greet#2"]
    tapped = Message.model_validate({"from": "1", "id": "w", "type": "interactive", "interactive": {
        "type": "button_reply", "button_reply": {"id": ids[1], "title": "Two"}}})
    assert run_text(tapped) == ("interactive", "/greet")


def test_long_text_is_split_at_whatsapps_limit() -> None:
    text = ("word " * 2000).strip()
    parts = [m["text"]["body"] for m in to_messages((text,))]
    assert len(parts) == 3 and all(len(p) <= MAX_TEXT for p in parts)
    assert " ".join(parts) == text


@pytest.mark.parametrize(("message", "expected"), [
    ({"type": "text", "text": {"body": "hi"}}, ("text", "hi")),
    ({"type": "interactive", "interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Yes"}}},
     ("interactive", "Yes")),
    ({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": "/menu", "title": "Menu"}}},
     ("interactive", "/menu")),
    ({"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}}},
     ("unsupported", None)),
    ({"type": "button", "button": {"payload": "promo-1", "text": "Stop promotions"}}, ("button", "Stop promotions")),
    ({"type": "button", "button": {"payload": "/deny", "text": "No"}}, ("button", "/deny")),
    ({"type": "image", "image": {"id": "1", "caption": "my card 4539"}}, ("unsupported", None)),
    ({"type": "system", "system": {"body": "changed number"}}, ("system", None)),
    ({"type": "text"}, ("unsupported", None)),
])
def test_what_a_turn_runs_on(message: dict[str, object], expected: tuple[str, str | None]) -> None:
    assert run_text(Message.model_validate({"from": "16505551234", "id": "wamid.X", **message})) == expected


def test_models_never_show_values() -> None:
    m = Message.model_validate({"from": "16505551234", "id": "wamid.X", "type": "text", "text": {"body": "4539 1488"}})
    assert "4539" not in repr(m) and "16505551234" not in str(m)


def test_blocked_turns_and_unknown_entity_types_in_metrics() -> None:
    metrics = Metrics(["CREDIT_CARD"])
    metrics.observe_turn("rest", 0.01, blocked=True)
    text = metrics.render().decode()
    assert 'safebot_blocked_messages_total{channel="rest"} 1.0' in text
    assert 'safebot_turns_total{channel="rest",outcome="blocked"} 1.0' in text
    assert metrics.entity_label("CREDIT_CARD") == "CREDIT_CARD"
    assert metrics.entity_label("4539 1488") == "OTHER"
