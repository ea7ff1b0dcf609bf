"""Limits that keep one client from holding the server: body size per route, header and body
read timeouts, a cap on running turns (503) and a per-key rate limit (429 + Retry-After).

* :class:`BodyLimits` (ASGI middleware) reads every request body before the app sees it:
  ``Content-Length`` over the route's limit is refused unread (413), a body that grows past it
  is cut off (413), one that does not arrive within ``body_timeout`` gets 408. The app then
  reads the buffered body (the webhook needs the exact raw bytes for its signature anyway).
* :class:`HeaderTimeoutH11Protocol` (uvicorn protocol) closes a connection that has not sent
  a complete request head within ``header_timeout`` of connecting or of its last response:
  uvicorn alone waits forever for a slow head once the first byte arrived.
* :class:`TurnSlots` and :class:`RateLimiter` are checked by the routes that run turns.

No response here carries any part of the request.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import anyio
import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from safebot.errors import ChannelError

__all__ = ["BodyLimits", "HeaderTimeoutH11Protocol", "RateLimiter", "TurnSlots", "error_response"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def error_response(send: Send, err: ChannelError, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """Send ``err.body()`` as JSON with ``err.status``; the connection is then closed."""
    import json

    body = json.dumps(err.body()).encode()
    await send({
        "type": "http.response.start",
        "status": err.status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"), *headers],
    })
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    """Buffer request bodies with a size limit per path prefix and a time limit.

    ``limits`` is ``[(path_prefix, max_bytes), ...]``, first match wins, else ``default``.
    ``on_reject(reason)`` is told each refusal (``too_large`` or ``timeout``) for metrics.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: Sequence[tuple[str, int]],
        default: int,
        timeout: float,
        on_reject: Callable[[str], None] | None = None,
    ) -> None:
        self.app, self.limits, self.default, self.timeout = app, list(limits), default, timeout
        self.on_reject = on_reject or (lambda reason: None)

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(send, ChannelError("invalid Content-Length header", status=400))
                return
            if int(declared) > limit:
                self.on_reject("too_large")
                await error_response(send, ChannelError(f"request body is larger than {limit} bytes", status=413))
                return
        chunks: list[bytes] = []
        size = 0
        try:
            with anyio.fail_after(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return  # the client left; nothing was processed
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        self.on_reject("too_large")
                        await error_response(send, ChannelError(f"request body is larger than {limit} bytes", status=413))
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            self.on_reject("timeout")
            await error_response(send, ChannelError("request body was not received in time", status=408))
            return
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as usual

        await self.app(scope, replay, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1").strip()
    return None


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a deadline for the request head (see the module doc).

    The deadline is the class attribute ``header_timeout``; :func:`with_header_timeout` makes
    a subclass with its own value for one server.
    """

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Never uvicorn's access line (it has the path and query string), whatever the
        # logging configuration: the app's AccessLog writes one without them.
        self.access_log = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_timer()  # the head is complete (a body may follow, with its own limit)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def with_header_timeout(seconds: float) -> type[HeaderTimeoutH11Protocol]:
    """A protocol class for uvicorn's ``http=`` option with this head deadline."""
    return type("HeaderTimeoutH11Protocol", (HeaderTimeoutH11Protocol,), {"header_timeout": float(seconds)})


class TurnSlots:
    """At most ``limit`` turns at once; :meth:`try_take` says no at once instead of queueing."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0

    def try_take(self) -> bool:
        # Only the event loop's thread calls this: no lock needed.
        if self.running >= self.limit:
            return False
        self.running += 1
        return True

    def give_back(self) -> None:
        self.running -= 1


class RateLimiter:
    """A token bucket per key: ``per_minute`` sustained, ``burst`` at once.

    >>> rl = RateLimiter(per_minute=60, burst=2)
    >>> rl.acquire("k", now=0.0), rl.acquire("k", now=0.0), rl.acquire("k", now=0.0) > 0
    (0.0, 0.0, True)
    """

    def __init__(self, *, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, *, now: float | None = None) -> float:
        """0.0 if allowed (a token is spent), else the seconds until a token is available."""
        t = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, t))
            tokens = min(self.burst, tokens + (t - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, t)
                return 0.0
            self._buckets[key] = (tokens, t)
            return (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
