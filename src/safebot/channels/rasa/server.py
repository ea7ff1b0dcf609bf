"""Serve a bot's handlers to a Rasa assistant over rasa-sdk's action-server protocol.

Rasa owns the dialogue; safebot runs the actions behind the redaction boundary, with the same
interpreter, redaction session and store as a safebot conversation::

    POST /webhook?token=...  {"next_action", "tracker", "domain", "version"}
        -> authenticated (SAFEBOT_ACTION_TOKEN; see http.py)       401 otherwise
        -> parse (shape only; values stay in Sensitive)             400 on a bad shape, never echoed
        -> action name -> Handler (``name`` or ``action_<name>``)   404 like rasa-sdk
        -> the conversation: a keyed hash of the sender id; its lock, state and vault
        -> the latest message, every scalar slot and entity value redacted by the session
        -> handler(ctx) through engine.interpreter -> Result
        -> replies redacted for 'customer'; slot values for 'transcript' (Rasa stores them)
        -> state, transcript, audit and vault written in one fenced transaction
        <- {"events": [SlotSet...], "responses": [{"text": ...}, ...]}

Identity is safebot's, never Rasa's: the verified customer, the failed-attempt counter and
the lock-out are kept in safebot's store for the conversation (a keyed hash of the sender id),
so no slot a caller sets can verify anyone, reset the counter or unlock. The bot's
:class:`~safebot.engine.Verification` is the action :data:`VERIFY_ACTION` (``safebot_verify``):
Rasa collects its form's slots and calls it. It sets two informational slots for Rasa's stories,
``safebot_verified`` and ``safebot_locked``, which safebot itself never reads (nor
``safebot_verified_customer``, which only safebot sets, for wrapped rasa_sdk actions).

Where this differs from rasa-sdk, and why:

* A handler that raises gets the bot's ``error`` reply with status 200 (as in a safebot
  conversation), logged by type only; rasa-sdk answers 500 with ``str(exc)`` and the body.
  ``ActionExecutionRejection`` (``safebot.errors.ActionRejected``) is rasa-sdk's 400.
* Missing ``next_action`` is a 400 (rasa-sdk: 200 ``null``); a missing ``domain`` is
  accepted (handlers do not use it; rasa-sdk asks again with 449).
* Unknown action names are echoed in the 404 only if they look like identifiers and hold no PII.
* Outside this boundary: Rasa's own tracker store and logs hold the raw text Rasa received.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from safebot.channels.rasa.protocol import (
    LOCKED_SLOT,
    REQUESTED_SLOT,
    VERIFIED_FLAG_SLOT,
    VERIFIED_SLOT,
    VERIFY_ACTION,
    ActionCall,
    Scalar,
    parse_action_call,
    safe_name,
    slot_event,
)
from safebot.engine.context import Context
from safebot.engine.forms import Form, fill
from safebot.engine.handlers import Button, Handler, Result
from safebot.engine.interpreter import run_handler, run_verification
from safebot.engine.state import ConversationState
from safebot.errors import RasaRequestError, VersionConflict
from safebot.events import RedactedEvent
from safebot.nlu.placeholders import EntityCandidate, find_placeholders
from safebot.redaction.audit import AuditRecord, AuditSink
from safebot.sensitive import Sensitive
from safebot.stores.conversations import (
    LoadedConversation,
    TurnRecord,
    load_conversation,
    save_turn,
)

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from safebot.engine.bot import Bot
    from safebot.redaction.session import RedactionSession

__all__ = ["RasaActionServer"]

log = logging.getLogger("safebot.channels.rasa")


class _VerifyTarget:
    """Marker target: the bot's Verification, served as :data:`VERIFY_ACTION`."""


VERIFY = _VerifyTarget()


