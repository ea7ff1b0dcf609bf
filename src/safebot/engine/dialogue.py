"""The dialogue rules as one pure function: ``step(state, event, ...) -> (state, actions)``.

No I/O, no redaction, no model: the turn (``engine/turn.py``) feeds ``step`` what happened
(a customer message, understood; a handler's result; a verification's outcome) and carries
out the actions it returns. When an action needs the outside world (:class:`RunHandler`,
:class:`Verify`) it is the last one returned, and the turn calls ``step`` again with its
outcome, so the rules stay a plain table that tests drive with fakes in microseconds.

Order of precedence for a message: a blocked message (redaction failed) -> the PIN and
security-code warning (in every state) -> a locked or handed-off conversation -> an active
form (answer, cancel, or interruption) -> the route table (handler, verification gate, form)
-> built-in responses -> fallback and hand-off.
After anything that leaves no form active, an interrupted form resumes.

>>> from safebot.engine.handlers import Routes
>>> state, actions = step(ConversationState(), Message(Understanding("hi", "greet", 0.9)),
...                       Routes(()), DialogueSettings())
>>> actions
[Emit(kind='intent', data={'intent': 'greet', 'confidence': 0.9}), Say(text='Hello! How can I help you today?', buttons=())]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from safebot.engine.forms import Form, SlotSpec, fill
from safebot.engine.handlers import Button, Handler, Result, Routes, SlotValue
from safebot.engine.state import ConversationState, FormState
from safebot.nlu.placeholders import EntityCandidate

__all__ = [
    "BUILTIN_INTENTS",
    "HANDOFF_INTENTS",
    "VERIFY",
    "Action",
    "DialogueSettings",
    "Emit",
    "HandOff",
    "HandlerDone",
    "LinkCustomer",
    "Message",
    "RunHandler",
    "Say",
    "Understanding",
    "Verify",
    "VerifyDone",
    "companion_entities",
    "expected_entities",
    "step",
]

#: the verification flow's form name inside the state
VERIFY = "__verification__"
BUILTIN_INTENTS = ("greet", "thanks", "goodbye")
HANDOFF_INTENTS = ("human_handoff",)


# -- what step is told ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Understanding:
    """What the NLU made of one redacted message (``text`` is the ``nlu`` rendering)."""

    text: str
    intent: str | None
    confidence: float
    entities: tuple[EntityCandidate, ...] = ()
    blocked: bool = False
    #: entity types the policy removed from the message outright (a PIN, a CVV): the customer
    #: is warned, whatever state the conversation is in
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True)
class Message:
    """A customer message arrived (its understanding is passed to ``step`` alongside)."""


@dataclass(frozen=True)
class HandlerDone:
    """A handler ran: its (validated, slot-cleaned) result, or a safe error code."""

    handler: str
    result: Result | None = None
    error: str | None = None


@dataclass(frozen=True)
class VerifyDone:
    """The verification ran: the customer id, or None for no match; ``error`` if it failed."""

    customer_id: str | None = None
    error: str | None = None


Event = Message | HandlerDone | VerifyDone


# -- what step asks for ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Say:
    """Send the customer this bot text (outbound redaction runs on it before anyone sees it)."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Emit:
    """Record an event without text (``intent``, ``form``, ``auth``, ``slot``, ``error``, ...)."""

    kind: str
    data: Mapping[str, SlotValue] = field(default_factory=dict)


@dataclass(frozen=True)
class RunHandler:
    """Run this handler now; answer with :class:`HandlerDone`."""

    handler: str


@dataclass(frozen=True)
class Verify:
    """Run the bot's verification on the collected slots; answer with :class:`VerifyDone`."""


@dataclass(frozen=True)
class HandOff:
    """The conversation goes to a human agent (the turn sends the agent view)."""

    reason: str


@dataclass(frozen=True)
class LinkCustomer:
    """Link this conversation to a verified customer (for erasure and the agent view)."""

    customer_id: str


Action = Say | Emit | RunHandler | Verify | HandOff | LinkCustomer


@dataclass(frozen=True)
class DialogueSettings:
    """The knobs of the rules, from ``bot.yaml``'s ``dialogue:`` and ``responses:``."""

    max_fallbacks: int = 2
    #: inside a form, another intent interrupts it only with at least this confidence
    interrupt_confidence: float = 0.5
    #: a prediction below this never routes to a handler (it is treated as not understood)
    min_confidence: float = 0.0
    responses: Mapping[str, str] = field(default_factory=dict)

    def response(self, key: str) -> str:
        from safebot.engine.config import DEFAULT_RESPONSES

        return self.responses.get(key) or DEFAULT_RESPONSES[key]


