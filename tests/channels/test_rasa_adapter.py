"""rasa_handler: existing rasa_sdk actions (and their form validation) run as safebot handlers."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _rasa_payloads import action_call
from rasa_sdk import Action
from rasa_sdk.events import (
    ActionExecutionRejected,
    ActiveLoop,
    AllSlotsReset,
    ConversationPaused,
    FollowupAction,
    Restarted,
    SlotSet,
)
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.interfaces import ActionExecutionRejection

from safebot.channels import rasa_handler
from safebot.channels.rasa_adapter import rasa_form, with_validation
from safebot.engine import Context, Form, Handler, Result, SlotSpec
from safebot.engine.handlers import Button
from safebot.engine.interpreter import run_handler
from safebot.errors import ActionRejected, HandlerError, RasaRequestError, WiringError
from safebot.nlu.placeholders import EntityCandidate
from safebot.redaction.audit import AuditRecord
from safebot.sensitive import Sensitive

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ROOT = FIXTURES.parents[2]


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
        ("first", (Button("Yes", "/affirm"),)), ("Hello <PERSON_1>, customer C1.", ()),
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


# -- buttons ---------------------------------------------------------------------------------------
class Buttons(Action):
    def name(self) -> str:
        return "action_buttons"

    async def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[Any]:
        dispatcher.utter_message(text="Which card?", buttons=[
            {"title": "Debit", "payload": '/choose{"card": "debit"}'},
            {"title": "Card on file", "payload": "/choose{\"card\": \"{card}\"}"},
            {"title": "No payload"},
            {"payload": "/no_title"},
            "not a button",
        ])
        dispatcher.utter_message(response="utter_pick")
        return []


def test_buttons_keep_their_payloads_and_templates_bring_theirs() -> None:
    domain = {"responses": {"utter_pick": [{"text": "Or:", "buttons": [{"title": "Help", "payload": "/help"}]}]}}
    result = run(rasa_handler(Buttons(), domain=domain), ctx())
    assert [(r.text, r.buttons) for r in result.replies] == [
        ("Which card?", (
            Button("Debit", '/choose{"card": "debit"}'),
            Button("Card on file", '/choose{"card": "<CREDIT_CARD_1>"}'),   # a slot, already a placeholder
            Button("No payload", None),
        )),
        ("Or:", (Button("Help", "/help"),)),
    ]


# -- rejection -------------------------------------------------------------------------------------
class Rejecting(Action):
    def name(self) -> str:
        return "action_not_now"

    async def run(self, dispatcher: Any, tracker: Any, domain: Any) -> list[Any]:
        raise ActionExecutionRejection(self.name(), f"not for {tracker.latest_message['text']} {CARD}")


CARD = "4111 1111 1111 1111"


def test_action_execution_rejection_becomes_action_rejected() -> None:
    with pytest.raises(ActionRejected) as err:
        run(rasa_handler(Rejecting()), ctx())
    assert str(err.value) == "action 'action_not_now' rejected execution"   # the author's text is not kept
    assert err.value.__cause__ is None and err.value.__suppress_context__
    outcome = asyncio.run(run_handler(rasa_handler(Rejecting()), ctx(), lambda name, value: value))  # type: ignore[arg-type]
    assert outcome.rejected and outcome.result is None
    with pytest.raises(ActionRejected):
        run(rasa_handler(Recorder([ActionExecutionRejected("action_record")])), ctx())


# -- ActiveLoop --------------------------------------------------------------------------------------
@pytest.mark.parametrize("events,loops,start_form", [
    ([ActiveLoop("transfer_form")], {"transfer_form": "transfer"}, "transfer"),
    ([ActiveLoop("transfer")], {}, "transfer"),                        # a handler of that name
    ([ActiveLoop(None)], {}, None),                                     # nothing is active while a handler runs
    ([ActiveLoop("transfer_form"), ActiveLoop(None)], {"transfer_form": "transfer"}, "transfer"),
    ([SlotSet("requested_slot", None), ActiveLoop(None)], {}, None),
])
def test_active_loop_starts_the_form_of_a_handler(events: list[Any], loops: dict[str, str], start_form: str | None) -> None:
    result = run(rasa_handler(Recorder(events), loops=loops), ctx())
    assert result.start_form == start_form


def test_an_active_loop_without_a_string_name_is_an_error() -> None:
    with pytest.raises(HandlerError):
        run(rasa_handler(Recorder([{"event": "active_loop", "name": 7}])), ctx())


# -- FormValidationAction on a safebot form --------------------------------------------------------
class ValidateTransfer(FormValidationAction):
    """rasa_sdk form validation, as a Rasa assistant would have it; records what it saw."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def name(self) -> str:
        return "validate_transfer_form"

    async def validate_amount(self, value: Any, dispatcher: Any, tracker: Any, domain: Any) -> dict[str, Any]:
        self.seen.append({
            "candidates": tracker.slots_to_validate(), "loop": tracker.active_loop_name,
            "requested": tracker.get_slot("requested_slot"), "forms": sorted(domain.get("forms", {})),
        })
        await asyncio.sleep(0)   # a coroutine that really awaits: it runs on a loop of its own
        m = re.fullmatch(r"\$?(\d+)(?: dollars)?", str(value).strip())
        if m is None or int(m.group(1)) > 10_000:
            dispatcher.utter_message(text="I can move up to $10,000.")
            return {"amount": None}
        return {"amount": f"{int(m.group(1)):.2f}"}

    def validate_to_account(self, value: Any, dispatcher: Any, tracker: Any, domain: Any) -> dict[str, Any]:
        account = str(value).strip().lower()
        return {"to_account": account if account in ("checking", "savings") else None}

    def extract_memo(self, dispatcher: Any, tracker: Any, domain: Any) -> dict[str, Any]:
        text = tracker.latest_message.get("text") or ""
        return {"memo": text.removeprefix("memo:").strip()} if text.startswith("memo:") else {}

    def validate_memo(self, value: Any, dispatcher: Any, tracker: Any, domain: Any) -> dict[str, Any]:
        return {"memo": None if "bad" in value else value.upper()}

    def validate_note(self, value: Any, dispatcher: Any, tracker: Any, domain: Any) -> dict[str, Any]:
        raise RuntimeError(f"validator bug on {value}")

    def validate_label(self, value: Any, dispatcher: Any, tracker: Any, domain: Any) -> dict[str, Any]:
        return {"label": ["not", "a", "scalar"]}


