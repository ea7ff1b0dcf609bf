"""The /v1 chat API: one message in, the customer's replies out; the stored transcript.

``conversation_id`` is the client's own id; the engine receives ``rest:<id>`` and the store
keeps only its keyed hash. A conversation belongs to the key that sent its first message.
"""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at runtime,
# and they name objects local to the router factory.

import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, create_model

from safebot.errors import LockTimeout, SafebotError
from safebot.serve.auth import ApiKey
from safebot.serve.engine_hooks import conversation_ref
from safebot.serve.ordering import Ticket
from safebot.serve.responses import ERROR_RESPONSES, Busy, NotFound, Overloaded, Unavailable
from safebot.serve.state import ServerState

__all__ = ["CONVERSATION_ID", "rest_router"]

log = logging.getLogger("safebot.serve")

#: what a client may use as a conversation id (it appears in URLs; keep it plain)
CONVERSATION_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
SafeValue = str | int | float | bool | None


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TurnOut(_Out):
    conversation_id: str
    #: exactly what the customer destination renders (redacted per the policy)
    replies: list[str]
    #: None: not understood (out of scope) or blocked
    intent: str | None
    confidence: float


class TranscriptEvent(_Out):
    kind: str
    time: str
    #: redacted for the transcript destination; None for events without text
    text: str | None
    entities: list[str]
    data: dict[str, SafeValue]


class TranscriptTurn(_Out):
    turn: int
    events: list[TranscriptEvent]


class TranscriptOut(_Out):
    conversation_id: str
    turns: list[TranscriptTurn]


def message_model(max_chars: int) -> type[BaseModel]:
    """The request body, with the bot's message length limit in the schema."""
    return create_model(
        "MessageIn",
        __config__=ConfigDict(extra="forbid"),
        text=(str, Field(min_length=1, max_length=max_chars, description="the customer's message")),
    )


def rest_router(state: ServerState) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["chat"], responses=ERROR_RESPONSES)
    bearer = HTTPBearer(auto_error=False, description="An API key made with `safebot keys create`")
    MessageIn = message_model(state.max_message_chars)
    ConversationId = Annotated[str, Path(pattern=CONVERSATION_ID, description="the client's conversation id")]

    async def customer_key(
        request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> ApiKey:
        key = await state.authenticate(request.headers.get("authorization"), role="customer")
        request.state.key_id = key.id  # for the access log line
        return key

    Key = Annotated[ApiKey, Depends(customer_key)]

    async def queue_ticket(conversation_id: ConversationId) -> AsyncIterator[Ticket]:
        # Taken before the key check (declared first): arrival order, whatever the awaits.
        ticket = state.queue.ticket(conversation_ref(state.bot, f"rest:{conversation_id}"))
        try:
            yield ticket
        finally:
            ticket.release()

    InLine = Annotated[Ticket, Depends(queue_ticket)]

    @router.post("/conversations/{conversation_id}/messages", response_model=TurnOut,
                 summary="Send a customer message; get the replies")
    async def post_message(conversation_id: ConversationId, ticket: InLine, key: Key, body: MessageIn) -> TurnOut:  # type: ignore[valid-type]
        external = f"rest:{conversation_id}"
        ref = conversation_ref(state.bot, external)
        if await state.owners.claim(ref, key.id) != key.id:
            raise NotFound("conversation not found")
        if not state.slots.try_take():
            state.metrics.rejections.labels("overloaded").inc()
            raise Overloaded()
        try:
            await ticket.wait()
            result = await _run_turn(state, external, body.text)  # type: ignore[attr-defined]
        finally:
            ticket.release()
            state.slots.give_back()
        return TurnOut(conversation_id=conversation_id, replies=list(result.replies), intent=result.intent,
                       confidence=float(result.confidence))

    @router.get("/conversations/{conversation_id}", response_model=TranscriptOut,
                summary="The conversation's stored (redacted) transcript, turn by turn")
    async def get_conversation(conversation_id: ConversationId, key: Key) -> TranscriptOut:
        ref = conversation_ref(state.bot, f"rest:{conversation_id}")
        if await state.owners.owner(ref) != key.id:
            raise NotFound("conversation not found")
        rows = await anyio.to_thread.run_sync(state.bot.store.transcript, ref)
        return TranscriptOut(conversation_id=conversation_id, turns=_by_turn(rows))

    return router


async def _run_turn(state: ServerState, external_id: str, text: str) -> Any:
    metrics = state.metrics
    metrics.turns_running.labels("rest").inc()
    started = time.perf_counter()
    try:
        result = await state.bot.handle(external_id, text, channel="rest")
    except LockTimeout:
        metrics.observe_turn("rest", time.perf_counter() - started, blocked=False, error=True)
        log.warning("turn not started: the conversation lock could not be had in time")
        raise Busy() from None
    except SafebotError as exc:
        metrics.observe_turn("rest", time.perf_counter() - started, blocked=False, error=True)
        log.error("turn failed (%s)", exc.code)
        raise Unavailable("the turn could not be completed; try again") from None
    except Exception as exc:  # noqa: BLE001 - its message may hold text: keep the type only
        metrics.observe_turn("rest", time.perf_counter() - started, blocked=False, error=True)
        log.error("turn failed (%s)", type(exc).__name__)
        raise Unavailable("the turn could not be completed; try again") from None
    finally:
        metrics.turns_running.labels("rest").dec()
    metrics.observe_turn("rest", time.perf_counter() - started, blocked=bool(result.blocked))
    return result


def _by_turn(rows: list[dict[str, Any]]) -> list[TranscriptTurn]:
    turns: dict[int, list[TranscriptEvent]] = {}
    for r in rows:
        data = {k: v for k, v in (r.get("data") or {}).items() if isinstance(v, SafeValue)}
        turns.setdefault(int(r["turn"]), []).append(
            TranscriptEvent(kind=str(r["kind"]), time=str(r["time"]), text=r.get("text"),
                            entities=list(r.get("entities") or []), data=data)
        )
    return [TranscriptTurn(turn=t, events=events) for t, events in sorted(turns.items())]
