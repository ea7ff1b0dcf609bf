"""One action call, served: redacted inputs, the handler run, the outputs for Rasa.

The Rasa-side counterpart of the engine's ``Turn``; :class:`~safebot.channels.rasa.RasaActionServer`
creates one per request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from safebot.channels._rasa_protocol import (
    AUTH_ATTEMPTS_SLOT,
    LOCKED_SLOT,
    REQUESTED_SLOT,
    ActionCall,
    Scalar,
    slot_event,
)
from safebot.channels._scope import RedactionScope
from safebot.engine.context import Context
from safebot.engine.forms import fill
from safebot.engine.handlers import Handler, Result
from safebot.errors import HandlerError, RevealError, SafebotError
from safebot.events import RedactedEvent
from safebot.nlu.placeholders import EntityCandidate, find_placeholders
from safebot.redaction.audit import AuditRecord

if TYPE_CHECKING:  # pragma: no cover
    from safebot.channels.rasa import RasaActionServer

__all__ = ["VERIFY", "ActionRun", "Verify"]

log = logging.getLogger("safebot.channels.rasa")

#: a customer id must look like an id, never like text
CUSTOMER_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")


class Verify:
    """Marker target: the bot's Verification, served as :data:`VERIFY_ACTION`."""


VERIFY = Verify()