def step(
    state: ConversationState,
    event: Event,
    routes: Routes,
    settings: DialogueSettings,
    understanding: Understanding | None = None,
) -> tuple[ConversationState, list[Action]]:
    """Apply the dialogue rules to ``event``. ``state`` is not changed; the new one is returned.

    ``understanding`` is this turn's message (also when ``event`` is a handler's result: a
    form that starts afterwards may be filled from it).
    """
    d = _Rules(state.copy(), routes, settings, understanding or Understanding("", None, 0.0))
    if isinstance(event, Message):
        d.message()
    elif isinstance(event, HandlerDone):
        d.handler_done(event)
    elif isinstance(event, VerifyDone):
        d.verify_done(event)
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"unknown dialogue event {type(event).__name__}")
    if not d.waiting:
        d.resume()
    return d.s, d.actions


def expected_entities(state: ConversationState, routes: Routes, known: frozenset[str]) -> frozenset[str]:
    """PII entity types the slot the bot just asked for expects ('What is your booking
    reference?' expects BOOKING_REFERENCE), so a bare answer is redacted as one.

    Only a slot that can hold nothing but PII (every entity it takes is in ``known``, the
    policy's entity types) expects PII: 'card_last_four' also takes a plain '4242'.
    """
    asked = _asked_slot(state, routes)
    return _pii_only(asked[1], known) if asked is not None else frozenset()


def companion_entities(state: ConversationState, routes: Routes, known: frozenset[str]) -> frozenset[str]:
    """PII the form's other unfilled PII-only slots take, while the bot asks for a PII field:
    asked for a booking reference, people answer with the last name too ('B3R8TW,
    Smith-Jones'). The redaction session expects them only beside an answer to the question.
    """
    asked = _asked_slot(state, routes)
    if asked is None or not _pii_only(asked[1], known):
        return frozenset()
    form, spec = asked
    out: frozenset[str] = frozenset()
    for other in form.slots:
        if other is not spec and state.slots.get(other.name) is None:
            out |= _pii_only(other, known)
    return out


def _asked_slot(state: ConversationState, routes: Routes) -> tuple[Form, SlotSpec] | None:
    """The form in progress and the slot the bot just asked for, if any."""
    if state.form is None or state.form.requested is None:
        return None
    form = _form_def(state.form, routes)
    if form is None:
        return None
    spec = next((s for s in form.slots if s.name == state.form.requested), None)
    return (form, spec) if spec is not None else None


def _pii_only(slot: SlotSpec, known: frozenset[str]) -> frozenset[str]:
    pii = frozenset(e for e in slot.entities if e in known)
    return pii if pii and len(pii) == len(slot.entities) else frozenset()


def _form_def(state: FormState, routes: Routes) -> Form | None:
    if state.form == VERIFY:
        return routes.verification.form if routes.verification is not None else None
    handler = routes.by_name(state.handler or "")
    return handler.form if handler is not None else None