TRANSFER = Form("transfer_form", [
    SlotSpec("amount", "How much?", entities=("amount",), from_text=True, invalid="Too much."),
    SlotSpec("to_account", "Which account?", entities=("account_type",), from_text=True),
    SlotSpec("memo", "Any memo?", required=False),
    SlotSpec("note", "A note?", from_text=True, required=False),
    SlotSpec("label", "A label?", from_text=True, required=False),
    SlotSpec("reference", "A reference?", from_text=True, required=False, validate=lambda v: v if v.isdigit() else None),
])


@pytest.mark.parametrize("slot,answer,expected", [
    ("amount", "50 dollars", "50.00"),              # validate_ may normalise the value
    ("amount", "$50000", None),                     # SlotSet(amount, None): rejected
    ("amount", "fifty", None),
    ("to_account", "Savings", "savings"),           # a sync validate_ works too
    ("to_account", "mars", None),
    ("memo", "memo: rent", "RENT"),                 # extract_memo reads the answer, validate_memo checks it
    ("memo", "memo: bad one", None),
    ("memo", "no memo here", None),                 # extract_ found nothing
    ("note", "anything", None),                     # a validator that raises rejects (fail closed)
    ("label", "anything", None),                    # a list is not a slot value
    ("reference", "abc", None),                     # the slot's own check runs first
    ("reference", "123", "123"),                    # no validate_reference: accepted as it is
])
def test_form_validation_checks_each_answer(slot: str, answer: str, expected: str | None) -> None:
    form = with_validation(TRANSFER, ValidateTransfer())
    spec = next(s for s in form.slots if s.name == slot)
    assert spec.check(answer) == expected


def test_the_validation_tracker_is_the_one_rasa_builds() -> None:
    action = ValidateTransfer()
    spec = with_validation(TRANSFER, action).slots[0]
    assert spec.check("50 dollars") == "50.00"
    assert action.seen == [{"candidates": {"amount": "50 dollars"}, "loop": "transfer_form", "requested": "amount",
                            "forms": ["transfer_form"]}]   # the form is listed for domain_slots() when absent


