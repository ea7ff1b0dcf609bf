"""Conversation leases in Redis: cross-process ordering for several ``safebot serve`` workers.

A lease is one key per conversation, ``SET NX PX ttl`` inside a script that also takes the
next fencing token from a counter key (so the lock and its token are one atomic step),
renewed every ``ttl / 3`` while the turn runs, and deleted at the end only by its holder
(compare-and-delete). Waiting is polling with a short backoff.

The fencing token increases per conversation, also across a Redis restart without
persistence: a counter that is missing (new, expired after a week idle, or lost with the
server) restarts from Redis's clock in microseconds, above any value it handed out before.

Safety does not rest on this lock: the tracker write is fenced on the version the turn read
(:func:`safebot.stores.conversations.save_turn`), so a turn that outlived its lease (a paused
process, a Redis restart that forgot every lease) is refused at write. When Redis cannot be
reached, :meth:`RedisLeases.acquire` keeps trying until ``wait`` and then raises
:class:`~safebot.errors.LockTimeout` (the server answers 503): a turn never runs unordered.

>>> leases = RedisLeases("redis://127.0.0.1:6379/0", ttl=30)   # doctest: +SKIP
>>> token = await leases.acquire("c-1f2e")                       # doctest: +SKIP
>>> await leases.release("c-1f2e", token)                        # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
import weakref
from typing import TYPE_CHECKING, Any

from safebot.errors import LockTimeout

if TYPE_CHECKING:  # pragma: no cover
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

    from safebot.stores.sql import SqlStore

__all__ = ["RedisLeases", "store_namespace"]

log = logging.getLogger("safebot.stores")

#: KEYS: lease, fence. ARGV: holder, ttl ms, fence idle ms. The token, or false if held.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local t = redis.call('INCR', KEYS[2])
if t == 1 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], now[1] .. string.format('%06d', tonumber(now[2])))
  t = redis.call('INCR', KEYS[2])
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. string.format('%d', t), 'PX', ARGV[2])
return t
"""
#: KEYS: lease. ARGV: holder:token, ttl ms. 1 if still ours (and extended), else 0.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
#: KEYS: lease. ARGV: holder:token. 1 if it was ours and is gone, else 0.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

#: a fence counter idle this long is dropped (it restarts from the clock, still increasing)
FENCE_IDLE_MS = 7 * 24 * 3600 * 1000


def store_namespace(store: SqlStore) -> str:
    """Keys of one store, apart from another bot's (or a test's schema) on the same Redis."""
    engine = store.engine
    schema = (engine.get_execution_options().get("schema_translate_map") or {}).get(None) or ""
    where = f"{engine.url.render_as_string(hide_password=True)}|{schema}"
    return hashlib.sha256(where.encode()).hexdigest()[:16]


class _Client:
    """A redis.asyncio client and its scripts, for one event loop (they are loop-bound)."""

    def __init__(self, url: str, timeout: float) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff

        # One quick retry (a dropped idle connection); waiting for Redis is acquire's job.
        self.redis: Redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout,
            retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
        )
        self.acquire: AsyncScript = self.redis.register_script(_ACQUIRE)
        self.renew: AsyncScript = self.redis.register_script(_RENEW)
        self.release: AsyncScript = self.redis.register_script(_RELEASE)


