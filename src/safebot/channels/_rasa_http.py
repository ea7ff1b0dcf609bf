"""The HTTP side of the Rasa action server: FastAPI app, body reading, ``serve``."""

from __future__ import annotations

import json
import logging
import zlib
from typing import TYPE_CHECKING, Any

from safebot.channels._rasa_protocol import RasaRequestError

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from safebot.channels.rasa import RasaActionServer
    from safebot.engine.bot import Bot

__all__ = ["DEFAULT_MAX_BODY", "create_app", "serve"]

log = logging.getLogger("safebot.channels.rasa")

#: bodies larger than this (after decompression) get a 413
DEFAULT_MAX_BODY = 1_000_000


def create_app(server: RasaActionServer, *, max_body: int = DEFAULT_MAX_BODY) -> FastAPI:
    """A FastAPI app speaking rasa-sdk's action-server protocol for ``server``.

    Bodies are never logged or echoed: a malformed one gets a 400 naming the problem, an
    oversized one 413. No docs or OpenAPI routes (the only client is Rasa).

    >>> import uvicorn                                                     # doctest: +SKIP
    >>> uvicorn.run(create_app(server), host="127.0.0.1", port=5055)      # doctest: +SKIP
    """
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    app = FastAPI(title="safebot action server", docs_url=None, redoc_url=None, openapi_url=None)

    # Plain Starlette routes: no parameter parsing, so no framework error echoes the input.
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def actions(request: Request) -> JSONResponse:
        return JSONResponse([{"name": n} for n in server.action_names()])

    async def webhook(request: Request) -> JSONResponse:
        try:
            body = await _read_json(request, max_body)
            result = await server.run(body)
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
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        # JSONDecodeError's message holds a position only, but nothing of the body is kept.
        raise RasaRequestError("request body is not valid JSON") from None


def serve(bot: Bot, *, host: str = "127.0.0.1", port: int = 5055) -> None:
    """Run the action server for ``bot`` until interrupted (what ``safebot rasa-actions`` does).

    Bound to loopback unless ``host`` says otherwise; uvicorn's access log is off (a query
    string could carry text), each action is logged by name and status instead.
    """
    import uvicorn

    from safebot.channels.rasa import RasaActionServer

    uvicorn.run(RasaActionServer.from_bot(bot).app(), host=host, port=port, access_log=False, log_level="info")
