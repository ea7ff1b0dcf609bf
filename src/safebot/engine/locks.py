"""Per-conversation ordering: one turn of a conversation at a time, other conversations free.

Two layers, taken in this order by every turn:

* :class:`LocalLocks`, inside the process: an async lock per conversation that works from any
  thread and any event loop (a ``Bot`` may be shared by a web server's loop, a worker thread
  and ``handle_sync`` calls, each with its own loop), and that forgets a conversation as soon
  as nobody holds or waits for it, so the table never grows without bound;
* a cross-process lease (the store's lease table by default, Redis when configured), so two
  processes serving one bot never run the same conversation's turns at once.

Safety does not rest on either: the tracker write is fenced on the version the turn read, so a
turn that outlived its lease is rejected at write, never applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["ConversationLocks", "LeaseBackend", "LocalLocks"]


@dataclass
class _Entry:
    held: bool = False
    users: int = 0
    waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(default_factory=deque)


class LocalLocks:
    """Async mutual exclusion per key, usable from any event loop and thread.

    >>> locks = LocalLocks()
    >>> async def turn():
    ...     async with locks.hold("c1"):
    ...         return len(locks)
    >>> import asyncio; asyncio.run(turn())
    1
    >>> len(locks)
    0
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        with self._mutex:
            return len(self._entries)

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] | None = None
        with self._mutex:
            entry = self._entries.setdefault(key, _Entry())
            entry.users += 1
            if entry.held:
                waiter = loop.create_future()
                entry.waiters.append((loop, waiter))
            else:
                entry.held = True
        try:
            if waiter is not None:
                await self._wait(key, entry, waiter)
            try:
                yield
            finally:
                self._release(key, entry)
        finally:
            with self._mutex:
                entry.users -= 1
                if entry.users == 0 and not entry.held and self._entries.get(key) is entry:
                    del self._entries[key]

    async def _wait(self, key: str, entry: _Entry, waiter: asyncio.Future[None]) -> None:
        try:
            await waiter
        except asyncio.CancelledError:
            with self._mutex:
                pending = any(f is waiter for _, f in entry.waiters)
                if pending:
                    entry.waiters = deque((lp, f) for lp, f in entry.waiters if f is not waiter)
            # Granted while we were being cancelled: we own the lock and must pass it on.
            if not pending and waiter.done() and not waiter.cancelled():
                self._release(key, entry)
            raise

    def _release(self, key: str, entry: _Entry) -> None:
        with self._mutex:
            while entry.waiters:
                loop, waiter = entry.waiters.popleft()
                if loop.is_closed() or waiter.done():
                    continue
                # Ownership passes straight to the next waiter (held stays True).
                loop.call_soon_threadsafe(self._grant, key, entry, waiter)
                return
            entry.held = False

    def _grant(self, key: str, entry: _Entry, waiter: asyncio.Future[None]) -> None:
        if waiter.done():  # cancelled before it got the lock: pass it on
            self._release(key, entry)
        else:
            waiter.set_result(None)


class LeaseBackend(Protocol):
    """A cross-process lock with a fencing token (the store's leases, or Redis)."""

    async def acquire(self, key: str) -> int:
        """Wait for the lease; return its fencing token. Raises LockTimeout."""
        ...

    async def release(self, key: str, token: int) -> None: ...


class ConversationLocks:
    """The local lock, then the cross-process lease (if any), for one conversation."""

    def __init__(self, lease: LeaseBackend | None = None) -> None:
        self.local = LocalLocks()
        self.lease = lease

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[int | None]:
        async with self.local.hold(key):
            if self.lease is None:
                yield None
                return
            token = await self.lease.acquire(key)
            try:
                yield token
            finally:
                await asyncio.shield(self.lease.release(key, token))