class RasaActionServer:
    """Runs a bot's handlers for Rasa action calls. Build once; :meth:`run` per request.

    ``audit``: also called with every audit record (tests, tools); they are always stored.

    >>> server = RasaActionServer.from_bot(Bot.load("examples/bank"))   # doctest: +SKIP
    >>> app = server.app(token="...")   # a FastAPI app; run it with uvicorn   # doctest: +SKIP
    """

    def __init__(self, bot: Bot, *, audit: AuditSink | None = None) -> None:
        self.bot = bot
        self._audit = audit
        names: dict[str, Handler | _VerifyTarget] = {}
        for h in bot.routes.handlers:
            names[h.name] = h
            names.setdefault(f"action_{h.name}", h)
        if bot.routes.verification is not None:
            names[VERIFY_ACTION] = VERIFY
            names[f"action_{VERIFY_ACTION}"] = VERIFY
        self._targets = names

    @classmethod
    def from_bot(cls, bot: Bot, *, audit: AuditSink | None = None) -> RasaActionServer:
        return cls(bot, audit=audit)

    def __repr__(self) -> str:
        return f"RasaActionServer({len(self.action_names())} actions)"

    def action_names(self) -> list[str]:
        """The registered action names (``GET /actions``)."""
        names = [h.name for h in self.bot.routes.handlers]
        if self.bot.routes.verification is not None:
            names.append(VERIFY_ACTION)
        return names

    def conversation_ref(self, sender_id: str) -> str:
        """safebot's id for a Rasa sender: a keyed hash (a sender id can be a phone number)."""
        return self.bot.conversation_ref(f"rasa:{sender_id}")

    def app(self, *, token: str | None = None, max_body: int | None = None) -> FastAPI:
        """The HTTP app speaking rasa-sdk's protocol. See :func:`safebot.channels.rasa.http.create_app`."""
        from safebot.channels.rasa.http import DEFAULT_MAX_BODY, create_app

        return create_app(self, token=token, max_body=max_body or DEFAULT_MAX_BODY)

    # -- one request ----------------------------------------------------------------------
    async def run(self, body: object) -> dict[str, Any]:
        """Run one action call (the decoded JSON body); return the response body.

        Raises :class:`RasaRequestError` (400 bad shape or rejected, 404 unknown action, 413
        too many slots); its message and ``action_name`` are safe to return.
        """
        call = parse_action_call(body)
        target = self._targets.get(call.action)
        if target is None:
            shown = await anyio.to_thread.run_sync(self._echoable, call.action)
            message = f"No registered action found for name '{shown}'." if shown else "No registered action found for that name."
            raise RasaRequestError(message, status=404, action_name=shown)
        ref = self.conversation_ref(call.sender_id.reveal())
        async with self.bot.locks.hold(ref):
            for attempt in (1, 2):
                try:
                    run = _ActionRun(self, call, ref)
                    response = await run.serve(target)
                    break
                except VersionConflict:
                    if attempt == 2:
                        raise
        if self._audit is not None:
            for r in run.audit_records:
                self._audit(r)
        if run.outgoing:
            await anyio.to_thread.run_sync(self.bot._emit, run.outgoing)
        if run.rejected:
            raise RasaRequestError(f"Custom action '{call.action}' rejected execution.", action_name=call.action)
        log.info("rasa action %s: ok (%d responses, %d events)", call.action, len(response["responses"]), len(response["events"]))
        return response

    def _echoable(self, name: str) -> str | None:
        """The unknown action's name if it is safe to repeat (an identifier with no PII in it)."""
        shown = safe_name(name)
        if shown is None:
            return None
        analysis = self.bot.redactor.analyze(shown)
        return shown if not analysis.blocked and not analysis.findings else None


@dataclass
class _Reply:
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass
class _Output:
    replies: list[_Reply] = field(default_factory=list)
    slots: dict[str, Scalar] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    data: list[tuple[str, dict[str, Scalar]]] = field(default_factory=list)
    handoff: bool = False


