"""Serve a bot's handlers to a Rasa assistant over rasa-sdk's action-server protocol.

Rasa owns the dialogue; safebot runs the actions, behind the redaction boundary::

    POST /webhook  {"next_action", "tracker", "domain", "version"}
        -> parse (shape only; values stay in Sensitive)        400 on a bad shape, never echoed
        -> action name -> Handler (``name`` or ``action_<name>``)  404 like rasa-sdk
        -> redact latest_message.text ('nlu'), every scalar slot and entity value, with one
           placeholder numbering for the request; values kept for ctx.reveal in this request
        -> handler(ctx) -> Result
        -> replies redacted for 'customer'; slot values for 'transcript' (Rasa stores them)
        -> audit records to the store (or ``audit=``), events to the bot's sinks
        <- {"events": [SlotSet...], "responses": [{"text": ...}, ...]}
    GET /actions   [{"name": ...}, ...]
    GET /health    {"status": "ok"}

Identity: Rasa runs the conversation, so a verified customer is a slot,
:data:`VERIFIED_SLOT` (``safebot_verified_customer``), holding the customer id. The bot's
:class:`~safebot.engine.Verification` is served as the action :data:`VERIFY_ACTION`
(``safebot_verify``): Rasa collects the verification form's slots, calls it, and on success it
sets the slot. A handler with ``requires_auth`` called without the slot answers with the
bot's ``verify_first`` response and does not run. Give the slot no ``from_entity`` or
``from_text`` mapping in the Rasa domain (only this action may set it), or a customer could
type their way in.

Choices, and where this differs from rasa-sdk:

* The Rasa ``sender_id`` (a phone number on WhatsApp) never becomes safebot's conversation
  id: that is ``rasa-`` + a keyed hash of it, in the context, audit rows and transcript.
* Values behind placeholders live for one request: ``ctx.reveal`` works for what this call
  carries (message, slots, entities), not for a placeholder Rasa stored earlier. Slot values
  sent back are rendered for ``transcript`` (Rasa's tracker store is stored history), so a
  handler that puts a revealed number in a slot sends Rasa ``<CREDIT_CARD_1>``.
* Slot and entity names are used as detection context (``ssn: 536-22-8801``); lists and
  objects in slots, and structured entity values, are not passed to handlers.
* A handler's form: empty slots are filled from the message as in a safebot conversation;
  still missing, the reply is the slot's prompt plus ``SlotSet("requested_slot", ...)`` and
  the handler does not run. A finished form's slots are cleared.
* ``Result.handoff`` becomes ``ConversationPaused`` (``{"event": "pause"}``);
  ``start_form`` becomes ``FollowupAction`` of that handler's action.
* A handler that raises gets the bot's ``error`` reply with status 200 (as in a safebot
  conversation), logged by type only; rasa-sdk would answer 500 with ``str(exc)`` and the
  request body. Missing ``next_action`` is a 400 (rasa-sdk: 200 ``null``); a missing
  ``domain`` is accepted (handlers do not use it; rasa-sdk asks again with 449).
* Unknown action names are echoed in the 404 only if they look like identifiers and hold no
  PII; otherwise ``action_name`` is null.
* Outside this boundary: Rasa's own tracker store and logs hold the raw text Rasa received.

>>> from safebot.engine import Bot
>>> server = RasaActionServer.from_bot(Bot.load("examples/bank"))   # doctest: +SKIP
>>> app = server.app()     # a FastAPI app; run it with uvicorn       # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from safebot.channels._rasa_http import DEFAULT_MAX_BODY, create_app, serve
from safebot.channels._rasa_protocol import (
    AUTH_ATTEMPTS_SLOT,
    LOCKED_SLOT,
    REQUESTED_SLOT,
    VERIFIED_SLOT,
    VERIFY_ACTION,
    RasaRequestError,
    parse_action_call,
    safe_name,
)
from safebot.channels._rasa_request import VERIFY, ActionRun, Verify
from safebot.engine.config import DEFAULT_RESPONSES
from safebot.engine.handlers import Handler, Routes
from safebot.events import RedactedEvent, Sink
from safebot.redaction.audit import AuditRecord, AuditSink

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from safebot.engine.bot import Bot
    from safebot.nlu.entities import EntityExtractor
    from safebot.redaction.redactor import Redactor
    from safebot.stores import SqlStore

__all__ = [
    "AUTH_ATTEMPTS_SLOT",
    "LOCKED_SLOT",
    "REQUESTED_SLOT",
    "VERIFIED_SLOT",
    "VERIFY_ACTION",
    "RasaActionServer",
    "RasaRequestError",
    "create_app",
    "serve",
]

log = logging.getLogger("safebot.channels.rasa")


_request_audit: contextvars.ContextVar[list[AuditRecord] | None] = contextvars.ContextVar(
    "_rasa_request_audit", default=None
)


def _collect(record: AuditRecord) -> None:
    records = _request_audit.get()
    if records is not None:
        records.append(record)


class RasaActionServer:
    """Runs safebot handlers for Rasa action calls. Build once; :meth:`run` per request.

    ``store``: audit records and transcript events are written here (one transaction per
    request). ``audit``: also called with every audit record (tests, tools). ``sinks``: get
    the request's events for their destination (analytics exporters). ``responses``: the
    bot's fixed responses by key (``verify_first``, ``error``, ...).

    >>> server = RasaActionServer(routes, redactor, audit=records.append)   # doctest: +SKIP
    >>> await server.run({"next_action": "balance", "tracker": {...}})     # doctest: +SKIP
    {'events': [], 'responses': [{'text': 'Before I can help with that, ...', ...}]}
    """

    def __init__(
        self,
        routes: Routes,
        redactor: Redactor,
        *,
        store: SqlStore | None = None,
        sinks: Sequence[Sink] = (),
        audit: AuditSink | None = None,
        extractor: EntityExtractor | None = None,
        responses: Callable[[str], str] | None = None,
        verified_slot: str = VERIFIED_SLOT,
    ) -> None:
        from safebot.redaction.redactor import Redactor

        self.routes = routes
        # The same policy and detector (built once), with audit records collected per request.
        self.redactor = Redactor(
            redactor.policy, hmac_key=redactor.hmac_key, audit=_collect, detector=redactor.detector
        )
        self.store = store
        self.sinks = list(sinks)
        self._audit = audit
        self.extractor = extractor
        self._responses = responses or DEFAULT_RESPONSES.__getitem__
        self.verified_slot = verified_slot
        names: dict[str, Handler | Verify] = {}
        for h in routes.handlers:
            names[h.name] = h
            names.setdefault(f"action_{h.name}", h)
        if routes.verification is not None:
            names[VERIFY_ACTION] = VERIFY
            names[f"action_{VERIFY_ACTION}"] = VERIFY
        self._targets = names

    @classmethod
    def from_bot(cls, bot: Bot, *, audit: AuditSink | None = None) -> RasaActionServer:
        """A server for a loaded bot: its routes, redactor, store, sinks and responses."""
        return cls(
            bot.routes, bot.redactor, store=bot.store, sinks=bot.sinks, audit=audit,
            extractor=bot.extractor, responses=bot.config.response,
        )

    def __repr__(self) -> str:
        return f"RasaActionServer({len(self.action_names())} actions)"

    def action_names(self) -> list[str]:
        """The registered action names (``GET /actions``)."""
        names = [h.name for h in self.routes.handlers]
        if self.routes.verification is not None:
            names.append(VERIFY_ACTION)
        return names

    def conversation_id(self, sender_id: str) -> str:
        """safebot's id for a Rasa sender: a keyed hash (a sender id can be a phone number)."""
        digest = hmac.new(self.redactor.hmac_key, b"rasa-sender:" + sender_id.encode(), hashlib.sha256)
        return "rasa-" + digest.hexdigest()[:16]

    def response(self, key: str) -> str:
        return self._responses(key)

    # -- one request ----------------------------------------------------------------------
    async def run(self, body: object) -> dict[str, Any]:
        """Run one action call (the decoded JSON body); return the response body.

        Raises :class:`RasaRequestError` (400 bad shape, 404 unknown action); its message
        and ``action_name`` are safe to return. Handler failures do not raise: the customer
        gets the bot's ``error`` response, as in a safebot conversation.
        """
        call = parse_action_call(body)
        target = self._targets.get(call.action)
        if target is None:
            shown = self._echoable(call.action)
            message = f"No registered action found for name '{shown}'." if shown else "No registered action found for that name."
            raise RasaRequestError(message, status=404, action_name=shown)
        action = call.action  # a registered name: safe to log
        records: list[AuditRecord] = []
        token = _request_audit.set(records)
        try:
            request = ActionRun(self, call, records)
            await request.serve(target)
        finally:
            _request_audit.reset(token)
        self._persist(request.cid, records, request.records)
        log.info("rasa action %s: ok (%d responses, %d events)", action, len(request.responses), len(request.events))
        return {"events": request.events, "responses": request.responses}

    def _echoable(self, name: str) -> str | None:
        """The unknown action's name if it is safe to repeat (an identifier with no PII in it)."""
        shown = safe_name(name)
        if shown is None:
            return None
        analysis = self.redactor.analyze(shown)
        return shown if not analysis.blocked and not analysis.detections else None

    def _persist(self, cid: str, records: list[AuditRecord], events: list[RedactedEvent]) -> None:
        if self._audit is not None:
            for r in records:
                self._audit(r)
        if self.store is not None:
            with self.store.unit_of_work() as uow:
                uow.ensure_conversation(cid, "rasa")
                for r in records:
                    uow.audit(r)
                for e in events:
                    if e.destination == "transcript":
                        uow.append(e)
        for sink in self.sinks:
            for event in events:
                if event.destination != sink.destination or (event.destination == "transcript" and self.store is not None):
                    continue
                try:
                    sink.emit(event)
                except Exception as exc:  # noqa: BLE001 - a broken exporter must not break the action
                    log.error("sink %s failed (%s)", type(sink).__name__, type(exc).__name__)

    def app(self, *, max_body: int = DEFAULT_MAX_BODY) -> FastAPI:
        """The HTTP app (FastAPI) speaking rasa-sdk's protocol. See :func:`create_app`."""
        return create_app(self, max_body=max_body)