class _Rules:
    """One application of the rules; ``s`` is a private copy of the state."""

    def __init__(self, s: ConversationState, routes: Routes, settings: DialogueSettings, u: Understanding) -> None:
        self.s, self.routes, self.settings, self.u = s, routes, settings, u
        self.actions: list[Action] = []
        #: an outside action (handler, verification) was asked for: nothing may follow it
        self.waiting = False

    # -- output -------------------------------------------------------------------------------
    def say(self, text: str, buttons: Sequence[Button] = ()) -> None:
        self.actions.append(Say(text, tuple(buttons)))

    def emit(self, kind: str, **data: SlotValue) -> None:
        self.actions.append(Emit(kind, data))

    def effect(self, action: RunHandler | Verify) -> None:
        self.actions.append(action)
        self.waiting = True

    def response(self, key: str) -> str:
        return self.settings.response(key)

    # -- a message ----------------------------------------------------------------------------
    def message(self) -> None:
        s, u = self.s, self.u
        if u.blocked:
            self.emit("error", code="redaction_failed")
            self.say(self.response("blocked"))
            return
        s.latest_intent = u.intent
        self.emit("intent", intent=u.intent, confidence=round(u.confidence, 4))
        if u.dropped:
            self.say(self.response("security_code"))
        if s.locked or s.handed_off:
            self.say(self.response("handed_off"))
            return
        if s.form is not None:
            self.continue_form()
            return
        self.route(self.confident_intent())

    def confident_intent(self) -> str | None:
        u = self.u
        if u.intent is None or u.confidence < self.settings.min_confidence:
            return None
        return u.intent

    def route(self, intent: str | None) -> None:
        s = self.s
        if intent is None:
            if not self.u.dropped:  # the PIN warning answered it: not a misunderstanding
                self.fallback()
            return
        s.fallbacks = 0
        handler = self.routes.for_intent(intent)
        if handler is None:
            if intent in HANDOFF_INTENTS:
                self.handoff("requested")
            elif intent in BUILTIN_INTENTS or intent in self.settings.responses:
                self.say(self.response(intent))
            else:
                self.fallback()
            return
        self.start(handler, prefill=True)

    def start(self, handler: Handler, *, prefill: bool) -> None:
        """Route to ``handler``: verification first if needed, then its form, then run it.

        ``prefill=False`` when the current message was an answer to something else (the
        verification form), so it must not also fill the handler's slots.
        """
        s = self.s
        if handler.requires_auth and not s.verified:
            verification = self.routes.verification
            assert verification is not None  # checked when the bot loads
            if handler.form is not None and prefill:
                self.prefill(handler.form)
            s.after_auth = handler.name
            self.prefill(verification.form)
            if verification.form.next_missing(s.slots) is not None:
                # Only when there is something to ask: details given with the request are
                # checked at once, and "First I need to find your booking" would be untrue.
                self.say(self.response("verify_first"))
            self.begin_form(FormState(VERIFY, None))
            self.ask_or_complete()
            return
        if handler.form is not None:
            if prefill:
                self.prefill(handler.form)
            self.begin_form(FormState(handler.form.name, handler.name))
            self.ask_or_complete()
            return
        self.effect(RunHandler(handler.name))

    # -- forms --------------------------------------------------------------------------------
    def form_def(self, state: FormState) -> Form:
        form = _form_def(state, self.routes)
        assert form is not None  # the state only names forms of this bot's routes
        return form

    def prefill(self, form: Form) -> None:
        outcome = fill(form, self.s.slots, self.u.entities, self.u.text, asked=None)
        self.s.slots.update(outcome.filled)

    def begin_form(self, state: FormState) -> None:
        self.s.form = state
        self.emit("form", form=state.form, state="started")

    def ask_or_complete(self) -> None:
        s = self.s
        assert s.form is not None
        form = self.form_def(s.form)
        missing = form.next_missing(s.slots)
        if missing is not None:
            s.form.requested = missing.name
            self.say(missing.prompt)
            return
        done = s.form
        s.form = None
        self.emit("form", form=done.form, state="completed")
        if done.form == VERIFY:
            self.effect(Verify())
            return
        handler = self.routes.by_name(done.handler or "")
        if handler is not None:
            self.effect(RunHandler(handler.name))

    def continue_form(self) -> None:
        s, u = self.s, self.u
        assert s.form is not None
        form = self.form_def(s.form)
        text = u.text.strip().lower().rstrip(".!")
        if text in form.cancel_words:
            self.emit("form", form=s.form.form, state="cancelled")
            if s.form.form == VERIFY:
                s.after_auth = None
            self.clear_form_slots(form)
            s.form = None
            self.say(self.response("cancelled"))
            return
        outcome = fill(form, s.slots, u.entities, u.text, asked=s.form.requested)
        answered = bool(outcome.filled) or (bool(outcome.invalid) and not outcome.text_rejected)
        intent = self.confident_intent()
        if (
            not answered
            and intent is not None
            and u.confidence >= self.settings.interrupt_confidence
            and intent not in self.form_intents(s.form)
            and intent not in self.routes.inform_intents
        ):
            # The customer asked something else: park the form, serve the request, come back.
            s.paused.append(s.form)
            s.form = None
            self.emit("form", form=s.paused[-1].form, state="interrupted")
            self.route(intent)
            return
        s.slots.update(outcome.filled)
        if u.dropped and s.form.requested is not None and s.form.requested not in outcome.filled:
            # The PIN warning was the answer to that message; ask again without counting a retry.
            spec = next(sp for sp in form.slots if sp.name == s.form.requested)
            self.say(spec.prompt)
            return
        if outcome.invalid and s.form.requested not in outcome.filled:
            self.retry(form, outcome.invalid[0].invalid, outcome.invalid[0].prompt)
            return
        if not outcome.filled and s.form.requested is not None:
            spec = next(sp for sp in form.slots if sp.name == s.form.requested)
            self.retry(form, spec.invalid, spec.prompt)
            return
        s.form.retries = 0
        self.ask_or_complete()

    def retry(self, form: Form, invalid: str, prompt: str) -> None:
        s = self.s
        assert s.form is not None
        s.form.retries += 1
        if s.form.retries > form.max_retries:
            self.emit("form", form=s.form.form, state="failed")
            if s.form.form == VERIFY:
                s.after_auth = None
            self.clear_form_slots(form)
            s.form = None
            self.fallback(force=True)
            return
        self.say(f"{invalid} {prompt}")

    def clear_form_slots(self, form: Form) -> None:
        for spec in form.slots:
            self.s.slots.pop(spec.name, None)

    def form_intents(self, state: FormState) -> tuple[str, ...]:
        name = self.s.after_auth if state.form == VERIFY else state.handler
        handler = self.routes.by_name(name or "")
        return handler.intents if handler is not None else ()

    def resume(self) -> None:
        s = self.s
        if s.form is not None or not s.paused or s.handed_off or s.locked:
            return
        state = s.paused.pop()
        s.form = state
        form = self.form_def(state)
        missing = form.next_missing(s.slots)
        if missing is None:
            self.ask_or_complete()
            return
        state.requested = missing.name
        self.emit("form", form=state.form, state="resumed")
        self.say(self.response("resume").format(prompt=missing.prompt))

    # -- outcomes -----------------------------------------------------------------------------
    def handler_done(self, done: HandlerDone) -> None:
        s = self.s
        handler = self.routes.by_name(done.handler)
        if handler is not None and handler.form is not None:
            self.clear_form_slots(handler.form)
        if done.error is not None or done.result is None:
            self.emit("error", code=done.error or "handler_error", handler=done.handler)
            self.say(self.response("error"))
            return
        result = done.result
        for name, value in result.slots.items():
            s.slots[name] = value
            self.emit("slot", slot=name)
        for name in result.clear_slots:
            s.slots.pop(name, None)
        for reply in result.replies:
            self.say(reply.text, reply.buttons)
        if result.handoff:
            self.handoff("handler")
        elif result.start_form:
            nxt = self.routes.to_start(result.start_form)
            if nxt is None:
                self.emit("error", code="unknown_handler", handler=done.handler)
                self.say(self.response("error"))
                return
            self.start(nxt, prefill=True)

    def verify_done(self, done: VerifyDone) -> None:
        s, verification = self.s, self.routes.verification
        assert verification is not None
        self.clear_form_slots(verification.form)
        if done.error is not None:
            self.emit("error", code=done.error, handler="verification")
        if done.customer_id is None:
            # A verifier that failed counts as a failed attempt: errors must not be a way to
            # try again and again without ever being locked out.
            s.auth_attempts += 1
            self.emit("auth", result="failed", attempt=s.auth_attempts)
            if s.auth_attempts >= verification.max_attempts:
                s.locked = True
                s.after_auth = None
                s.paused.clear()
                self.emit("auth", result="locked")
                self.say(verification.locked)
                self.handoff("verification_locked", announce=False)
                return
            self.say(self.response("error") if done.error is not None else verification.failure)
            self.begin_form(FormState(VERIFY, None))
            self.ask_or_complete()
            return
        s.customer_id = done.customer_id
        s.auth_attempts = 0
        self.actions.append(LinkCustomer(done.customer_id))
        self.emit("auth", result="passed")
        self.say(verification.success)
        pending = self.routes.by_name(s.after_auth or "")
        s.after_auth = None
        if pending is not None:
            self.start(pending, prefill=False)

    # -- fallback and hand-off ------------------------------------------------------------------
    def fallback(self, force: bool = False) -> None:
        s = self.s
        s.fallbacks += 1
        self.emit("fallback", count=s.fallbacks)
        if force or s.fallbacks >= self.settings.max_fallbacks:
            self.handoff("repeated_misunderstanding")
            return
        self.say(self.response("fallback"))

    def handoff(self, reason: str, announce: bool = True) -> None:
        s = self.s
        s.handed_off = True
        s.form = None
        self.emit("handoff", reason=reason)
        if announce:
            self.say(self.response("handoff"))
        self.actions.append(HandOff(reason))


def describe(actions: Sequence[Action]) -> list[Any]:
    """Actions as plain tuples, for readable test tables."""
    out: list[Any] = []
    for a in actions:
        if isinstance(a, Say):
            out.append(("say", a.text))
        elif isinstance(a, Emit):
            out.append((a.kind, dict(a.data)))
        elif isinstance(a, RunHandler):
            out.append(("run", a.handler))
        elif isinstance(a, Verify):
            out.append(("verify",))
        elif isinstance(a, HandOff):
            out.append(("handoff", a.reason))
        elif isinstance(a, LinkCustomer):
            out.append(("link", a.customer_id))
    return out
