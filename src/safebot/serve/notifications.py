"""``POST /v1/notifications`` and ``GET /v1/notifications/{id}`` (issue 10).

An API key with the ``notifier`` role (``safebot keys create BOT_DIR --name core-banking
--role notifier``) queues a template to one or many recipients. The request is idempotent on
its key (the ``idempotency_key`` field or an ``Idempotency-Key`` header), scoped to the API
key: the same request again answers 200 with the first notification and sends nothing;
the same key with another request is 409. A notification is visible only to the key that
made it (others get 404). Error bodies never echo a number or a parameter.
"""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at runtime,
# and they name objects local to the router factory.

import logging
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from safebot.errors import ChannelError, ConfigError
from safebot.serve.auth import ApiKey
from safebot.serve.responses import ERROR_RESPONSES, InvalidRequest, NotFound
from safebot.serve.state import ServerState

__all__ = ["notifications_router"]

log = logging.getLogger("safebot.serve")

ParamValue = str | int | float


class _In(BaseModel):
    # strict: what the schema says, no coercion (a JSON true is not the integer 1)
    model_config = ConfigDict(extra="forbid", strict=True)


class RecipientIn(_In):
    #: the WhatsApp number, country code first (``+16505550123``)
    whatsapp: str = Field(min_length=8, max_length=24, pattern=r"^\+?[0-9][0-9 ().-]{6,22}$")
    #: the organisation's customer id (a suppression by customer applies on every channel)
    customer_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    #: parameters for this recipient only
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=20)
    #: this recipient's idempotency key within the request (default: its number)
    key: str | None = Field(default=None, min_length=1, max_length=128)


class NotificationIn(_In):
    template: str = Field(min_length=1, max_length=128, pattern=r"^[a-z0-9_]+$")
    #: the request's idempotency key (or the Idempotency-Key header)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=20)
    recipients: list[RecipientIn] = Field(min_length=1, max_length=1000)


class Rejected(BaseModel):
    #: the recipient's position in the request (0-based)
    index: int
    reason: str


class NotificationOut(BaseModel):
    id: str
    #: delivery ids queued by this request (empty when it repeated an earlier one)
    deliveries: list[int]
    duplicate: bool
    rejected: list[Rejected]


class NotificationStatus(BaseModel):
    id: str
    template: str
    category: str
    purpose: str
    created_at: str
    recipients: int
    #: deliveries by state: queued, sending, sent, delivered, read, failed, suppressed, expired
    states: dict[str, int]


def notifications_router(state: ServerState) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["notifications"], responses=ERROR_RESPONSES)
    bearer = HTTPBearer(auto_error=False, description="An API key with the notifier role")

    async def notifier_key(
        request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> ApiKey:
        key = await state.authenticate(request.headers.get("authorization"), role="notifier")
        request.state.key_id = key.id
        return key

    Key = Annotated[ApiKey, Depends(notifier_key)]

    def notifier() -> Any:
        from safebot.notify import notifier_for

        return notifier_for(state.bot)

    @router.post("/notifications", response_model=NotificationOut, status_code=201,
                 responses={200: {"model": NotificationOut, "description": "the same request again: nothing new sent"}},
                 summary="Queue a template to one or many recipients (idempotent on its key)")
    async def post_notification(
        body: NotificationIn, key: Key,
        idempotency_header: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
    ) -> JSONResponse:
        from safebot.notify.outbox import IdempotencyConflict, Recipient
        from safebot.notify.templates import ParamError

        given = body.idempotency_key or idempotency_header
        if not given:
            raise InvalidRequest("idempotency_key (or an Idempotency-Key header) is required")
        recipients = [Recipient(r.whatsapp, customer_id=r.customer_id, params=dict(r.params), key=r.key)
                      for r in body.recipients]
        n = notifier()
        try:
            result = await anyio.to_thread.run_sync(lambda: n.enqueue(
                body.template, recipients, idempotency_key=f"api:{key.id}:{given}", params=dict(body.params),
                requested_by=key.id))
        except IdempotencyConflict:
            raise ChannelError("this idempotency key was used for a different request", status=409) from None
        except ConfigError as exc:
            raise InvalidRequest("unknown template" if "no template named" in exc.message else "notifications are not configured") from None
        except ParamError as exc:
            raise InvalidRequest(str(exc)) from None
        if result.delivery_ids and n.broker() is None:
            n.wake_drain()  # the embedded default: this process sends them
        out = NotificationOut(id=result.notification_id, deliveries=list(result.delivery_ids),
                              duplicate=result.duplicate,
                              rejected=[Rejected(index=i - 1, reason=reason) for i, reason in result.rejected])
        return JSONResponse(out.model_dump(), status_code=200 if result.duplicate else 201)

    @router.get("/notifications/{notification_id}", response_model=NotificationStatus,
                summary="A notification's deliveries by state")
    async def get_notification(
        notification_id: Annotated[str, Path(pattern=r"^ntf_[0-9a-f]{24}$")], key: Key,
    ) -> NotificationStatus:
        n = notifier()
        found = await anyio.to_thread.run_sync(n.outbox.notification, notification_id)
        if found is None or found["requested_by"] != key.id:
            raise NotFound("notification not found")
        return NotificationStatus(id=found["id"], template=found["template"], category=found["category"],
                                  purpose=found["purpose"], created_at=found["created_at"],
                                  recipients=found["recipients"], states=found["states"])

    return router