class ActionRun:
    """One action call: redacted inputs, the handler run, the outputs (like the engine's Turn)."""

    def __init__(self, server: RasaActionServer, call: ActionCall, audit: list[AuditRecord]) -> None:
        self.server = server
        self.call = call
        self._audit_records = audit
        self.cid = server.conversation_id(call.sender_id.reveal())
        self.turn = call.user_turns
        self.responses: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.records: list[RedactedEvent] = []
        reserved: list[str] = [e.value.reveal() for e in call.entities]
        reserved += [str(v.reveal()) for v in call.slots.values()]
        if call.text is not None:
            reserved.append(call.text.reveal())
        self.scope = RedactionScope(server.redactor, self.cid, reserved=reserved)
        self.blocked = False
        self.text = ""
        if call.text is not None:
            analysis = self.scope.analyze(call.text.reveal())
            self.blocked = analysis.blocked
            self.text = self.scope.render_analysis(analysis, "nlu").text
        self.slots: dict[str, Scalar] = {n: self._inbound_value(n, v.reveal()) for n, v in call.slots.items()}
        self.entities = self._entities()
        self.customer_id = self._customer()
        if call.ignored_slots:
            log.debug("ignored %d slots (non-scalar values or unusual names)", call.ignored_slots)

    # -- inbound ----------------------------------------------------------------------------
    def _inbound_value(self, name: str, value: Scalar) -> Scalar:
        """A slot value as the handler may see it: strings redacted for 'nlu' (the slot name
        as context); numbers too if they hold PII (a card number in a float slot); booleans
        and None as they are."""
        if isinstance(value, str):
            return self.scope.render(value, "nlu", context=name).text
        if value is None or isinstance(value, bool):
            return value
        analysis = self.scope.analyze(str(value), context=name)
        if analysis.blocked or analysis.detections:
            return self.scope.render_analysis(analysis, "nlu").text
        return value

    def _entities(self) -> list[EntityCandidate]:
        extractor = self.server.extractor
        found = extractor.extract(self.text) if extractor is not None else find_placeholders(self.text)
        seen = {(c.entity, c.value) for c in found}
        for e in self.call.entities:
            value = self.scope.render(e.value.reveal(), "nlu", context=e.entity).text
            if (e.entity, value) in seen:
                continue
            seen.add((e.entity, value))
            start = self.text.find(value) if value else -1
            span = (start, start + len(value)) if start >= 0 else (0, 0)
            found.append(EntityCandidate(e.entity, value, *span))
        return found

    def _customer(self) -> str | None:
        raw = self.call.slots.get(self.server.verified_slot)
        value = raw.reveal() if raw is not None else None
        if value is None or value == "":
            return None
        if isinstance(value, str) and CUSTOMER_ID.fullmatch(value) and self.slots.get(self.server.verified_slot) == value:
            return value
        log.warning("ignored the %s slot: it does not look like a customer id", self.server.verified_slot)
        return None

    # -- outbound ---------------------------------------------------------------------------
    def say(self, text: str, buttons: Iterable[str] = ()) -> None:
        """Queue a reply, redacted for the customer (and rendered for transcript/analytics)."""
        analysis = self.scope.analyze(text)
        customer = self.scope.render_analysis(analysis, "customer")
        for dest in ("transcript", "analytics"):  # type: Destination
            self.records.append(
                RedactedEvent("bot", self.cid, self.turn, dest, self.scope.render_analysis(analysis, dest), channel="rasa")
            )
        titles = [self.scope.render(b, "customer").text for b in buttons]
        self.responses.append(_message(customer.text, [{"title": t, "payload": t} for t in titles]))

    def set_slot(self, name: str, value: Scalar) -> None:
        """A SlotSet for Rasa; a string value is redacted for 'transcript' (Rasa stores it)."""
        if isinstance(value, str):
            value = self.scope.render(value, "transcript", context=name).text
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            analysis = self.scope.analyze(str(value), context=name)
            if analysis.blocked or analysis.detections:
                value = self.scope.render_analysis(analysis, "transcript").text
        self.slots[name] = value
        self.events.append(slot_event(name, value))
        self._event("slot", {"slot": name})

    def _event(self, kind: str, data: Mapping[str, Scalar]) -> None:
        for dest in ("transcript", "analytics"):  # type: Destination
            self.records.append(RedactedEvent(kind, self.cid, self.turn, dest, None, dict(data), channel="rasa"))  # type: ignore[arg-type]

    def _handoff(self, reason: str, *, announce: bool = True) -> None:
        self.events.append({"event": "pause", "timestamp": None})  # rasa_sdk.events.ConversationPaused
        self._event("handoff", {"reason": reason})
        if announce:
            self.say(self.server.response("handoff"))

    def _error(self, code: str, handler: str) -> None:
        self._event("error", {"code": code, "handler": handler})
        self.say(self.server.response("error"))

    # -- running ----------------------------------------------------------------------------
    async def serve(self, target: Handler | Verify) -> None:
        if self.blocked:
            self._event("error", {"code": "redaction_failed"})
            self.say(self.server.response("blocked"))
            return
        if isinstance(target, Verify):
            await self._verify()
            return
        await self._run(target)

    def _context(self, name: str, reveals: frozenset[str]) -> Context:
        return Context(
            conversation_id=self.cid,
            text=self.text,
            intent=self.call.intent,
            confidence=self.call.confidence,
            slots=dict(self.slots),
            entities=tuple(self.entities),
            customer_id=self.customer_id,
            channel="rasa",
            handler=name,
            _allowed=reveals,
            _lookup=self.scope.lookup,
            _audit=self._audit_records.append,
            _policy_hash=self.server.redactor.policy.hash,
        )

    def _ask_missing(self, form_slots: Sequence[Any], asked: str | None, invalid: Sequence[Any]) -> bool:
        """Ask for the first missing slot (Rasa's form will fill it); True if one was asked."""
        missing = next((s for s in form_slots if s.required and self.slots.get(s.name) in (None, "")), None)
        if missing is None:
            return False
        bad = next((s for s in invalid if s.name == missing.name == asked), None)
        self.say(f"{bad.invalid} {missing.prompt}" if bad is not None else missing.prompt)
        self.set_slot(REQUESTED_SLOT, missing.name)
        return True

    def _fill(self, form: Any) -> bool:
        """Fill the form's empty slots from this message; ask for what is still missing."""
        requested = self.slots.get(REQUESTED_SLOT)
        asked = requested if isinstance(requested, str) and any(s.name == requested for s in form.slots) else None
        outcome = fill(form, dict(self.slots), self.entities, self.text, asked=asked)
        for name, value in outcome.filled.items():
            self.set_slot(name, value)
        return self._ask_missing(form.slots, asked, outcome.invalid)

    async def _run(self, handler: Handler) -> None:
        if handler.requires_auth and self.customer_id is None:
            if self.slots.get(LOCKED_SLOT) is True:
                self.say(self.server.response("handed_off"))
                return
            self._event("auth", {"result": "required", "handler": handler.name})
            self.say(self.server.response("verify_first"))
            return
        if handler.form is not None and self._fill(handler.form):
            return
        try:
            result = await handler.run(self._context(handler.name, handler.reveals))
            if not isinstance(result, Result):
                raise HandlerError(f"handler {handler.name!r} returned {type(result).__name__}, not Result")
            result.validate(handler.name)
        except RevealError as exc:
            log.error("%s", exc)  # RevealError messages name the handler and entity type only
            self._error(exc.code, handler.name)
            return
        except Exception as exc:  # noqa: BLE001 - handler bugs must not leak text or kill the server
            log.error("handler %s failed (%s)", handler.name, type(exc).__name__)
            self._error("handler_error", handler.name)
            return
        self._apply(handler, result)

    def _apply(self, handler: Handler, result: Result) -> None:
        if handler.form is not None:
            # As in a safebot conversation: a completed form starts fresh next time.
            for spec in handler.form.slots:
                if spec.name not in result.slots:
                    self.set_slot(spec.name, None)
            self.set_slot(REQUESTED_SLOT, None)
        for name, value in result.slots.items():
            self.set_slot(name, value)
        for name in result.clear_slots:
            self.set_slot(name, None)
        for reply in result.replies:
            self.say(reply.text, reply.buttons)
        if result.handoff:
            self._handoff("handler")
        elif result.start_form:
            nxt = self.server.routes.by_name(result.start_form)
            if nxt is None:
                log.error("handler %s asked to start an unknown handler", handler.name)
                self._error("handler_error", handler.name)
                return
            self.events.append({"event": "followup", "timestamp": None, "name": nxt.name})

    async def _verify(self) -> None:
        verification = self.server.routes.verification
        assert verification is not None  # only registered when the bot has one
        if self.slots.get(LOCKED_SLOT) is True:
            self.say(verification.locked)
            return
        if self._fill(verification.form):
            return
        ctx = self._context("verification", verification.reveals)
        try:
            customer = await verification.verify(ctx)
        except RevealError as exc:
            log.error("%s", exc)
            self._error(exc.code, "verification")
            return
        except SafebotError:
            customer = None
        except Exception as exc:  # noqa: BLE001
            log.error("verification failed (%s)", type(exc).__name__)
            self._error("handler_error", "verification")
            return
        for spec in verification.form.slots:
            self.set_slot(spec.name, None)
        self.set_slot(REQUESTED_SLOT, None)
        if customer is not None and not (isinstance(customer, str) and CUSTOMER_ID.fullmatch(customer)):
            log.error("verification returned something that is not a customer id")
            self._error("handler_error", "verification")
            return
        if customer is None:
            previous = self.call.slots.get(AUTH_ATTEMPTS_SLOT)
            count = previous.reveal() if previous is not None else 0
            attempts = (count if isinstance(count, int) and not isinstance(count, bool) else 0) + 1
            self.set_slot(AUTH_ATTEMPTS_SLOT, attempts)
            self._event("auth", {"result": "failed", "attempt": attempts})
            if attempts >= verification.max_attempts:
                self.set_slot(LOCKED_SLOT, True)
                self._event("auth", {"result": "locked"})
                self.say(verification.locked)
                self._handoff("verification_locked", announce=False)
            else:
                self.say(verification.failure)
            return
        self.set_slot(self.server.verified_slot, customer)
        self.set_slot(AUTH_ATTEMPTS_SLOT, 0)
        self._event("auth", {"result": "passed"})
        self.say(verification.success)


def _message(text: str, buttons: list[dict[str, str]]) -> dict[str, Any]:
    """One response, with the keys ``CollectingDispatcher.utter_message`` produces."""
    return {
        "text": text, "buttons": buttons, "elements": [], "custom": {}, "template": None,
        "response": None, "image": None, "attachment": None,
    }
