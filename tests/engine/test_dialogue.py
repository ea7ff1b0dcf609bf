"""The dialogue rules, table-driven, with fakes: no spaCy, no classifier, no database.

``drive`` plays the turn's part: it calls ``step`` with a message, then answers every
RunHandler/Verify with a canned outcome, exactly as engine/turn.py does with real handlers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from safebot.engine.dialogue import (
    VERIFY,
    DialogueSettings,
    HandlerDone,
    Message,
    RunHandler,
    Understanding,
    Verify,
    VerifyDone,
    companion_entities,
    describe,
    expected_entities,
    step,
)
from safebot.engine.forms import Form, SlotSpec, amount, choice
from safebot.engine.handlers import Handler, Result, Routes, Verification
from safebot.engine.state import ConversationState, FormState
from safebot.nlu.placeholders import EntityCandidate


async def _never(ctx: Any) -> Result:  # pragma: no cover - step never runs handlers
    raise AssertionError("step must not run handlers")


async def _never_verify(ctx: Any) -> str | None:  # pragma: no cover
    raise AssertionError("step must not verify")


TRANSFER = Form("transfer", [
    SlotSpec("amount", "How much?", entities=("amount",), validate=amount, invalid="I need an amount."),
    SlotSpec("to", "To checking or savings?", entities=("account",), validate=choice("checking", "savings"),
             from_text=True, invalid="Please say checking or savings."),
])
VERIFICATION = Verification(
    form=Form("verification", [SlotSpec("dob", "What is your date of birth?", entities=("DATE_OF_BIRTH",))]),
    verify=_never_verify, max_attempts=3,
)
ROUTES = Routes(
    handlers=[
        Handler("balance", ("check_balance",), _never, requires_auth=True),
        Handler("transfer", ("transfer_funds",), _never, form=TRANSFER, requires_auth=False),
        Handler("hours", ("branch_hours",), _never),
        Handler("dispute", ("dispute",), _never),
        Handler("dispute_details", (), _never, form=Form("details", [SlotSpec("merchant", "Which merchant?", from_text=True)])),
        Handler("agent", ("escalate",), _never),
    ],
    verification=VERIFICATION,
)
SETTINGS = DialogueSettings(max_fallbacks=2, interrupt_confidence=0.5, min_confidence=0.3)


def u(intent: str | None, text: str = "", confidence: float = 0.9, dropped: tuple[str, ...] = (),
      **entities: str) -> Understanding:
    return Understanding(text, intent, confidence, tuple(EntityCandidate(k, v, 0, 0) for k, v in entities.items()),
                         dropped=dropped)


@dataclass
class Outcomes:
    """Canned outside world: what each handler returns and who the verifier finds."""

    results: Mapping[str, Result | str] = field(default_factory=dict)
    verify: Callable[[ConversationState], str | None] = lambda s: None
    verify_error: str | None = None


def drive(state: ConversationState, message: Understanding, world: Outcomes) -> tuple[ConversationState, list[Any]]:
    state, actions = step(state, Message(), ROUTES, SETTINGS, message)
    out = list(actions)
    while out and isinstance(out[-1], (RunHandler, Verify)):
        effect = out[-1]
        if isinstance(effect, RunHandler):
            canned = world.results.get(effect.handler, Result.say(f"ran {effect.handler}"))
            event: Any = HandlerDone(effect.handler, error=canned) if isinstance(canned, str) else HandlerDone(effect.handler, canned)
        else:
            event = VerifyDone(world.verify(state), world.verify_error)
        state, more = step(state, event, ROUTES, SETTINGS, message)
        out += more
    return state, describe(out)


def says(actions: Sequence[Any]) -> list[str]:
    return [a[1] for a in actions if a[0] == "say"]


def run(messages: Sequence[Understanding], world: Outcomes | None = None,
        state: ConversationState | None = None) -> tuple[ConversationState, list[list[Any]]]:
    state = state or ConversationState()
    turns = []
    for m in messages:
        state, actions = drive(state, m, world or Outcomes())
        turns.append(actions)
    return state, turns


# -- routing -------------------------------------------------------------------------------------

ROUTING = [
    # (what, message, expected replies)
    ("a built-in intent answers from the responses", u("greet"), ["Hello! How can I help you today?"]),
    ("a routed handler runs", u("branch_hours"), ["ran hours"]),
    ("out of scope falls back", u(None), ["Sorry, I didn't quite get that. Could you rephrase?"]),
    ("too unsure to route is a fallback", u("branch_hours", confidence=0.1), ["Sorry, I didn't quite get that. Could you rephrase?"]),
    ("an unknown intent with no handler falls back", u("weather"), ["Sorry, I didn't quite get that. Could you rephrase?"]),
    ("a blocked message is never routed", Understanding("", None, 0.0, blocked=True),
     ["Sorry, I couldn't process that message safely. Please try again without personal details."]),
    ("auth first", u("check_balance"), ["Before I can help with that, I need to verify your identity.", "What is your date of birth?"]),
]


@pytest.mark.parametrize("what,message,replies", ROUTING, ids=[r[0] for r in ROUTING])
def test_routing(what: str, message: Understanding, replies: list[str]) -> None:
    _, [actions] = run([message])
    assert says(actions) == replies


def test_step_does_not_change_the_state_it_is_given() -> None:
    state = ConversationState()
    before = state.to_json()
    step(state, Message(), ROUTES, SETTINGS, u("transfer_funds"))
    assert state.to_json() == before


def test_blocked_message_records_the_failure_and_no_intent() -> None:
    _, [actions] = run([Understanding("", None, 0.0, blocked=True)])
    assert ("error", {"code": "redaction_failed"}) in actions
    assert not any(a[0] == "intent" for a in actions)


# -- fallback and hand-off -------------------------------------------------------------------------


def test_two_misunderstandings_hand_off() -> None:
    state, turns = run([u(None), u(None)])
    assert says(turns[1]) == ["I'm passing you to a colleague who will be with you shortly."]
    assert ("handoff", "repeated_misunderstanding") in turns[1]
    assert state.handed_off
    state, [actions] = run([u("greet")], state=state)
    assert says(actions) == ["A colleague has your conversation and will reply here shortly."]


def test_understanding_resets_the_fallback_count() -> None:
    state, _ = run([u(None), u("greet"), u(None)])
    assert not state.handed_off and state.fallbacks == 1


def test_handler_asks_for_a_human() -> None:
    state, [actions] = run([u("escalate")], Outcomes({"agent": Result(handoff=True)}))
    assert state.handed_off and ("handoff", "handler") in actions


# -- forms -------------------------------------------------------------------------------------------


def test_form_prefilled_from_the_first_message_then_asked() -> None:
    state, [actions] = run([u("transfer_funds", amount="100.00")])
    assert says(actions) == ["To checking or savings?"]
    assert state.slots == {"amount": "100.00"} and state.form == FormState("transfer", "transfer", "to", 0)


def test_form_completes_runs_the_handler_and_clears_its_slots() -> None:
    state, turns = run([u("transfer_funds"), u("inform", amount="50.00"), u("inform", text="savings")],
                       Outcomes({"transfer": Result.say("Moved.")}))
    assert says(turns[0]) == ["How much?"]
    assert says(turns[1]) == ["To checking or savings?"]
    assert says(turns[2]) == ["Moved."]
    assert state.form is None and "amount" not in state.slots and "to" not in state.slots


def test_invalid_answer_reasks_then_gives_up() -> None:
    state, turns = run([u("transfer_funds", amount="10.00"), u("inform", text="mars"), u("inform", text="venus"),
                        u("inform", text="pluto")])
    assert says(turns[1]) == ["Please say checking or savings. To checking or savings?"]
    assert says(turns[2]) == ["Please say checking or savings. To checking or savings?"]
    assert ("form", {"form": "transfer", "state": "failed"}) in turns[3]
    assert state.handed_off  # giving up on a form counts as not understood, and hands off


def test_cancel_clears_the_form() -> None:
    state, [_, actions] = run([u("transfer_funds", amount="10.00"), u("inform", text="cancel")])
    assert says(actions) == ["OK, I've cancelled that."] and state.form is None and "amount" not in state.slots


def test_interruption_serves_the_request_and_resumes() -> None:
    state, [_, actions] = run([u("transfer_funds"), u("branch_hours", text="when are you open?")])
    assert says(actions) == ["ran hours", "Now, back to where we were: How much?"]
    assert state.form is not None and state.form.form == "transfer" and not state.paused


def test_an_unsure_other_intent_does_not_interrupt() -> None:
    state, [_, actions] = run([u("transfer_funds"), u("branch_hours", confidence=0.4)])
    assert says(actions) == ["I need an amount. How much?"] and not state.paused


def test_a_handler_result_starts_another_form() -> None:
    state, [actions] = run([u("dispute")], Outcomes({"dispute": Result(start_form="dispute_details")}))
    assert says(actions) == ["Which merchant?"] and state.form is not None and state.form.handler == "dispute_details"


def test_a_handler_naming_an_unknown_handler_is_an_error_not_a_crash() -> None:
    _, [actions] = run([u("dispute")], Outcomes({"dispute": Result(start_form="nope")}))
    assert ("error", {"code": "unknown_handler", "handler": "dispute"}) in actions
    assert says(actions) == ["Sorry, something went wrong on our side. Please try again in a moment."]


def test_handler_error_is_a_safe_reply() -> None:
    _, [actions] = run([u("branch_hours")], Outcomes({"hours": "handler_error"}))
    assert says(actions) == ["Sorry, something went wrong on our side. Please try again in a moment."]
    assert ("error", {"code": "handler_error", "handler": "hours"}) in actions


def test_handler_slots_are_kept_and_reported_by_name() -> None:
    state, [actions] = run([u("branch_hours")], Outcomes({"hours": Result.say("ok", branch="<ADDRESS_1>")}))
    assert state.slots["branch"] == "<ADDRESS_1>" and ("slot", {"slot": "branch"}) in actions


# -- verification --------------------------------------------------------------------------------------


def test_verification_then_the_pending_handler() -> None:
    state, turns = run([u("check_balance"), u("inform", DATE_OF_BIRTH="<DATE_OF_BIRTH_1>")],
                       Outcomes({"balance": Result.say("$12.00")}, verify=lambda s: "C1"))
    assert says(turns[1]) == ["Thanks, you're verified.", "$12.00"]
    assert ("link", "C1") in turns[1]
    assert state.customer_id == "C1" and state.auth_attempts == 0 and "dob" not in state.slots


def test_verification_answer_does_not_also_fill_the_pending_form() -> None:
    routes_state = ConversationState()
    state, _ = run([u("check_balance"), u("inform", DATE_OF_BIRTH="<DATE_OF_BIRTH_1>", amount="9.00")],
                   Outcomes(verify=lambda s: "C1"), state=routes_state)
    assert "amount" not in state.slots


def test_three_failures_lock_and_hand_off() -> None:
    state, turns = run([u("check_balance")] + [u("inform", DATE_OF_BIRTH="<DATE_OF_BIRTH_1>")] * 3)
    assert says(turns[1]) == ["Sorry, those details don't match our records.", "What is your date of birth?"]
    assert state.locked and state.handed_off and state.auth_attempts == 3
    assert ("auth", {"result": "locked"}) in turns[3]
    state, [actions] = run([u("check_balance")], state=state)
    assert says(actions) == ["A colleague has your conversation and will reply here shortly."]


def test_a_failing_verifier_counts_as_a_failed_attempt() -> None:
    state, turns = run([u("check_balance"), u("inform", DATE_OF_BIRTH="<DATE_OF_BIRTH_1>")],
                       Outcomes(verify_error="verification_error"))
    assert state.auth_attempts == 1 and not state.verified
    assert ("error", {"code": "verification_error", "handler": "verification"}) in turns[1]
    assert says(turns[1]) == ["Sorry, something went wrong on our side. Please try again in a moment.",
                             "What is your date of birth?"]


def test_verified_customer_goes_straight_to_the_handler() -> None:
    _, [actions] = run([u("check_balance")], Outcomes({"balance": Result.say("$1")}), state=ConversationState(customer_id="C1"))
    assert says(actions) == ["$1"]


# -- the expected-entity hint ---------------------------------------------------------------------------


@pytest.mark.parametrize("form,requested,known,expected", [
    (FormState(VERIFY, None, "dob"), "dob", {"DATE_OF_BIRTH"}, {"DATE_OF_BIRTH"}),
    (FormState("transfer", "transfer", "amount"), "amount", {"DATE_OF_BIRTH"}, set()),  # 'amount' is no PII
    (None, None, {"DATE_OF_BIRTH"}, set()),
])
def test_expected_entities(form: FormState | None, requested: str | None, known: set[str], expected: set[str]) -> None:
    state = ConversationState(form=form)
    assert expected_entities(state, ROUTES, frozenset(known)) == expected


def test_a_pii_question_expects_the_forms_other_unfilled_pii_too() -> None:
    # 'What's your booking reference?' answered 'B3R8TW, Smith-Jones': the surname is expected too
    two = Verification(form=Form("verification", [
        SlotSpec("ref", "Your booking reference?", entities=("BOOKING_REFERENCE",)),
        SlotSpec("last_name", "And the last name?", entities=("PERSON",)),
        SlotSpec("when", "Which day?", entities=("date",)),
    ]), verify=_never_verify, max_attempts=3)
    routes = Routes(handlers=[Handler("balance", ("check_balance",), _never, requires_auth=True)], verification=two)
    known = frozenset({"BOOKING_REFERENCE", "PERSON"})
    asked_ref = ConversationState(form=FormState(VERIFY, None, "ref"))
    assert expected_entities(asked_ref, routes, known) == {"BOOKING_REFERENCE"}
    assert companion_entities(asked_ref, routes, known) == {"PERSON"}
    filled = ConversationState(form=FormState(VERIFY, None, "ref"), slots={"last_name": "<PERSON_1>"})
    assert companion_entities(filled, routes, known) == set()
    asked_day = ConversationState(form=FormState(VERIFY, None, "when"))
    assert companion_entities(asked_day, routes, known) == set()  # a question about no PII expects none


# -- what seen chats got wrong (issue 13 item 5) ---------------------------------------------------


def test_details_given_with_the_request_are_checked_without_saying_first_i_need_them() -> None:
    _, [actions] = run([u("check_balance", DATE_OF_BIRTH="<DATE_OF_BIRTH_1>")],
                       Outcomes({"balance": Result.say("$3.00")}, verify=lambda s: "C1"))
    assert says(actions) == ["Thanks, you're verified.", "$3.00"]


def test_details_that_fail_with_the_request_say_so_and_ask_again() -> None:
    _, [actions] = run([u("check_balance", DATE_OF_BIRTH="<DATE_OF_BIRTH_1>")])
    assert says(actions) == ["Sorry, those details don't match our records.", "What is your date of birth?"]


WARNING = "Please don't share a PIN or card security code with anyone, including us: we will never ask for them."

PIN_WARNING = [
    # (what, earlier messages, the message with a PIN in it, expected replies)
    ("unprompted, understood", [], u("branch_hours", dropped=("PIN",)), [WARNING, "ran hours"]),
    ("unprompted, not understood: no fallback", [], u(None, dropped=("CVV",)), [WARNING]),
    ("inside a form: the question again, no retry counted", [u("transfer_funds")],
     u("inform", dropped=("PIN",)), [WARNING, "How much?"]),
    ("inside a form, with the answer", [u("transfer_funds")],
     u("inform", dropped=("PIN",), amount="20.00"), [WARNING, "To checking or savings?"]),
    ("during verification", [u("check_balance")], u("inform", dropped=("PIN",)), [WARNING, "What is your date of birth?"]),
    ("after a hand-off", [u(None), u(None)], u(None, dropped=("PIN",)),
     [WARNING, "A colleague has your conversation and will reply here shortly."]),
]


@pytest.mark.parametrize("what,before,message,replies", PIN_WARNING, ids=[r[0] for r in PIN_WARNING])
def test_the_pin_warning_works_in_every_state(what: str, before: list[Understanding], message: Understanding,
                                              replies: list[str]) -> None:
    state, _ = run(before)
    state, [actions] = run([message], state=state)
    assert says(actions) == replies
    assert state.fallbacks == (2 if what == "after a hand-off" else 0)
    if state.form is not None:
        assert state.form.retries == 0


def test_below_min_confidence_nothing_routes_inside_a_form_either() -> None:
    state, [_, actions] = run([u("transfer_funds"), u("branch_hours", confidence=0.2)])
    assert says(actions) == ["I need an amount. How much?"] and not state.paused
