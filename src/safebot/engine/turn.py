"""One turn, as an explicit list of stages, top to bottom. Blocking stages run off the loop.

::

    check input       empty, too long: a clear reply, nothing else happens
    lock              this conversation's turns one at a time (other conversations never wait)
    redact inbound    detection on a worker thread, within the policy's time budget (fail closed)
    load state        tracker, its version, the conversation's data key; no lock held after
    classify          NLU on the session's 'nlu' rendering only
    decide            dialogue.step(state, event, routes) -> (state, actions); pure
    run handlers      the one interpreter of Handler/Result; each outcome goes back to step
    redact outbound   every reply rendered per destination by the same session
    persist           one transaction, fenced on the version read (a conflict retries once)
    emit              RedactedEvents to the sinks; the channel sends the customer rendering

Nothing here touches raw text except through the :class:`RedactionSession`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from safebot.engine import dialogue
from safebot.engine.context import Context
from safebot.engine.dialogue import (
    Action,
    Emit,
    HandlerDone,
    HandOff,
    LinkCustomer,
    Message,
    RunHandler,
    Say,
    Understanding,
    Verify,
    VerifyDone,
)
from safebot.engine.handlers import Button, SlotValue
from safebot.engine.interpreter import run_handler, run_verification
from safebot.engine.state import ConversationState
from safebot.errors import VersionConflict
from safebot.events import RedactedEvent
from safebot.redaction.policy import Destination
from safebot.redaction.types import RedactedText
from safebot.sensitive import Sensitive
from safebot.stores.conversations import (
    LoadedConversation,
    TurnRecord,
    load_conversation,
    save_turn,
)

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine.bot import Bot
    from safebot.redaction.session import Inbound, Outbound, RedactionSession

__all__ = ["TurnOutput", "TurnResult", "run_turn"]

log = logging.getLogger("safebot.engine")

#: where each event goes: the store (transcript) and the analytics exporters
EVENT_DESTINATIONS: tuple[Destination, ...] = ("transcript", "analytics")
#: a reply is rendered for these; the customer is sent the first
REPLY_DESTINATIONS: tuple[Destination, ...] = ("customer", "transcript", "analytics")
#: a guard against a handler that keeps starting handlers
MAX_EFFECTS = 16


@dataclass(frozen=True)
class TurnResult:
    """What the customer sees for one turn, plus what the NLU decided."""

    replies: tuple[str, ...]
    intent: str | None
    confidence: float
    conversation_id: str
    blocked: bool = False
    #: buttons per reply (customer rendering), aligned with ``replies``
    buttons: tuple[tuple[Button, ...], ...] = ()
    #: entity types found in the customer's message (types only: for metrics)
    findings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"intent": self.intent, "confidence": round(self.confidence, 4), "replies": list(self.replies)}


@dataclass
class TurnOutput:
    result: TurnResult
    #: for the sinks, after the turn committed (analytics and agent renderings)
    events: list[RedactedEvent] = field(default_factory=list)


async def run_turn(
    bot: Bot, conversation_id: str, text: str, channel: str, *, slots: Mapping[str, SlotValue] | None = None,
    extra_writes: Sequence[Callable[[Any], None]] = (),
) -> TurnOutput:
    """Run one customer turn of ``conversation_id`` (a channel's id; stored only hashed)."""
    rejected = bot.limits.check(text)
    if rejected is not None:  # check input
        if extra_writes:  # nothing to process, but the channel's own bookkeeping still commits
            await anyio.to_thread.run_sync(_write_only, bot, list(extra_writes))
        return TurnOutput(TurnResult((bot.settings.response(rejected),), None, 0.0, conversation_id))
    ref = bot.conversation_ref(conversation_id)
    raw = Sensitive(text)
    async with bot.locks.hold(ref):  # lock
        for attempt in (1, 2):
            try:
                out = await _Turn(bot, ref, conversation_id, channel, dict(slots or {}), list(extra_writes)).run(raw)
                break
            except VersionConflict:
                if attempt == 2:
                    raise
                log.warning("turn conflicted with another writer; retrying from fresh state")
    return out


def _write_only(bot: Bot, writes: list[Callable[[Any], None]]) -> None:
    with bot.store.unit_of_work() as uow:
        for write in writes:
            write(uow)


class _Turn:
    """The stages of one attempt. Holds this turn's objects; nothing survives the turn."""

    def __init__(
        self, bot: Bot, ref: str, external_id: str, channel: str, slots: dict[str, SlotValue],
        extra_writes: list[Callable[[Any], None]],
    ) -> None:
        self.bot, self.ref, self.external_id, self.channel = bot, ref, external_id, channel
        self.channel_slots = slots
        self.extra_writes = extra_writes
        self.said: list[Say] = []
        self.emitted: list[Emit] = []
        self.handoffs: list[str] = []
        self.customer: str | None = None

    async def run(self, raw: Sensitive[str]) -> TurnOutput:
        bot = self.bot
        analysis = await bot.redactor.analyze_async(raw.reveal())  # redact inbound
        conv = await anyio.to_thread.run_sync(load_conversation, bot.store, self.ref)  # load state
        state = ConversationState.from_json(conv.state)
        state.turn += 1
        state.channel = self.channel
        session = bot.redactor.session(
            self.ref, state.redaction, fingerprint=conv.fingerprint,
            expected=dialogue.expected_entities(state, bot.routes, frozenset(bot.redactor.policy.entities)),
            companions=dialogue.companion_entities(state, bot.routes, frozenset(bot.redactor.policy.entities)),
        )
        inbound = session.inbound(analysis)
        for name, value in self.channel_slots.items():  # what the channel knows (a reply to an alert)
            state.slots[name] = session.clean_slot(name, value)
        understanding = await anyio.to_thread.run_sync(bot.understand, inbound)  # classify
        state = await self.decide_and_run(state, understanding, session, conv)  # decide, run handlers
        replies = await anyio.to_thread.run_sync(self.render_replies, session)  # redact outbound
        sent = tuple(r.text("customer").text for r, _ in replies)  # rendered (and audited) before persisting
        state.redaction = session.memory
        events = self.events(state.turn, inbound, replies)
        agent = await self.agent_events(state.turn, session, conv, events) if self.handoffs else []
        record = TurnRecord(
            self.ref, self.channel, conv.version, state.to_json(),
            transcript=[e for e in events if e.destination == "transcript"],
            audit=session.audit_records, vault=session.vault_entries,
            customer_key_id=f"customer:{self.customer}" if self.customer else None,
            extra=self.extra_writes,
        )
        await anyio.to_thread.run_sync(save_turn, bot.store, record)  # persist
        result = TurnResult(
            sent, understanding.intent, understanding.confidence,
            self.external_id, inbound.blocked, tuple(b for _, b in replies),
            findings=tuple(sorted(f.entity_type for f in inbound.text("transcript").findings)),
        )
        outgoing = [e for e in events if e.destination != "transcript"] + agent
        return TurnOutput(result, outgoing)  # emit (by the Bot, after the commit)

    # -- decide and run handlers ------------------------------------------------------------------
    async def decide_and_run(
        self, state: ConversationState, u: Understanding, session: RedactionSession, conv: LoadedConversation
    ) -> ConversationState:
        bot = self.bot
        state, actions = dialogue.step(state, Message(), bot.routes, bot.settings, u)
        for _ in range(MAX_EFFECTS):
            effect = self.collect(actions)
            if effect is None:
                return state
            ctx = self.context(state, u, session, conv, effect)
            outcome: HandlerDone | VerifyDone
            if isinstance(effect, RunHandler):
                handler = bot.routes.by_name(effect.handler)
                assert handler is not None  # step only names routed handlers
                done = await run_handler(handler, ctx, session.clean_slot, timeout=bot.config.dialogue.handler_timeout_s)
                outcome = HandlerDone(done.handler, done.result, done.error)
            else:
                assert bot.routes.verification is not None
                verified = await run_verification(bot.routes.verification, ctx, timeout=bot.config.dialogue.handler_timeout_s)
                outcome = VerifyDone(verified.customer_id, verified.error)
            state, actions = dialogue.step(state, outcome, bot.routes, bot.settings, u)
        log.error("a turn started more than %d handlers; stopping", MAX_EFFECTS)
        self.said.append(Say(bot.settings.response("error")))
        return state

    def collect(self, actions: Sequence[Action]) -> RunHandler | Verify | None:
        for a in actions:
            if isinstance(a, Say):
                self.said.append(a)
            elif isinstance(a, Emit):
                self.emitted.append(a)
            elif isinstance(a, HandOff):
                self.handoffs.append(a.reason)
            elif isinstance(a, LinkCustomer):
                self.customer = a.customer_id
            elif isinstance(a, (RunHandler, Verify)):
                return a
        return None

    def context(
        self, state: ConversationState, u: Understanding, session: RedactionSession,
        conv: LoadedConversation, effect: RunHandler | Verify,
    ) -> Context:
        bot = self.bot
        if isinstance(effect, RunHandler):
            handler = bot.routes.by_name(effect.handler)
            assert handler is not None
            name, reveals = handler.name, handler.reveals
        else:
            assert bot.routes.verification is not None
            name, reveals = "verification", bot.routes.verification.reveals

        def lookup(token: str) -> Sensitive[str] | None:
            return session.lookup(token) or conv.vault_get(token)

        return Context(
            conversation_id=self.ref, text=u.text, intent=u.intent, confidence=u.confidence,
            slots=dict(state.slots), entities=u.entities, customer_id=state.customer_id,
            channel=self.channel, handler=name, _allowed=reveals, _lookup=lookup,
            _audit=session.audit, _policy_hash=session.policy_hash,
        )

    # -- redact outbound --------------------------------------------------------------------------
    def render_replies(self, session: RedactionSession) -> list[tuple[Outbound, tuple[Button, ...]]]:
        out: list[tuple[Outbound, tuple[Button, ...]]] = []
        for say in self.said:
            reply = session.outbound(say.text)
            if reply.blocked:
                reply = session.outbound(say.text)  # once more: a busy moment
            if reply.blocked:
                self.emitted.append(Emit("error", {"code": "outbound_redaction_failed"}))
                reply = session.outbound(self.bot.settings.response("error"))
                out.append((reply, ()))
                continue
            out.append((reply, tuple(self.button(session, b) for b in say.buttons)))
        return out

    @staticmethod
    def button(session: RedactionSession, b: Button) -> Button:
        title = session.outbound(b.title).text("customer").text
        if b.payload is None:
            return Button(title)
        return Button(title, session.button_payload(b.payload))

    # -- events -----------------------------------------------------------------------------------
    def events(self, turn: int, inbound: Inbound, replies: list[tuple[Outbound, tuple[Button, ...]]]) -> list[RedactedEvent]:
        ref, channel = self.ref, self.channel
        out = [RedactedEvent("user", ref, turn, d, inbound.text(d), channel=channel) for d in EVENT_DESTINATIONS]
        for e in self.emitted:
            out += [RedactedEvent(e.kind, ref, turn, d, None, dict(e.data), channel=channel) for d in EVENT_DESTINATIONS]  # type: ignore[arg-type]
        for reply, _ in replies:
            out += [RedactedEvent("bot", ref, turn, d, reply.text(d), channel=channel) for d in EVENT_DESTINATIONS]
        return out

    async def agent_events(
        self, turn: int, session: RedactionSession, conv: LoadedConversation, events: list[RedactedEvent]
    ) -> list[RedactedEvent]:
        """The hand-off package: the conversation so far in the agent treatment, one event per line."""
        rows = await anyio.to_thread.run_sync(self.bot.store.transcript, self.ref)
        lines: list[tuple[str, int, str]] = [
            (r["kind"], int(r["turn"]), r["text"]) for r in rows if r.get("text") and r.get("kind") in ("user", "bot")
        ]
        lines += [
            (e.kind, turn, e.text.text) for e in events
            if e.destination == "transcript" and e.text is not None and e.kind in ("user", "bot")
        ]

        def lookup(token: str) -> Sensitive[str] | None:
            return session.lookup(token) or conv.vault_get(token)

        rendered: list[RedactedText] = session.agent_view([t for _, _, t in lines], lookup)
        return [
            RedactedEvent("handoff", self.ref, turn, "agent", text, data={"line": i, "speaker": kind, "turn": t},
                          channel=self.channel)
            for i, ((kind, t, _), text) in enumerate(zip(lines, rendered, strict=True))
        ]
