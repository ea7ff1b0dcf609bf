"""One turn per conversation at a time, in arrival order; other conversations never wait.

``asyncio.Lock`` wakes its waiters first come, first served, so requests of one conversation
run in the order they reached the server. The table forgets a conversation as soon as nobody
holds or waits for it. (The engine also serialises a conversation's turns, across processes;
this layer is what guarantees the order within this server.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

__all__ = ["ConversationQueue"]


class ConversationQueue:
    """>>> q = ConversationQueue()
    >>> async def turn():
    ...     async with q.turn("c1"):
    ...         return len(q)
    >>> asyncio.run(turn()), len(q)
    (1, 0)
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @contextlib.asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