class RedisLeases:
    """Leases in Redis (a :class:`~safebot.engine.locks.LeaseBackend`).

    ``ttl``: how long a lease lives without renewal (a crashed or paused holder frees it after
    this); ``wait``: how long :meth:`acquire` waits, for the lease or for Redis, before
    :class:`~safebot.errors.LockTimeout`; ``namespace`` keeps two stores' keys apart.
    """

    def __init__(
        self, url: str, *, ttl: float = 30.0, wait: float = 30.0, namespace: str = "default",
        timeout: float = 1.0,
    ) -> None:
        if ttl <= 0 or wait <= 0:
            raise ValueError("ttl and wait must be positive")
        self._url = url
        self._ttl_ms = max(1, int(ttl * 1000))
        self._ttl = ttl
        self._wait = wait
        self._timeout = timeout
        self._prefix = f"safebot:{namespace}"
        self._holder = secrets.token_hex(8)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Client] = weakref.WeakKeyDictionary()
        self._renewers: dict[tuple[str, int], asyncio.Task[None]] = {}

    @classmethod
    def for_store(cls, url: str, store: SqlStore, *, ttl: float = 30.0, wait: float = 30.0) -> RedisLeases:
        """Leases for ``store``'s conversations (keys namespaced by the store's location)."""
        return cls(url, ttl=ttl, wait=wait, namespace=store_namespace(store))

    def __repr__(self) -> str:
        # Not the URL: it can carry a password.
        return f"RedisLeases(ttl={self._ttl})"

    # -- the LeaseBackend protocol --------------------------------------------------------------
    async def acquire(self, key: str) -> int:
        """Wait for ``key``'s lease; its fencing token. LockTimeout after ``wait``."""
        deadline = time.monotonic() + self._wait
        delay = 0.005
        reported = False
        while True:
            try:
                token = await self.try_acquire(key)
            except Exception as exc:  # noqa: BLE001 - any Redis failure: wait for it, never run unordered
                if not reported:
                    log.warning("conversation lock service unavailable (%s); waiting", type(exc).__name__)
                    reported = True
                token, delay = None, max(delay, 0.1)
                if time.monotonic() >= deadline:
                    raise LockTimeout("the conversation lock service is unavailable; try again shortly") from None
            else:
                if token is not None:
                    self._renewers[(key, token)] = asyncio.ensure_future(self._renew(key, token))
                    return token
                if time.monotonic() >= deadline:
                    raise LockTimeout("the conversation is busy; try again shortly")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25 if reported else 0.05)

    async def release(self, key: str, token: int) -> None:
        """Give the lease back if it is still ours. Never raises: the lease lapses anyway."""
        renewer = self._renewers.pop((key, token), None)
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        try:
            await self._client().release(keys=[self._lease_key(key)], args=[self._value(token)])
        except Exception as exc:  # noqa: BLE001 - the turn has committed; the lease expires by itself
            log.warning("releasing a conversation lock failed (%s); it expires on its own", type(exc).__name__)

    # -- one script each -------------------------------------------------------------------------
    async def try_acquire(self, key: str) -> int | None:
        """Take the lease if it is free; its new token, or None if someone holds it."""
        got = await self._client().acquire(
            keys=[self._lease_key(key), self._fence_key(key)], args=[self._holder, self._ttl_ms, FENCE_IDLE_MS]
        )
        return None if got is None else int(got)

    async def renew(self, key: str, token: int) -> bool:
        """Extend the lease; False if it is no longer ours (expired, or taken by another)."""
        kept = await self._client().renew(keys=[self._lease_key(key)], args=[self._value(token), self._ttl_ms])
        return bool(kept)

    async def holder_token(self, key: str) -> int | None:
        """The token of whoever holds ``key``'s lease now, or None (for tests and tools)."""
        value: Any = await self._client().redis.get(self._lease_key(key))
        if value is None:
            return None
        return int(bytes(value).rsplit(b":", 1)[1])

    async def aclose(self) -> None:
        """Close this event loop's connections."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.redis.aclose()

    # -- internals ---------------------------------------------------------------------------------
    def _client(self) -> _Client:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = _Client(self._url, self._timeout)
        return client

    def _lease_key(self, key: str) -> str:
        return f"{self._prefix}:lease:{key}"

    def _fence_key(self, key: str) -> str:
        return f"{self._prefix}:fence:{key}"

    def _value(self, token: int) -> str:
        return f"{self._holder}:{token}"

    async def _renew(self, key: str, token: int) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                if not await self.renew(key, token):
                    return  # lost it: the fenced write will refuse this turn if another ran
            except Exception:  # noqa: BLE001 - a failed renewal only shortens the lease
                continue
