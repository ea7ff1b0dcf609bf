"""One turn per conversation at a time, in arrival order; other conversations never wait.

A request takes a :class:`Ticket` for its conversation as soon as the conversation is known
(before authentication and the other awaits, so a slow key check cannot let a later message
overtake it), then waits until every earlier ticket of that conversation is done. A ticket
whose request fails (401, 404, 503...) leaves the line without running. The table forgets a
conversation as soon as its line is empty. (The engine also serialises a conversation's
turns across processes; this layer is what keeps the order within this server.)

>>> async def turn(q):
...     ticket = q.ticket("c1")
...     await ticket.wait()
...     ticket.release()
...     return len(q)
>>> asyncio.run(turn(ConversationQueue()))
0
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["ConversationQueue", "Ticket"]


class Ticket:
    def __init__(self, queue: ConversationQueue, key: str) -> None:
        self._queue, self._key = queue, key
        self._turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._released = False

    async def wait(self) -> None:
        """Until every earlier ticket of this conversation is released."""
        await asyncio.shield(self._turn)

    def release(self) -> None:
        """Leave the line (done, failed or cancelled); the next ticket may run. Idempotent."""
        if self._released:
            return
        self._released = True
        self._queue._release(self._key, self)


class ConversationQueue:
    def __init__(self) -> None:
        self._lines: dict[str, deque[Ticket]] = {}

    def __len__(self) -> int:
        return len(self._lines)

    def ticket(self, key: str) -> Ticket:
        """A place in ``key``'s line (call from the event loop, before any await)."""
        ticket = Ticket(self, key)
        line = self._lines.setdefault(key, deque())
        line.append(ticket)
        if len(line) == 1:
            ticket._turn.set_result(None)
        return ticket

    def _release(self, key: str, ticket: Ticket) -> None:
        line = self._lines.get(key)
        if line is None:
            return
        was_head = bool(line) and line[0] is ticket
        try:
            line.remove(ticket)
        except ValueError:
            return
        if not line:
            del self._lines[key]
        elif was_head and not line[0]._turn.done():
            line[0]._turn.set_result(None)