def test_form_validation_runs_inside_a_running_event_loop() -> None:
    """The dialogue step checks answers on the event loop: a coroutine validator still runs."""
    spec = with_validation(TRANSFER, ValidateTransfer()).slots[0]

    async def inside() -> tuple[str | None, str | None]:
        return spec.check("20"), spec.check("20000")

    assert asyncio.run(inside()) == ("20.00", None)


def test_a_slow_validator_rejects_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    class Slow(ValidateTransfer):
        async def validate_amount(self, value: Any, dispatcher: Any, tracker: Any, domain: Any) -> dict[str, Any]:
            await asyncio.sleep(5)
            return {"amount": value}

    monkeypatch.setattr("safebot.channels.rasa_adapter.VALIDATION_TIMEOUT_S", 0.2)
    spec = with_validation(TRANSFER, Slow()).slots[0]

    async def inside() -> str | None:
        return spec.check("20")

    started = time.monotonic()
    assert asyncio.run(inside()) is None
    assert time.monotonic() - started < 3


DOMAIN = {
    "forms": {"transfer_form": {"required_slots": ["amount", "to_account", "memo"]}},
    "slots": {
        "amount": {"type": "text", "mappings": [{"type": "from_entity", "entity": "amount"}]},
        "to_account": {"type": "text", "mappings": [{"type": "from_entity", "entity": "account_type"}, {"type": "from_text"}]},
        "memo": {"type": "text", "mappings": [{"type": "custom"}]},
    },
    "responses": {
        "utter_ask_amount": [{"text": "How much would you like to move?"}],
        "utter_ask_transfer_form_to_account": [{"text": "To which account?"}],
    },
}


def test_rasa_form_is_built_from_the_domain() -> None:
    form = rasa_form(ValidateTransfer, DOMAIN)
    assert form.name == "transfer_form"
    assert [(s.name, s.prompt, s.entities, s.from_text) for s in form.slots] == [
        ("amount", "How much would you like to move?", ("amount",), False),
        ("to_account", "To which account?", ("account_type",), True),
        ("memo", "What is your memo?", (), True),          # extract_memo decides what is in the answer
    ]
    assert form.slots[0].check("$20") == "20.00" and form.slots[0].check("$20000") is None


@pytest.mark.parametrize("domain", [
    {},
    {"forms": {"transfer_form": {"required_slots": []}}},
    {"forms": {"transfer_form": {"required_slots": ["to_account", "pin"]}},
     "slots": {"to_account": {"mappings": [{"type": "from_text"}]}, "pin": {"mappings": [{"type": "custom"}]}}},
])
def test_a_form_the_domain_cannot_fill_fails_at_load(domain: dict[str, Any]) -> None:
    with pytest.raises(WiringError):
        rasa_form(ValidateTransfer(), domain)


def test_validation_on_a_handler_builds_its_form() -> None:
    h = rasa_handler(Recorder(name="action_submit_transfer"), intents=("transfer_funds",),
                     validation=ValidateTransfer(), domain=DOMAIN)
    assert h.form is not None and [s.name for s in h.form.slots] == ["amount", "to_account", "memo"]
    h2 = rasa_handler(Recorder(), form=TRANSFER, validation=ValidateTransfer())
    assert h2.form is not None and h2.form.slots[1].check("mars") is None
    with pytest.raises(TypeError):
        rasa_handler(Recorder(), validation=Recorder())


def test_validate_form_served_for_a_form_rasa_runs() -> None:
    """Rasa runs the form and calls validate_<form>: every filled slot is a candidate again."""
    action = ValidateTransfer()
    h = rasa_handler(action, domain=DOMAIN)
    assert (h.name, h.intents, h.form) == ("validate_transfer_form", (), None)
    result = run(h, ctx(slots={"amount": "50000", "to_account": "Savings", "requested_slot": "amount"}))
    assert result.clear_slots == ("amount",) and dict(result.slots) == {"to_account": "savings"}
    assert [r.text for r in result.replies] == ["I can move up to $10,000."]
    assert action.seen[0]["candidates"] == {"amount": "50000", "to_account": "Savings"}
    with pytest.raises(WiringError):
        rasa_handler(ValidateTransfer())      # without the domain it would validate nothing


