"""The two outer layers of the app (pure ASGI):

* :class:`AccessLog`: one log line and one metric per request: method, *route template*
  (``/v1/conversations/{conversation_id}/messages``, never the path: ids may be phone
  numbers), status, milliseconds and the API key's id. No query string, no body.
* :class:`CatchAll`: an exception no handler took becomes a 500 with a fixed body; only its
  type is logged (its message, its traceback's locals could hold text). Without it the
  framework's own error layer would log the traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match

from safebot.errors import ChannelError
from safebot.serve.limits import ASGIApp, Message, Receive, Scope, Send, error_response
from safebot.serve.metrics import Metrics

__all__ = ["AccessLog", "CatchAll"]

access_log = logging.getLogger("safebot.serve.access")
log = logging.getLogger("safebot.serve")
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class CatchAll:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:  # noqa: BLE001 - see the module doc
            log.error("request failed (%s)", type(exc).__name__)
            if not started:
                await error_response(send, ChannelError("internal error", status=500))


class AccessLog:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app, self.metrics, self.routes = app, metrics, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            route = self._route(scope)
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            key = (scope.get("state") or {}).get("key_id") or "-"
            self.metrics.requests.labels(route, method, str(status)).inc()
            access_log.info("%s %s %d %.1fms key=%s", method, route, status,
                            (time.perf_counter() - started) * 1000, key)

    def _route(self, scope: Scope) -> str:
        route: Any = scope.get("route")
        if route is None:  # answered before routing (a limit): find the template anyway
            for candidate in self.routes:
                match, _ = candidate.matches(scope)
                if match is not Match.NONE:
                    route = candidate
                    break
        path = getattr(route, "path", None)
        return path if isinstance(path, str) else "(unmatched)"
