"""rasa_handler: an existing rasa_sdk.Action run as a safebot handler."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.events import AllSlotsReset, ConversationPaused, FollowupAction, Restarted, SlotSet

from safebot.channels import rasa_handler
from safebot.engine import Context, Handler, Result
from safebot.errors import HandlerError
from safebot.nlu.placeholders import EntityCandidate
from safebot.redaction.audit import AuditRecord
from safebot.sensitive import Sensitive


class Recorder(Action):
    """Keeps what it was given; returns the events it was built with."""

    def __init__(self, events: list[Any] | None = None, name: str = "action_record") -> None:
        self.events = events if events is not None else []
        self._name = name
        self.seen: dict[str, Any] = {}

    def name(self) -> str:
        return self._name

    async def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[Any]:
        self.seen = {
            "text": tracker.latest_message["text"],
            "intent": tracker.get_intent_of_latest_message(),
            "slots": dict(tracker.slots),
            "entities": list(tracker.get_latest_entity_values("CREDIT_CARD")),
            "channel": tracker.get_latest_input_channel(),
            "sender": tracker.sender_id,
            "domain": domain,
        }
        dispatcher.utter_message(text="first", buttons=[{"title": "Yes", "payload": "/affirm"}])
        dispatcher.utter_message(image="https://example.com/x.png")   # dropped: replies are text
        dispatcher.utter_message(response="utter_hello")
        return self.events


def ctx(**kw: Any) -> Context:
    base: dict[str, Any] = {
        "conversation_id": "c1", "text": "freeze <CREDIT_CARD_1>", "intent": "freeze_card", "confidence": 0.9,
        "slots": {"card": "<CREDIT_CARD_1>", "name": "<PERSON_1>"},
        "entities": (EntityCandidate("CREDIT_CARD", "<CREDIT_CARD_1>", 7, 22),), "customer_id": "C1",
    }
    base.update(kw)
    return Context(**base)


def run(handler: Handler, context: Context) -> Result:
    return asyncio.run(handler.run(context))


def test_builds_a_handler() -> None:
    h = rasa_handler(Recorder(), intents=("freeze_card",), requires_auth=True, reveals=("CREDIT_CARD",))
    assert (h.name, h.intents, h.requires_auth, h.reveals) == ("action_record", ("freeze_card",), True, frozenset({"CREDIT_CARD"}))
    assert h.description == "Keeps what it was given; returns the events it was built with."
    assert rasa_handler(Recorder, name="other").name == "other"   # a subclass is instantiated, like rasa-sdk
    with pytest.raises(TypeError):
        rasa_handler(object())


def test_tracker_is_built_from_redacted_state() -> None:
    action = Recorder()
    domain = {"responses": {"utter_hello": [{"text": "Hello {name}, customer {safebot_verified_customer}."}]}}
    result = run(rasa_handler(action, domain=domain), ctx())
    assert action.seen == {
        "text": "freeze <CREDIT_CARD_1>",
        "intent": "freeze_card",
        "slots": {"card": "<CREDIT_CARD_1>", "name": "<PERSON_1>", "safebot_verified_customer": "C1"},
        "entities": ["<CREDIT_CARD_1>"],
        "channel": "api",
        "sender": "c1",
        "domain": domain,
    }
    assert [(r.text, r.buttons) for r in result.replies] == [
        ("first", ("Yes",)), ("Hello <PERSON_1>, customer C1.", ()),
    ]


def test_declared_types_are_revealed_for_the_action_and_audited() -> None:
    audit: list[AuditRecord] = []
    values = {"<CREDIT_CARD_1>": Sensitive("4111 1111 1111 1111")}
    context = ctx(handler="action_record", _allowed=frozenset({"CREDIT_CARD"}), _lookup=values.get, _audit=audit.append)
    action = Recorder()
    run(rasa_handler(action, reveals=("CREDIT_CARD",)), context)
    assert action.seen["slots"]["card"] == "4111 1111 1111 1111"
    assert action.seen["slots"]["name"] == "<PERSON_1>"            # not declared: stays a placeholder
    assert action.seen["text"] == "freeze <CREDIT_CARD_1>"          # the text is never revealed
    assert [(r.event, r.entity_type) for r in audit] == [("revealed", "CREDIT_CARD"), ("revealed", "CREDIT_CARD")]


def test_events_become_the_result() -> None:
    events = [SlotSet("card_state", "frozen"), SlotSet("attempts", 2), SlotSet("card", None),
              FollowupAction("transfer"), ConversationPaused(), {"event": "bot", "text": "done"}]
    result = run(rasa_handler(Recorder(events)), ctx())
    assert dict(result.slots) == {"card_state": "frozen", "attempts": 2}
    assert result.clear_slots == ("card",)
    assert result.start_form == "transfer" and result.handoff is True
    assert [r.text for r in result.replies][-1] == "done"
    reset = run(rasa_handler(Recorder([SlotSet("x", "1"), AllSlotsReset()])), ctx())
    assert dict(reset.slots) == {} and set(reset.clear_slots) == {"card", "name"}


@pytest.mark.parametrize("events", [
    [Restarted()],
    [SlotSet("card", {"number": "4111 1111 1111 1111"})],
    [{"no_event_key": True}],
    "not a list",
])
def test_events_safebot_cannot_apply_raise(events: Any) -> None:
    with pytest.raises(HandlerError) as err:
        run(rasa_handler(Recorder(events)), ctx())
    assert "4111" not in str(err.value)


def test_a_sync_action_works() -> None:
    class Sync(Action):
        def name(self) -> str:
            return "action_sync"

        def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[Any]:  # type: ignore[override]
            dispatcher.utter_message(text=f"hi {tracker.latest_message['text']}")
            return [SlotSet("seen", True)]

    result = run(rasa_handler(Sync()), ctx(text="hello"))
    assert [r.text for r in result.replies] == ["hi hello"] and dict(result.slots) == {"seen": True}


def test_in_a_safebot_conversation(served: Any) -> None:
    """The wrapped action behind safebot's own dialogue: verification first, outbound masking."""
    bot = served.bot
    cid = "adapter-conversation"
    first = bot.handle_sync(cid, "what is the status of my card").replies
    assert first[0] == "Before I can help with that, I need to verify your identity."
    bot.handle_sync(cid, "my date of birth is 1984-03-12")
    replies = bot.handle_sync(cid, "4242").replies
    assert "Thanks, you're verified." in replies
    assert replies[-1] == "Anything else, customer C1?"
    assert bot.tracker(cid).slots.get("card_state") == "active"
