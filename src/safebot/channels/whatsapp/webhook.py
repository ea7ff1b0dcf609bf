"""``/webhooks/whatsapp``: Meta's verification handshake and its deliveries.

POST, in this order: the body (already size- and time-limited by the server) is checked
against ``X-Hub-Signature-256`` with the app secret, in constant time, over the exact raw
bytes (Meta escapes non-ASCII as ``\\uXXXX`` and ``/`` as ``\\/``: a re-serialised body would
not match); only then is it parsed. Every message and status of every change of every entry
is written to the store in one transaction, the worker is woken, and the answer is 200.
Nothing of the body appears in a response, a log line or a metric.
"""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at runtime,
# and they name objects local to the router factory.

import hashlib
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError

from safebot.channels.whatsapp.payloads import Delivery, extract
from safebot.errors import AuthError, StoreError
from safebot.serve.responses import ERROR_RESPONSES, BadRequest, Forbidden, Unavailable

if TYPE_CHECKING:  # pragma: no cover
    from safebot.channels.whatsapp.channel import WhatsAppChannel

__all__ = ["signature_ok", "webhook_router"]

log = logging.getLogger("safebot.channels.whatsapp")
SIGNATURE_HEADER = "x-hub-signature-256"
_RESPONSES: dict[int | str, dict[str, Any]] = {k: ERROR_RESPONSES[k] for k in (400, 401, 403, 408, 413, 500, 503)}
# The handshake answers text/plain; its errors are JSON like every other error (declared
# explicitly: FastAPI would otherwise give them the route's text/plain media type).
_HANDSHAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    k: {"description": ERROR_RESPONSES[k]["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}}
    for k in (403, 422, 500, 503)
}


def signature_ok(app_secret: bytes, body: bytes, header: str) -> bool:
    """``header`` is ``sha256=<hex HMAC-SHA256(app_secret, body)>``; compared in constant time.

    >>> import hmac, hashlib
    >>> sig = "sha256=" + hmac.new(b"s", b"{}", hashlib.sha256).hexdigest()
    >>> signature_ok(b"s", b"{}", sig), signature_ok(b"s", b"{ }", sig)
    (True, False)
    """
    scheme, _, digest = header.strip().partition("=")
    expected = hmac.new(app_secret, body, hashlib.sha256).hexdigest()
    # compare_digest on equal-length ASCII: constant time whatever the header holds.
    return scheme == "sha256" and hmac.compare_digest(digest.strip().lower().encode(), expected.encode())


async def _record(channel: "WhatsAppChannel", items: list[Any]) -> Any:
    """Write the delivery; a busy store is tried again briefly before the 500 (Meta retries)."""
    import asyncio

    for attempt in range(3):
        try:
            return await anyio.to_thread.run_sync(channel.inbox.record, items)
        except StoreError:
            if attempt == 2:
                raise
            await asyncio.sleep(0.1 * 2 ** attempt)
    return None  # pragma: no cover


def webhook_router(channel: "WhatsAppChannel") -> APIRouter:
    router = APIRouter(prefix="/webhooks", tags=["whatsapp"])

    @router.get("/whatsapp", response_class=PlainTextResponse, responses=_HANDSHAKE_RESPONSES,
                summary="Meta's verification handshake")
    async def verify(
        mode: Annotated[str | None, Query(alias="hub.mode")] = None,
        token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
        challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=256)] = None,
    ) -> PlainTextResponse:
        secrets = channel.require()
        expected = secrets.verify_token.reveal().encode()
        given = (token or "").encode()
        if mode == "subscribe" and challenge is not None and hmac.compare_digest(given, expected):
            return PlainTextResponse(challenge)
        raise Forbidden("verification failed")

    @router.post("/whatsapp", responses=_RESPONSES, summary="Meta's webhook deliveries (signed)")
    async def deliver(request: Request) -> JSONResponse:
        started = time.perf_counter()
        metrics = channel.metrics
        try:
            secrets = channel.require()
        except Unavailable:
            metrics.webhook_deliveries.labels("unconfigured").inc()
            raise
        header = request.headers.get(SIGNATURE_HEADER)
        body = await request.body()
        if not header:
            metrics.webhook_deliveries.labels("unsigned").inc()
            raise AuthError("missing X-Hub-Signature-256")
        if not signature_ok(secrets.app_secret.reveal().encode(), body, header):
            metrics.webhook_deliveries.labels("bad_signature").inc()
            raise Forbidden("invalid signature")
        try:
            delivery = Delivery.model_validate(json.loads(body))
            items = list(extract(delivery))
        except (ValueError, ValidationError, RecursionError):
            # Signed but not Meta's shape: say so (Meta retries a non-200), never what was sent.
            metrics.webhook_deliveries.labels("invalid").inc()
            raise BadRequest("the delivery is not a WhatsApp Business Account webhook payload") from None
        if delivery.object != "whatsapp_business_account":
            metrics.webhook_deliveries.labels("ignored").inc()
            return JSONResponse({"status": "ignored"})
        recorded = await _record(channel, items)
        channel.worker.wake()
        metrics.webhook_deliveries.labels("accepted").inc()
        for kind, n in recorded.new.items():
            metrics.whatsapp_messages.labels(kind).inc(n)
        if recorded.duplicates:
            metrics.whatsapp_messages.labels("duplicate").inc(recorded.duplicates)
        if recorded.foreign:
            metrics.whatsapp_messages.labels("other_number").inc(recorded.foreign)
        for status, n in recorded.statuses.items():
            metrics.whatsapp_statuses.labels(status).inc(n)
        metrics.webhook_ack_seconds.observe(time.perf_counter() - started)
        return JSONResponse({"status": "ok"})

    return router
