"""The FastAPI app of ``safebot serve``: routes, error bodies, limits and lifespan.

Layers, outside in (fixed here, not configurable)::

    AccessLog      one line and one metric per request (route template, status, ms, key id)
    CatchAll       an unhandled exception is a fixed 500; only its type is logged
    BodyLimits     body size per route, body read timeout (before any parsing)
    FastAPI        /v1 (REST), /webhooks/whatsapp, /health, /ready, /metrics, /openapi.json

Error bodies are ``{"error": {"code", "message"}}``; a 422 names the field and the rule,
never the value. The lifespan starts the WhatsApp worker and, on shutdown, lets its running
turns finish (uvicorn does the same for running requests).

>>> app = create_app(Bot.load("examples/bank"), ServeSettings())       # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Route

from safebot.channels.whatsapp.channel import WhatsAppChannel
from safebot.channels.whatsapp.webhook import webhook_router
from safebot.console import console_router
from safebot.errors import ChannelError
from safebot.serve.engine_hooks import attach_sink, entity_types, max_message_chars
from safebot.serve.limits import BodyLimits
from safebot.serve.metrics import Metrics, MetricsSink
from safebot.serve.middleware import AccessLog, CatchAll
from safebot.serve.notifications import notifications_router
from safebot.serve.ops import ops_router
from safebot.serve.responses import InvalidRequest, error_headers
from safebot.serve.rest import rest_router
from safebot.serve.settings import ServeSettings
from safebot.serve.state import ServerState

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot

__all__ = ["create_app", "safe_validation_message"]

log = logging.getLogger("safebot.serve")

#: parts of an error location that are ours (field and parameter names), safe to name
_KNOWN_LOCS = frozenset({"body", "path", "query", "header", "text", "conversation_id",
                         "hub.mode", "hub.verify_token", "hub.challenge"})
_REASONS = {
    "missing": "is required",
    "string_too_short": "must not be empty",
    "string_too_long": "is too long",
    "string_type": "must be a string",
    "string_pattern_mismatch": "has characters that are not allowed",
    "extra_forbidden": "is not an accepted field",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "string_unicode": "must be valid UTF-8 text",
}


def create_app(
    bot: Bot,
    settings: ServeSettings | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    graph_transport: Any = None,
) -> FastAPI:
    """The app for ``bot``. ``environ`` (default ``os.environ``) holds the WhatsApp secrets;
    ``graph_transport`` is an httpx transport for the Graph API client (tests)."""
    settings = settings or ServeSettings()
    metrics = Metrics(entity_types(bot))
    attach_sink(bot, MetricsSink(metrics))
    limit = settings.max_message_chars or max_message_chars(bot)
    state = ServerState(bot, settings, metrics, limit)
    whatsapp = WhatsAppChannel(bot, settings, metrics, environ=environ, graph_transport=graph_transport)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        import asyncio

        whatsapp.start()
        # bot.yaml's retention.every: this process applies retention on that schedule (on
        # PostgreSQL an advisory lock lets one process at a time go ahead).
        every = bot.config.retention.every
        scheduled = None
        if every:
            from safebot.retention import run_periodically

            scheduled = asyncio.create_task(run_periodically(bot, every))
        log.info("ready: %s%s", bot.config.name, f" (retention every {every:.0f} s)" if every else "")
        try:
            yield
        finally:
            if scheduled is not None:
                scheduled.cancel()
            await whatsapp.stop(settings.shutdown_timeout)

    app = FastAPI(
        title=f"safebot: {bot.config.name}",
        version="1",
        description="Chat with the bot over REST; WhatsApp Cloud API webhook. Replies are the "
        "customer rendering of the bot's redaction policy.",
        lifespan=lifespan,
        docs_url=None,  # the Swagger page loads scripts from a CDN: not on a bank's server
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.safebot = state
    app.state.whatsapp = whatsapp
    routers = [rest_router(state), webhook_router(whatsapp), ops_router(state, whatsapp.ready)]
    routers.append(notifications_router(state))  # issue 10: /v1/notifications
    routers.append(console_router(state))  # issue 12: /console (HTML, compliance role)
    for router in routers:
        app.include_router(router)
    # The concrete routes (FastAPI keeps included routers as opaque entries in app.routes).
    routes: list[BaseRoute] = [r for router in routers for r in router.routes]
    routes += [r for r in app.router.routes if isinstance(r, Route)]
    _install_error_handlers(app, routes)

    app.add_middleware(
        BodyLimits,
        limits=[("/v1/notifications", settings.max_body_notifications), ("/v1/", settings.max_body_rest), ("/webhooks/", settings.max_body_webhook)],
        default=settings.max_body_other,
        timeout=settings.body_timeout,
        on_reject=lambda reason: metrics.rejections.labels(reason).inc(),
    )
    app.add_middleware(CatchAll)
    app.add_middleware(AccessLog, metrics=metrics, routes=routes)
    return app


def _install_error_handlers(app: FastAPI, routes: list[BaseRoute]) -> None:
    async def channel_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ChannelError)
        return JSONResponse(exc.body(), status_code=exc.status, headers=error_headers(exc))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        err = InvalidRequest(safe_validation_message(exc.errors()))
        return JSONResponse(err.body(), status_code=err.status)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (e.g. not UTF-8)
            err = InvalidRequest("body is not valid JSON")
            return JSONResponse(err.body(), status_code=err.status)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        body = ChannelError(_phrase(exc.status_code), status=exc.status_code).body()
        body["error"]["code"] = code
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # every method of the path, not only the first route's
            headers["Allow"] = ", ".join(_allowed_methods(routes, request.scope))
        return JSONResponse(body, status_code=exc.status_code, headers=headers or None)

    app.add_exception_handler(ChannelError, channel_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _allowed_methods(routes: list[BaseRoute], scope: Any) -> list[str]:
    methods: set[str] = set()
    for route in routes:
        match, _ = route.matches({**scope, "method": "GET"})
        route_methods = getattr(route, "methods", None)
        if match is not Match.NONE and route_methods:
            methods |= set(route_methods)
    return sorted(methods)


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def safe_validation_message(errors: Any) -> str:
    """A 422 message from pydantic errors, naming only our own fields and fixed reasons.

    >>> safe_validation_message([{"type": "missing", "loc": ("body", "text"), "input": {}}])
    'body.text is required'
    >>> safe_validation_message([{"type": "extra_forbidden", "loc": ("body", "4111 1111"), "input": 1}])
    'body.(unknown field) is not an accepted field'
    """
    parts = []
    for e in list(errors)[:5]:
        if e.get("type") == "json_invalid":
            parts.append("body is not valid JSON")
            continue
        loc = [str(p) if str(p) in _KNOWN_LOCS else "(unknown field)" for p in e.get("loc", ()) if not isinstance(p, int)]
        reason = _REASONS.get(str(e.get("type")), "is invalid")
        if e.get("type") == "string_too_long":
            limit = (e.get("ctx") or {}).get("max_length")
            if isinstance(limit, int):
                reason = f"is too long (at most {limit} characters)"
        parts.append(f"{'.'.join(loc) or 'request'} {reason}")
    return "; ".join(dict.fromkeys(parts)) or "request does not match the schema"
