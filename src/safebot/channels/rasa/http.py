"""The HTTP side of the Rasa action server: authentication, bounded bodies, ``serve``.

Authentication is the contract Rasa's ``endpoints.yml`` can speak::

    action_endpoint:
      url: "http://127.0.0.1:5055/webhook"
      token: "<the value of SAFEBOT_ACTION_TOKEN>"     # Rasa appends ?token=... to every call

A bearer header (``Authorization: Bearer <token>``) is accepted too. Without a configured token
the server only runs on a loopback address (and says so); :func:`serve` refuses to bind any
other address without one. Every refused request is a 401 before the body is read.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import os
import zlib
from typing import TYPE_CHECKING, Any

from safebot.errors import ConfigError, RasaRequestError

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI
    from starlette.requests import Request

    from safebot.channels.rasa.server import RasaActionServer
    from safebot.engine.bot import Bot

__all__ = ["ACTION_TOKEN_ENV", "DEFAULT_MAX_BODY", "create_app", "is_loopback", "serve"]

log = logging.getLogger("safebot.channels.rasa")

#: the environment variable holding the action server's token (the contract)
ACTION_TOKEN_ENV = "SAFEBOT_ACTION_TOKEN"
#: bodies larger than this (after decompression) get a 413. Rasa sends the whole session with
#: every call, so a long session is large; the work per call stays bounded (latest message,
#: slots up to MAX_SLOTS), so the limit only guards memory.
DEFAULT_MAX_BODY = 16 * 1024 * 1024
#: a client that has not sent the whole body within this many seconds is cut off
BODY_TIMEOUT_S = 15.0
#: bodies above this size are decoded off the event loop
_PARSE_OFF_LOOP = 256 * 1024


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_app(server: RasaActionServer, *, token: str | None = None, max_body: int = DEFAULT_MAX_BODY) -> FastAPI:
    """A FastAPI app speaking rasa-sdk's action-server protocol for ``server``.

    ``token``: required on every request except ``/health`` (``?token=`` or a bearer header).
    Bodies are never logged or echoed: a malformed one gets a 400 naming the problem, an
    oversized one 413. No docs or OpenAPI routes (the only client is Rasa).
    """
    from fastapi import FastAPI
    from starlette.responses import JSONResponse

    app = FastAPI(title="safebot action server", docs_url=None, redoc_url=None, openapi_url=None)
    expected = token.encode() if token else None

    def authorised(request: Request) -> bool:
        if expected is None:
            return True
        given = request.query_params.get("token") or ""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = given or header[7:].strip()
        return hmac.compare_digest(given.encode(), expected)

    def refused() -> JSONResponse:
        return JSONResponse({"error": "missing or invalid action server token", "action_name": None}, status_code=401)

    # Plain Starlette routes: no parameter parsing, so no framework error echoes the input.
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def actions(request: Request) -> JSONResponse:
        if not authorised(request):
            return refused()
        return JSONResponse([{"name": n} for n in server.action_names()])

    async def webhook(request: Request) -> JSONResponse:
        if not authorised(request):
            return refused()
        try:
            body = await asyncio.wait_for(_read_json(request, max_body), timeout=BODY_TIMEOUT_S)
            result = await server.run(body)
        except TimeoutError:
            return JSONResponse({"error": "request body was not received in time", "action_name": None}, status_code=408)
        except RasaRequestError as exc:
            log.info("rasa request rejected (%d): %s", exc.status, exc.message)
            return JSONResponse(exc.body(), status_code=exc.status)
        except Exception as exc:  # noqa: BLE001 - never rasa-sdk's {"error": str(exc), "request_body": ...}
            log.error("rasa action failed (%s)", type(exc).__name__)
            return JSONResponse({"error": "The action server failed to run the action.", "action_name": None}, status_code=500)
        return JSONResponse(result)

    app.add_route("/health", health, methods=["GET"])
    app.add_route("/actions", actions, methods=["GET"])
    app.add_route("/webhook", webhook, methods=["POST"])
    return app


async def _read_json(request: Any, max_body: int) -> object:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body:
        raise RasaRequestError("request body is too large", status=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body:
            raise RasaRequestError("request body is too large", status=413)
        chunks.append(chunk)
    data = b"".join(chunks)
    if request.headers.get("content-encoding", "").lower() == "deflate":  # Rasa may compress
        try:
            inflater = zlib.decompressobj()
            data = inflater.decompress(data, max_body + 1)
        except zlib.error:
            raise RasaRequestError("request body could not be decompressed") from None
        if len(data) > max_body or inflater.unconsumed_tail:
            raise RasaRequestError("request body is too large", status=413)
    if not data:
        raise RasaRequestError("Invalid body request")
    if len(data) > _PARSE_OFF_LOOP:
        import anyio.to_thread

        return await anyio.to_thread.run_sync(_decode, data)
    return _decode(data)


def _decode(data: bytes) -> object:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        # JSONDecodeError's message holds a position only, but nothing of the body is kept.
        raise RasaRequestError("request body is not valid JSON") from None


def action_token() -> str | None:
    value = os.environ.get(ACTION_TOKEN_ENV, "").strip()
    return value or None


def serve(
    bot: Bot, *, host: str = "127.0.0.1", port: int = 5055, token: str | None = None, max_body: int = DEFAULT_MAX_BODY
) -> None:
    """Run the action server for ``bot`` until interrupted (what ``safebot rasa-actions`` does).

    Bound to loopback unless ``host`` says otherwise, and never to another address without a
    token. uvicorn's access log is off (a query string carries the token); each action is
    logged by name and status instead. Slow clients are cut off (header and body timeouts).
    """
    import uvicorn

    from safebot.channels.rasa.server import RasaActionServer

    token = token or action_token()
    if token is None and not is_loopback(host):
        raise ConfigError(f"refusing to serve on {host} without a token: set {ACTION_TOKEN_ENV}")
    if token is None:
        log.warning("no %s set: the action server accepts unauthenticated calls on loopback only", ACTION_TOKEN_ENV)
    app = RasaActionServer.from_bot(bot).app(token=token, max_body=max_body)
    uvicorn.run(
        app, host=host, port=port, access_log=False, log_level="info", timeout_keep_alive=5,
        h11_max_incomplete_event_size=64 * 1024, limit_concurrency=64,
    )
