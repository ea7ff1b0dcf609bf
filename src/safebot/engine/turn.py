"""One turn of a conversation: the dialogue rules, in one place.

Order of precedence: a blocked message (redaction failed) -> a locked or handed-off
conversation -> an active form (answer, cancel, or interruption) -> the route table
(handler, verification gate, form) -> built-in responses -> fallback and hand-off.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from typing import TYPE_CHECKING

from safebot.engine.context import Context
from safebot.engine.forms import Form, fill
from safebot.engine.handlers import Handler, Result, SlotValue
from safebot.engine.tracker import FormState, Tracker
from safebot.errors import HandlerError, RevealError, SafebotError
from safebot.events import RedactedEvent
from safebot.nlu.placeholders import EntityCandidate
from safebot.redaction.audit import AuditRecord
from safebot.redaction.detector import Detection
from safebot.redaction.policy import DESTINATIONS, Destination
from safebot.redaction.results import RedactedText
from safebot.redaction.treatments import canonical_value
from safebot.sensitive import Sensitive

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine.bot import Bot, TurnResult
    from safebot.redaction.redactor import Analysis

log = logging.getLogger("safebot.engine")

VERIFY = "__verification__"
PLACEHOLDER_ONLY = re.compile(r"<[A-Z][A-Z0-9_]*_\d+>")
#: every reply is rendered for these; the customer sees the first
OUTBOUND: tuple[Destination, ...] = ("customer", "transcript", "analytics")
BUILTIN_INTENTS = ("greet", "thanks", "goodbye")
HANDOFF_INTENTS = ("human_handoff",)


# Words around a bare answer that are not part of it: "it's X7K9QP", "my last name is Brown".
_ANSWER_FILLER = frozenset(
    "it it's its is my the a an name last surname family first number no ref reference booking "
    "code passport was i i'm im am yes sure ok okay here please thanks and of for".split()
)
_ANSWER_TOKEN = re.compile(r"[^\W_][\w'’\-]*")


_FLIGHT = re.compile(r"[a-z]{2}\d{1,4}|[a-z]\d\d{1,4}|\d[a-z]\d{1,4}", re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def _request_words() -> frozenset[str]:
    """Common English words that are not surnames: a message made of them is a request."""
    from safebot.redaction.recognizers.vocabulary import census_last_names, english_words

    return english_words(5000) - census_last_names()


def expected_answer(analysis: Analysis, expected: frozenset[str]) -> Analysis:
    """Treat a bare answer to a question about a PII field as that entity.

    Detection alone cannot know that '533380006' is a passport number; the question the bot
    asked does. When the asked-for type was not found and the message is nothing but an
    answer (filler words aside), it becomes one detection of that type: identifier-like
    tokens (with a digit, not a flight number) for identifiers, one to three words that are
    not ordinary request words for a PERSON. Anything else ('what's the status of NW214') is
    left to the NLU as a new request.
    """
    if analysis.blocked or not expected:
        return analysis
    missing = sorted(expected - {d.entity_type for d in analysis.detections})
    if not missing:
        return analysis
    raw = analysis.raw.reveal()
    taken = [(d.start, d.end) for d in analysis.detections]
    tokens = [
        m for m in _ANSWER_TOKEN.finditer(raw)
        if m.group(0).lower() not in _ANSWER_FILLER and not any(s < m.end() and m.start() < e for s, e in taken)
    ]
    if not tokens or len(tokens) > 3:
        return analysis
    words = [m.group(0) for m in tokens]
    extra: list[Detection] = []
    if "PERSON" in missing and all(w.replace("-", "").replace("'", "").isalpha() for w in words):
        request = _request_words()
        if not any(w.lower() in request for w in words):
            extra.append(Detection("PERSON", tokens[0].start(), tokens[-1].end(), 0.8, "engine.expected_answer"))
    ids = [e for e in missing if e != "PERSON"]
    if ids and all(any(c.isdigit() for c in w) and not _FLIGHT.fullmatch(w) for w in words):
        extra.append(Detection(ids[0], tokens[0].start(), tokens[-1].end(), 0.8, "engine.expected_answer"))
    if not extra:
        return analysis
    detections = tuple(sorted((*analysis.detections, *extra), key=lambda d: d.start))
    from safebot.redaction.treatments import placeholder_numbers

    return dataclasses.replace(
        analysis, detections=detections, numbers=tuple(placeholder_numbers(raw, list(detections)))
    )


class Turn:
    def __init__(self, bot: Bot, conversation_id: str, text: str, channel: str) -> None:
        self.bot = bot
        self.cid = conversation_id
        self.raw = Sensitive(text)
        self.channel = channel
        self.replies: list[str] = []
        self.events: list[RedactedEvent] = []
        self.values: dict[str, Sensitive[str]] = {}
        self.intent: str | None = None
        self.confidence = 0.0
        self.nlu_text = ""
        self.entities: list[EntityCandidate] = []
        self._rendered_replies: list[dict[str, RedactedText]] = []
        #: the conversation was handed to a human in this turn (the bot builds the agent view)
        self.handed_off_now = False

    # -- the turn ------------------------------------------------------------------------------
    async def run(self, audit: list[AuditRecord]) -> tuple[TurnResult, list[RedactedEvent]]:
        from safebot.engine.bot import TurnResult

        bot = self.bot
        analysis = bot.redactor.analyze(self.raw.reveal(), conversation_id=self.cid)
        with bot.store.unit_of_work() as uow:
            self.uow = uow
            uow.ensure_conversation(self.cid, self.channel)
            state = uow.get_tracker(self.cid)
            version = uow.tracker_version(self.cid)
            tracker = Tracker.from_state(self.cid, state, version)
            tracker.turn += 1
            tracker.channel = self.channel
            self.tracker = tracker
            analysis = expected_answer(analysis, self._expected_entities())
            analysis = self._conversation_tokens(analysis)
            self._user_events(analysis)
            if analysis.blocked:
                self.say(bot.config.response("blocked"))
                self._event("error", data={"code": "redaction_failed"})
            else:
                self.nlu_text = bot.redactor.render(analysis, "nlu").text
                prediction = bot.classifier.predict(self.nlu_text)
                self.intent, self.confidence = prediction.intent, float(prediction.confidence)
                self.entities = bot.extractor.extract(self.nlu_text)
                tracker.latest_intent = self.intent
                self._event("intent", data={"intent": self.intent, "confidence": round(self.confidence, 4)})
                await self._dialogue()
            self._bot_events()
            for record in audit:
                uow.audit(record)
            uow.save_tracker(self.cid, tracker.to_state(), expected_version=tracker.version)
        result = TurnResult(tuple(self.replies), self.intent, self.confidence, self.cid, analysis.blocked)
        return result, [e for e in self.events if e.destination != "transcript"]

    # -- redaction bookkeeping -------------------------------------------------------------------
    def _conversation_tokens(self, analysis: Analysis) -> Analysis:
        """Give each value one placeholder for the whole conversation; vault what the policy says."""
        if analysis.blocked or not analysis.detections:
            return analysis
        bot, tracker = self.bot, self.tracker
        raw = analysis.raw.reveal()
        numbers: list[int] = []
        policy = bot.redactor.policy
        for d in analysis.detections:
            value = raw[d.start : d.end]
            fp = self.uow.fingerprint(self._key_id(), d.entity_type, Sensitive(canonical_value(value)))
            token = tracker.tokens.get(fp)
            if token is None:
                n = tracker.counts.get(d.entity_type, 0) + 1
                tracker.counts[d.entity_type] = n
                token = f"<{d.entity_type}_{n}>"
                tracker.tokens[fp] = token
                if any(policy.treatment(d.entity_type, dest).action == "encrypt" for dest in DESTINATIONS):
                    self.uow.vault_put(self.cid, token, d.entity_type, Sensitive(value), fp, self._key_id())
            numbers.append(int(token.rsplit("_", 1)[1].rstrip(">")))
            self.values[token] = Sensitive(value)
        return dataclasses.replace(analysis, numbers=tuple(numbers))

    def _expected_entities(self) -> frozenset[str]:
        """PII entity types the slot the bot just asked for expects ('What is your booking
        reference?' expects BOOKING_REFERENCE), so a bare answer is still redacted."""
        t = self.tracker
        if t.form is None or t.form.requested is None:
            return frozenset()
        try:
            form = self._form_def(t.form)
        except HandlerError:
            return frozenset()
        spec = next((s for s in form.slots if s.name == t.form.requested), None)
        if spec is None:
            return frozenset()
        pii = frozenset(e for e in spec.entities if e in self.bot.redactor.policy.entities)
        # A slot that also takes a non-PII entity ('card_last_four' or a full card) must keep
        # a bare '4242' readable: only a slot that can hold nothing but PII expects PII.
        return pii if len(pii) == len(spec.entities) else frozenset()

    def _key_id(self) -> str:
        # One data key per conversation; the conversation is linked to its customer at
        # verification, and Bot.forget_customer shreds the keys of all their conversations.
        return f"conversation:{self.cid}"

    def _lookup(self, token: str) -> Sensitive[str] | None:
        return self.values.get(token) or self.uow.vault_get(self.cid, token)

    def _user_events(self, analysis: Analysis) -> None:
        for dest in ("transcript", "analytics"):
            text = self.bot.redactor.render(analysis, dest, conversation_id=self.cid)
            self.events.append(
                RedactedEvent("user", self.cid, self.tracker.turn, dest, text, channel=self.channel)
            )

    def _bot_events(self) -> None:
        for reply in self._rendered_replies:
            for dest in ("transcript", "analytics"):  # type: Destination
                self.events.append(
                    RedactedEvent("bot", self.cid, self.tracker.turn, dest, reply[dest], channel=self.channel)
                )
        for e in self.events:
            if e.destination == "transcript":
                self.uow.append(e)

    def _event(self, kind: str, data: dict[str, SlotValue] | None = None) -> None:
        for dest in ("transcript", "analytics"):
            self.events.append(
                RedactedEvent(kind, self.cid, self.tracker.turn, dest, None, data or {}, channel=self.channel)  # type: ignore[arg-type]
            )

    def say(self, text: str) -> None:
        """Queue a reply; outbound redaction for the customer happens here, once per reply.

        The reply is scanned with every recognizer, but spaCy's NER guesses are not applied
        to the bot's own words: they turn merchants ('Chipotle', 'Con Edison') into names and
        places, while the identifiers outbound redaction exists for (cards, SSNs, IBANs,
        passports) come from the pattern and checksum recognizers. If the scan fails, the
        customer gets the bot's generic error reply, never the unscanned text and never a
        bare '<REDACTED_MESSAGE>'.
        """
        redactor = self.bot.redactor
        analysis = redactor.analyze(text, conversation_id=self.cid)
        if analysis.blocked and analysis.reason == "timeout":
            analysis = redactor.analyze(text, conversation_id=self.cid)  # once: a busy moment
        if analysis.blocked:
            self._event("error", data={"code": "outbound_redaction_failed"})
            analysis = redactor.analyze(self.bot.config.response("error"), conversation_id=self.cid)
        kept = tuple(d for d in analysis.detections if not d.recognizer.startswith("spacy.ner"))
        if len(kept) != len(analysis.detections):
            from safebot.redaction.treatments import placeholder_numbers

            raw = analysis.raw.reveal()
            analysis = dataclasses.replace(analysis, detections=kept, numbers=tuple(placeholder_numbers(raw, list(kept))))
        rendered: dict[str, RedactedText] = {
            d: self.bot.redactor.render(analysis, d, conversation_id=self.cid) for d in OUTBOUND
        }
        self._rendered_replies.append(rendered)
        self.replies.append(rendered["customer"].text)

    # -- dialogue --------------------------------------------------------------------------------
    async def _dialogue(self) -> None:
        t, cfg = self.tracker, self.bot.config
        if t.locked or t.handed_off:
            self.say(cfg.response("handed_off"))
            return
        if t.form is not None:
            await self._continue_form()
            return
        await self._route(self.intent)

    async def _route(self, intent: str | None) -> None:
        t, cfg, routes = self.tracker, self.bot.config, self.bot.routes
        if intent is None:
            await self._fallback()
            return
        t.fallbacks = 0
        handler = routes.for_intent(intent)
        if handler is None:
            if intent in HANDOFF_INTENTS:
                self._handoff("requested")
            elif intent in BUILTIN_INTENTS or intent in cfg.responses:
                self.say(cfg.response(intent) if intent in BUILTIN_INTENTS or intent in cfg.responses else "")
            else:
                await self._fallback()
            return
        await self._start(handler)

    async def _start(self, handler: Handler, *, prefill: bool = True) -> None:
        """Route to ``handler``: verification first if needed, then its form, then run it.

        ``prefill=False`` when the current message was an answer to something else (the
        verification form), so it must not also fill the handler's slots.
        """
        t = self.tracker
        if handler.requires_auth and not t.verified:
            verification = self.bot.routes.verification
            if verification is None:
                raise HandlerError(f"handler {handler.name!r} requires auth but the bot defines no verification")
            if handler.form is not None:
                self._prefill(handler.form)
            t.after_auth = handler.name
            self.say(self.bot.config.response("verify_first"))
            self._begin_form(FormState(VERIFY, None))
            self._prefill(verification.form)
            await self._ask_or_complete()
            return
        if handler.form is not None:
            if prefill:
                self._prefill(handler.form)
            self._begin_form(FormState(handler.form.name, handler.name))
            await self._ask_or_complete()
            return
        await self._run(handler)

    def _form_def(self, state: FormState) -> Form:
        if state.form == VERIFY:
            assert self.bot.routes.verification is not None
            return self.bot.routes.verification.form
        handler = self.bot.routes.by_name(state.handler or "")
        if handler is None or handler.form is None:
            raise HandlerError("form state refers to an unknown handler")
        return handler.form

    def _prefill(self, form: Form) -> None:
        outcome = fill(form, self.tracker.slots, self.entities, self.nlu_text, asked=None)
        self.tracker.slots.update(outcome.filled)

    def _begin_form(self, state: FormState) -> None:
        self.tracker.form = state
        self._event("form", data={"form": state.form, "state": "started"})

    async def _ask_or_complete(self) -> None:
        t = self.tracker
        assert t.form is not None
        form = self._form_def(t.form)
        missing = form.next_missing(t.slots)
        if missing is not None:
            t.form.requested = missing.name
            self.say(missing.prompt)
            return
        state = t.form
        t.form = None
        self._event("form", data={"form": state.form, "state": "completed"})
        if state.form == VERIFY:
            await self._verify(form)
        else:
            handler = self.bot.routes.by_name(state.handler or "")
            if handler is not None:
                await self._run(handler)
        await self._resume()

    async def _continue_form(self) -> None:
        t = self.tracker
        assert t.form is not None
        form = self._form_def(t.form)
        text = self.nlu_text.strip().lower().rstrip(".!")
        if text in form.cancel_words:
            self._event("form", data={"form": t.form.form, "state": "cancelled"})
            if t.form.form == VERIFY:
                t.after_auth = None
            self._clear_form_slots(form)
            t.form = None
            self.say(self.bot.config.response("cancelled"))
            await self._resume()
            return
        outcome = fill(form, t.slots, self.entities, self.nlu_text, asked=t.form.requested)
        own_intents = self._form_intents(t.form)
        answered = bool(outcome.filled) or (bool(outcome.invalid) and not outcome.text_rejected)
        confident = self.confidence >= self.bot.config.dialogue.interrupt_confidence
        if not answered and self.intent is not None and confident and self.intent not in own_intents \
                and self.intent not in self.bot.routes.inform_intents:
            # The customer asked something else: park the form, serve the request, come back.
            t.paused.append(t.form)
            t.form = None
            self._event("form", data={"form": t.paused[-1].form, "state": "interrupted"})
            await self._route(self.intent)
            if t.form is None and t.paused and not t.handed_off:
                await self._resume()
            return
        t.slots.update(outcome.filled)
        if outcome.invalid and t.form.requested not in outcome.filled:
            spec = outcome.invalid[0]
            t.form.retries += 1
            if t.form.retries > form.max_retries:
                self._event("form", data={"form": t.form.form, "state": "failed"})
                self._clear_form_slots(form)
                t.form = None
                await self._fallback(force=True)
                return
            self.say(f"{spec.invalid} {spec.prompt}")
            return
        if not outcome.filled and t.form.requested is not None:
            spec = next(s for s in form.slots if s.name == t.form.requested)
            t.form.retries += 1
            if t.form.retries > form.max_retries:
                self._clear_form_slots(form)
                t.form = None
                await self._fallback(force=True)
                return
            self.say(f"{spec.invalid} {spec.prompt}")
            return
        t.form.retries = 0
        await self._ask_or_complete()

    def _clear_form_slots(self, form: Form) -> None:
        for spec in form.slots:
            self.tracker.slots.pop(spec.name, None)

    def _form_intents(self, state: FormState) -> tuple[str, ...]:
        if state.form == VERIFY:
            handler = self.bot.routes.by_name(self.tracker.after_auth or "")
        else:
            handler = self.bot.routes.by_name(state.handler or "")
        return handler.intents if handler is not None else ()

    async def _resume(self) -> None:
        t = self.tracker
        if t.form is not None or not t.paused or t.handed_off or t.locked:
            return
        state = t.paused.pop()
        t.form = state
        form = self._form_def(state)
        missing = form.next_missing(t.slots)
        if missing is None:
            await self._ask_or_complete()
            return
        state.requested = missing.name
        self._event("form", data={"form": state.form, "state": "resumed"})
        self.say(self.bot.config.response("resume").format(prompt=missing.prompt))

    async def _verify(self, form: Form) -> None:
        t, verification = self.tracker, self.bot.routes.verification
        assert verification is not None
        ctx = self._context("verification", verification.reveals)
        try:
            customer = await verification.verify(ctx)
        except RevealError:
            raise
        except SafebotError:
            customer = None
        for spec in form.slots:
            t.slots.pop(spec.name, None)
        if customer is None:
            t.auth_attempts += 1
            self._event("auth", data={"result": "failed", "attempt": t.auth_attempts})
            if t.auth_attempts >= verification.max_attempts:
                t.locked = True
                t.after_auth = None
                t.paused.clear()
                self._event("auth", data={"result": "locked"})
                self.say(verification.locked)
                self._handoff("verification_locked", announce=False)
                return
            self.say(verification.failure)
            self._begin_form(FormState(VERIFY, None))
            await self._ask_or_complete()
            return
        t.customer_id = customer
        t.auth_attempts = 0
        self.uow.set_customer(self.cid, f"customer:{customer}")
        self._event("auth", data={"result": "passed"})
        self.say(verification.success)
        pending = self.bot.routes.by_name(t.after_auth or "")
        t.after_auth = None
        if pending is not None:
            await self._start(pending, prefill=False)

    async def _run(self, handler: Handler) -> None:
        t = self.tracker
        ctx = self._context(handler.name, handler.reveals)
        try:
            result = await handler.run(ctx)
            if not isinstance(result, Result):
                raise HandlerError(f"handler {handler.name!r} returned {type(result).__name__}, not Result")
            result.validate(handler.name)
        except RevealError as exc:
            log.error("%s", exc)
            self._event("error", data={"code": exc.code, "handler": handler.name})
            self.say(self.bot.config.response("error"))
            return
        except Exception as exc:
            log.error("handler %s failed (%s)", handler.name, type(exc).__name__)
            self._event("error", data={"code": "handler_error", "handler": handler.name})
            self.say(self.bot.config.response("error"))
            return
        if handler.form is not None:
            for spec in handler.form.slots:
                t.slots.pop(spec.name, None)
        for name, value in result.slots.items():
            # Slots are stored: a handler that puts a raw value in one gets it redacted here.
            if isinstance(value, str) and len(value) >= 4 and not PLACEHOLDER_ONLY.fullmatch(value):
                value = self.bot.redactor.redact(value, "transcript").text
            t.slots[name] = value
            self._event("slot", data={"slot": name})
        for name in result.clear_slots:
            t.slots.pop(name, None)
        for reply in result.replies:
            self.say(reply.text)
        if result.handoff:
            self._handoff("handler")
        elif result.start_form:
            nxt = self.bot.routes.by_name(result.start_form)
            if nxt is None:
                raise HandlerError(f"handler {handler.name!r} asked to start unknown handler {result.start_form!r}")
            await self._start(nxt)

    def _context(self, name: str, reveals: frozenset[str]) -> Context:
        t = self.tracker
        return Context(
            conversation_id=self.cid,
            text=self.nlu_text,
            intent=self.intent,
            confidence=self.confidence,
            slots=dict(t.slots),
            entities=tuple(self.entities),
            customer_id=t.customer_id,
            channel=self.channel,
            handler=name,
            _allowed=reveals,
            _lookup=self._lookup,
            _audit=self._audit,
            _policy_hash=self.bot.redactor.policy.hash,
        )

    def _audit(self, record: AuditRecord) -> None:
        self.uow.audit(record)

    async def _fallback(self, force: bool = False) -> None:
        t = self.tracker
        t.fallbacks += 1
        self._event("fallback", data={"count": t.fallbacks})
        if t.fallbacks >= self.bot.config.dialogue.max_fallbacks or force:
            self._handoff("repeated_misunderstanding")
            return
        self.say(self.bot.config.response("fallback"))

    def _handoff(self, reason: str, announce: bool = True) -> None:
        t = self.tracker
        t.handed_off = True
        t.form = None
        self._event("handoff", data={"reason": reason})
        if announce:
            self.say(self.bot.config.response("handoff"))
        self.handed_off_now = True