# -- whole conversations with the rasaforms fixture bot ---------------------------------------------
@pytest.fixture(scope="module")
def forms_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from safebot.engine import Bot

    target = tmp_path_factory.mktemp("rasaforms") / "bot"
    shutil.copytree(FIXTURES / "rasaforms", target)
    shutil.copy(ROOT / "examples" / "bank" / "policy.yaml", target / "policy.yaml")
    bot = Bot.load(target)
    try:
        yield bot
    finally:
        bot.close()


def test_a_safebot_form_re_asks_what_the_validation_action_rejects(forms_bot: Any) -> None:
    cid = "forms-conversation"
    said = [forms_bot.handle_sync(cid, t) for t in ("transfer money", "50000 dollars", "$50", "to mars", "savings")]
    assert [r.replies for r in said] == [
        ("How much would you like to move?",),
        ("I can move up to $10,000 in chat. How much would you like to move?",),
        ("To which account: checking or savings?",),
        ("Please say checking or savings. To which account: checking or savings?",),
        ("Moved $50.00 to savings. Anything else?",),
    ]
    assert said[-1].buttons == ((Button("Check my balance", "/check_balance"), Button("No thanks", "/goodbye")),)


def test_buttons_in_a_conversation_redact_titles_and_payloads_that_carry_pii(forms_bot: Any) -> None:
    r = forms_bot.handle_sync("buttons-conversation", "which card")
    assert r.replies == ("Which card?", "Or the card on file:")
    debit, credit = r.buttons[0]
    assert (debit.payload, credit.payload) == ('/choose_card{"card_type": "debit"}', '/choose_card{"card_type": "credit"}')
    (on_file,) = r.buttons[1]
    assert "4539" not in on_file.title + (on_file.payload or "") and "6467" in on_file.title


def test_active_loop_opens_the_form_again(forms_bot: Any) -> None:
    r = forms_bot.handle_sync("loop-conversation", "start the transfer again")
    assert r.replies == ("How much would you like to move?",)


def test_through_the_action_server(forms_bot: Any) -> None:
    """The same handlers behind rasa-sdk's protocol: the form, rejection as 400, buttons."""
    from safebot.channels.rasa import RasaActionServer

    server = RasaActionServer.from_bot(forms_bot)
    sender = "server-forms"

    def call(action: str, text: str, intent: str, **slots: Any) -> dict[str, Any]:
        body = action_call(action, text, intent=intent, slots=slots, sender=sender)
        body["tracker"]["latest_message"]["message_id"] = secrets.token_hex(16)   # a new message each call
        return asyncio.run(server.run(body))

    first = call("transfer", "transfer money", "transfer_funds")
    assert [m["text"] for m in first["responses"]] == ["How much would you like to move?"]
    assert {"event": "slot", "timestamp": None, "name": "requested_slot", "value": "amount"} in first["events"]
    again = call("transfer", "50000 dollars", "provide_info", requested_slot="amount")
    assert [m["text"] for m in again["responses"]] == [
        "I can move up to $10,000 in chat. How much would you like to move?"]
    with pytest.raises(RasaRequestError) as err:
        call("action_maybe_later", "maybe later", "maybe_later")
    assert err.value.status == 400 and err.value.action_name == "action_maybe_later"
    picked = call("action_pick_card", "which card", "pick_card")
    assert picked["responses"][0]["buttons"] == [
        {"title": "Debit", "payload": '/choose_card{"card_type": "debit"}'},
        {"title": "Credit", "payload": '/choose_card{"card_type": "credit"}'},
    ]
    assert "4539" not in json.dumps(picked)
    validated = call("validate_transfer_form", "50000 dollars", "provide_info", amount="50000 dollars",
                     to_account="savings", requested_slot="amount")
    assert {"event": "slot", "timestamp": None, "name": "amount", "value": None} in validated["events"]


def test_a_response_missing_from_the_domain_is_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="safebot.channels.rasa"):
        result = run(rasa_handler(Recorder()), ctx())
    assert [r.text for r in result.replies] == ["first"]
    assert "response utter_hello is not in the domain given to rasa_handler" in caplog.text