class _ActionRun:
    """One action call on one conversation: load, redact, run, render, persist."""

    def __init__(self, server: RasaActionServer, call: ActionCall, ref: str) -> None:
        self.server, self.bot, self.call, self.ref = server, server.bot, call, ref
        self.out = _Output()
        self.audit_records: list[AuditRecord] = []
        self.outgoing: list[RedactedEvent] = []
        self.rejected = False

    async def serve(self, target: Handler | _VerifyTarget) -> dict[str, Any]:
        bot, call = self.bot, self.call
        conv = await anyio.to_thread.run_sync(load_conversation, bot.store, self.ref)
        state = ConversationState.from_json(conv.state)
        state.channel = "rasa"
        session = bot.redactor.session(self.ref, state.redaction, fingerprint=conv.fingerprint)
        new_message = call.text is not None and self._new_message(state, conv)
        inbound = None
        refused = bot.limits.check(call.text.reveal()) if call.text is not None else None
        if call.text is not None and refused != "too_long":
            inbound = session.inbound(await bot.redactor.analyze_async(call.text.reveal()))
        if new_message:
            state.turn += 1
        if refused == "too_long":
            self.emit("error", code="message_too_long")
            self.say(bot.settings.response("too_long"))
        elif inbound is not None and inbound.blocked:
            self.emit("error", code="redaction_failed")
            self.say(bot.settings.response("blocked"))
        else:
            text = inbound.text("nlu").text if inbound is not None else ""
            slots = await anyio.to_thread.run_sync(self._inbound_slots, session)
            entities = await anyio.to_thread.run_sync(self._entities, session, text)
            if isinstance(target, _VerifyTarget):
                await self._verify(state, session, conv, text, slots, entities)
            else:
                await self._run(target, state, session, conv, text, slots, entities)
        rendered = await anyio.to_thread.run_sync(self._render, session)
        state.redaction = session.memory
        events = self._events(state.turn, inbound if new_message else None, rendered)
        record = TurnRecord(
            self.ref, "rasa", conv.version, state.to_json(),
            transcript=[e for e in events if e.destination == "transcript"],
            audit=session.audit_records, vault=session.vault_entries,
            customer_key_id=f"customer:{state.customer_id}" if state.customer_id else None,
        )
        await anyio.to_thread.run_sync(save_turn, bot.store, record)
        self.audit_records = session.audit_records
        self.outgoing = [e for e in events if e.destination != "transcript"]
        responses = [_message(text, buttons) for text, buttons in rendered]
        return {"events": self.out.events, "responses": responses}

    def _new_message(self, state: ConversationState, conv: LoadedConversation) -> bool:
        """Rasa calls several actions per customer message: the message is written once."""
        mid = self.call.message_id or ""
        seen = conv.fingerprint("RASA_MESSAGE", Sensitive(mid)) if mid else None
        if seen is not None and state.last_message == seen:
            return False
        state.last_message = seen
        return True

    # -- inbound ----------------------------------------------------------------------------
    def _inbound_slots(self, session: RedactionSession) -> dict[str, Scalar]:
        """Every scalar slot value redacted (the slot name as detection context); identity
        slots are not read at all."""
        out: dict[str, Scalar] = {}
        for name, value in self.call.slots.items():
            if name in (VERIFIED_SLOT, VERIFIED_FLAG_SLOT, LOCKED_SLOT):
                continue
            out[name] = session.clean_slot(name, value.reveal())
        return out

    def _entities(self, session: RedactionSession, text: str) -> list[EntityCandidate]:
        extractor = self.bot.extractor
        found = extractor.extract(text) if extractor is not None else find_placeholders(text)
        seen = {(c.entity, c.value) for c in found}
        for e in self.call.entities:
            value = session.clean_slot(e.entity, e.value.reveal())
            value = str(value)
            if (e.entity, value) in seen:
                continue
            seen.add((e.entity, value))
            start = text.find(value) if value else -1
            span = (start, start + len(value)) if start >= 0 else (0, 0)
            found.append(EntityCandidate(e.entity, value, *span))
        return found

    # -- running ----------------------------------------------------------------------------
    def context(
        self, name: str, reveals: frozenset[str], state: ConversationState, session: RedactionSession,
        conv: LoadedConversation, text: str, slots: Mapping[str, Scalar], entities: list[EntityCandidate],
    ) -> Context:
        def lookup(token: str) -> Sensitive[str] | None:
            return session.lookup(token) or conv.vault_get(token)

        return Context(
            conversation_id=self.ref, text=text, intent=self.call.intent, confidence=self.call.confidence,
            slots=dict(slots), entities=tuple(entities), customer_id=state.customer_id, channel="rasa",
            handler=name, _allowed=reveals, _lookup=lookup, _audit=session.audit, _policy_hash=session.policy_hash,
        )

    def _fill(self, form: Form, slots: dict[str, Scalar], text: str, entities: list[EntityCandidate]) -> bool:
        """Fill the form's empty slots from this message; ask for the first still missing (True)."""
        requested = slots.get(REQUESTED_SLOT)
        asked = requested if isinstance(requested, str) and any(s.name == requested for s in form.slots) else None
        outcome = fill(form, dict(slots), entities, text, asked=asked)
        for name, value in outcome.filled.items():
            slots[name] = value
            self.set_slot(name, value)
        missing = next((s for s in form.slots if s.required and slots.get(s.name) in (None, "")), None)
        if missing is None:
            return False
        bad = next((s for s in outcome.invalid if s.name == missing.name == asked), None)
        self.say(f"{bad.invalid} {missing.prompt}" if bad is not None else missing.prompt)
        self.set_slot(REQUESTED_SLOT, missing.name)
        return True

    async def _run(
        self, handler: Handler, state: ConversationState, session: RedactionSession, conv: LoadedConversation,
        text: str, slots: dict[str, Scalar], entities: list[EntityCandidate],
    ) -> None:
        settings = self.bot.settings
        if handler.requires_auth and state.customer_id is None:
            if state.locked:
                self.say(settings.response("handed_off"))
                return
            self.emit("auth", result="required", handler=handler.name)
            self.say(settings.response("verify_first"))
            return
        if handler.form is not None and self._fill(handler.form, slots, text, entities):
            return
        ctx = self.context(handler.name, handler.reveals, state, session, conv, text, slots, entities)
        outcome = await run_handler(handler, ctx, session.clean_slot, timeout=self.bot.config.dialogue.handler_timeout_s)
        if outcome.rejected:
            self.rejected = True
            return
        if outcome.error is not None or outcome.result is None:
            self.emit("error", code=outcome.error or "handler_error", handler=handler.name)
            self.say(settings.response("error"))
            return
        self._apply(handler, outcome.result)

    def _apply(self, handler: Handler, result: Result) -> None:
        if handler.form is not None:
            # As in a safebot conversation: a completed form starts fresh next time.
            for spec in handler.form.slots:
                if spec.name not in result.slots:
                    self.set_slot(spec.name, None)
            self.set_slot(REQUESTED_SLOT, None)
        for name, value in result.slots.items():
            self.set_slot(name, value)
            self.emit("slot", slot=name)
        for name in result.clear_slots:
            self.set_slot(name, None)
        for reply in result.replies:
            self.say(reply.text, reply.buttons)
        if result.handoff:
            self.handoff("handler")
        elif result.start_form:
            nxt = self.bot.routes.to_start(result.start_form)
            if nxt is None:
                self.emit("error", code="unknown_handler", handler=handler.name)
                self.say(self.bot.settings.response("error"))
                return
            self.out.events.append({"event": "followup", "timestamp": None, "name": nxt.name})

    async def _verify(
        self, state: ConversationState, session: RedactionSession, conv: LoadedConversation,
        text: str, slots: dict[str, Scalar], entities: list[EntityCandidate],
    ) -> None:
        verification = self.bot.routes.verification
        assert verification is not None  # only registered when the bot has one
        if state.locked:
            self.say(verification.locked)
            self.set_slot(LOCKED_SLOT, True)
            return
        if state.customer_id is not None:
            self.say(verification.success)
            self.set_slot(VERIFIED_FLAG_SLOT, True)
            return
        if self._fill(verification.form, slots, text, entities):
            return
        ctx = self.context("verification", verification.reveals, state, session, conv, text, slots, entities)
        outcome = await run_verification(verification, ctx, timeout=self.bot.config.dialogue.handler_timeout_s)
        for spec in verification.form.slots:
            self.set_slot(spec.name, None)
        self.set_slot(REQUESTED_SLOT, None)
        if outcome.error is not None:
            self.emit("error", code=outcome.error, handler="verification")
        if outcome.customer_id is None:
            # The same rule as the engine's: a failing verifier counts as a failed attempt.
            state.auth_attempts += 1
            self.emit("auth", result="failed", attempt=state.auth_attempts)
            if state.auth_attempts >= verification.max_attempts:
                state.locked = True
                self.set_slot(LOCKED_SLOT, True)
                self.emit("auth", result="locked")
                self.say(verification.locked)
                self.handoff("verification_locked", announce=False)
            else:
                self.set_slot(VERIFIED_FLAG_SLOT, False)
                self.say(self.bot.settings.response("error") if outcome.error else verification.failure)
            return
        state.customer_id = outcome.customer_id
        state.auth_attempts = 0
        self.set_slot(VERIFIED_FLAG_SLOT, True)
        self.emit("auth", result="passed")
        self.say(verification.success)

    # -- outbound ---------------------------------------------------------------------------
    def say(self, text: str, buttons: tuple[Button, ...] = ()) -> None:
        self.out.replies.append(_Reply(text, tuple(buttons)))

    def set_slot(self, name: str, value: Scalar) -> None:
        """A SlotSet for Rasa; values were cleaned (transcript rendering) before they got here."""
        self.out.slots[name] = value
        self.out.events.append(slot_event(name, value))

    def emit(self, kind: str, **data: Scalar) -> None:
        self.out.data.append((kind, data))

    def handoff(self, reason: str, *, announce: bool = True) -> None:
        self.out.events.append({"event": "pause", "timestamp": None})  # rasa_sdk.events.ConversationPaused
        self.out.handoff = True
        self.emit("handoff", reason=reason)
        if announce:
            self.say(self.bot.settings.response("handoff"))

    def _render(self, session: RedactionSession) -> list[tuple[str, list[dict[str, str]]]]:
        self._rendered: list[Any] = []
        out = []
        for reply in self.out.replies:
            rendered = session.outbound(reply.text)
            if rendered.blocked:
                self.emit("error", code="outbound_redaction_failed")
                rendered = session.outbound(self.bot.settings.response("error"))
            buttons = [
                {"title": session.outbound(b.title).text("customer").text,
                 "payload": session.button_payload(b.payload if b.payload is not None else b.title)}
                for b in reply.buttons
            ]
            self._rendered.append(rendered)
            out.append((rendered.text("customer").text, buttons))
        return out

    def _events(self, turn: int, inbound: Any, rendered: list[tuple[str, list[dict[str, str]]]]) -> list[RedactedEvent]:
        out: list[RedactedEvent] = []
        dests = ("transcript", "analytics")
        if inbound is not None:
            out += [RedactedEvent("user", self.ref, turn, d, inbound.text(d), channel="rasa") for d in dests]  # type: ignore[arg-type]
        for kind, data in self.out.data:
            out += [RedactedEvent(kind, self.ref, turn, d, None, dict(data), channel="rasa") for d in dests]  # type: ignore[arg-type]
        for reply in self._rendered:
            out += [RedactedEvent("bot", self.ref, turn, d, reply.text(d), channel="rasa") for d in dests]  # type: ignore[arg-type]
        return out


def _message(text: str, buttons: list[dict[str, str]]) -> dict[str, Any]:
    """One response, with the keys ``CollectingDispatcher.utter_message`` produces."""
    return {
        "text": text, "buttons": buttons, "elements": [], "custom": {}, "template": None,
        "response": None, "image": None, "attachment": None,
    }


ResponseFor = Callable[[str], str]
