"""Rate limits shared by every worker: per sending phone number and per recipient.

The per-number limit is a GCRA (generic cell rate algorithm) in Redis, asked at send time: one
key holds the "theoretical arrival time" (TAT) of the next free slot; a worker asks for up to
``n`` sends in one atomic Lua call and is granted the slots due within :data:`LOOKAHEAD`
(told when the first is due, and how long to wait for the next grant). Each send then waits
for its own slot, so sends reach the platform no earlier than their slots, one per
``interval``: a grant's sends never go at once. Nothing is saved up: a worker that is later
than the lookahead loses those slots, and cannot crowd the next second with them. Times are
Redis's own clock (``TIME``), returned as delays, so workers' clocks need not agree. A 130429
from Meta pushes the TAT back (everyone slows down).

Slots are spaced at ``1 / (rate * (1 - headroom))``, so the slots in any one-second window
number at most ``rate * (1 - headroom) + 1``; the rest of ``rate``, about 50 ms of sends at
the default 5% headroom, absorbs how late a send reaches the platform after its slot. That
lateness is real: on a busy 2-core machine a send is handed to the HTTP client up to tens of
milliseconds after its slot and takes as long again to leave (p99 of a 100,000-recipient run,
bench/notify.py --trace). Before sends waited for their slots, a grant's sends went at once,
and the kill runs counted 1,001 to 1,028 sends in one second at a limit of 1,000 while the
grants never exceeded 986 (docs/benchmarks.md).

The per-recipient limit (WhatsApp's pair rate, about one message every 6 seconds) is a key
per recipient (its keyed hash, never the number) holding when the next message may go; it is
taken when a delivery is claimed.

Without Redis (the embedded default) the same algorithms run in the process.

>>> import asyncio
>>> limiter = MemoryLimiter(per_second=80, recipient_gap=6.0)
>>> limiter.hold_pairs(["c-1", "c-2", "c-1"])      # the second message to c-1 must wait
[0.0, 0.0, 6.0]
>>> grant = asyncio.run(limiter.acquire("106540352242922", 5))   # 80/s: the slots of the next 50 ms
>>> grant.granted, grant.first, round(grant.first + 3 * limiter.interval, 4)   # due now, ..., in 39 ms
(4, 0.0, 0.0395)
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["LOOKAHEAD", "Grant", "Limiter", "MemoryLimiter", "RedisLimiter", "make_limiter"]

_PREFIX = "safebot:notify"

# KEYS[1]: the number's key. ARGV[1]: ms per slot; ARGV[2]: the lookahead in ms; ARGV[3]: sends
# wanted now. Returns {granted, ms until the next grant is possible, ms until the first granted
# slot (0: now)}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval, tau, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local first = tat - now
local granted = 0
if want > 0 and tat - now <= tau then
  granted = math.min(want, math.floor((now + tau - tat) / interval) + 1)
  tat = tat + granted * interval
  redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 60000)
end
return {granted, tostring(math.max(0, tat - tau - now)), tostring(first)}
"""

# KEYS: recipients' keys; ARGV[1]: the gap in ms. Returns the wait in ms per recipient (0 =
# allowed now, and the gap starts).
_PAIRS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local gap = tonumber(ARGV[1])
local out = {}
for i = 1, #KEYS do
  local next_ok = tonumber(redis.call('GET', KEYS[i]) or '0')
  if next_ok > now then
    out[i] = tostring(next_ok - now)
  else
    out[i] = '0'
    if gap > 0 then
      redis.call('SET', KEYS[i], tostring(now + gap), 'PX', math.ceil(gap) + 1000)
    end
  end
end
return out
"""

# KEYS[1]: a key; ARGV[1]: ms from now before which nothing may go.
_PUSH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local until_ = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > cur then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1])) + 60000)
end
return 1
"""


#: how far ahead of its slot a send may be granted (seconds): a worker whose event loop wakes
#: late loses no slot for up to this long (the grant's sends then wait for their slots)
LOOKAHEAD = 0.05


@dataclass(frozen=True)
class Grant:
    """``granted`` sends, the first due in ``first`` seconds and each next one ``interval``
    later (never earlier: a send ahead of its slot crowds the window); the next grant is
    possible in ``wait`` seconds."""

    granted: int
    wait: float
    first: float = 0.0


class Limiter(Protocol):
    per_second: int
    interval: float
    tau: float

    async def acquire(self, number: str, n: int) -> Grant: ...

    def hold_pairs(self, recipients: Sequence[str]) -> list[float]: ...

    def slow_down(self, number: str, seconds: float) -> None: ...

    def hold_recipient(self, recipient: str, seconds: float) -> None: ...


class MemoryLimiter:
    """The same limits for one process (no Redis)."""

    def __init__(self, *, per_second: int, recipient_gap: float, headroom: float = 0.05) -> None:
        self.per_second, self.gap = int(per_second), float(recipient_gap)
        self.interval = 1.0 / (self.per_second * (1.0 - headroom))
        self.tau = LOOKAHEAD
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._next: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"MemoryLimiter({self.per_second}/s)"

    async def acquire(self, number: str, n: int) -> Grant:
        return self.acquire_now(number, n)

    def acquire_now(self, number: str, n: int) -> Grant:
        with self._lock:
            now = time.monotonic()
            tat = max(self._tat.get(number, 0.0), now)
            first = tat - now
            granted = 0
            if n > 0 and tat - now <= self.tau:
                granted = min(n, math.floor((now + self.tau - tat) / self.interval) + 1)
                tat += granted * self.interval
                self._tat[number] = tat
            return Grant(granted, max(0.0, tat - self.tau - now), first)

    def hold_pairs(self, recipients: Sequence[str]) -> list[float]:
        with self._lock:
            now = time.monotonic()
            waits = []
            for r in recipients:
                ok = self._next.get(r, 0.0)
                if ok > now:
                    waits.append(ok - now)
                    continue
                waits.append(0.0)
                if self.gap > 0:
                    self._next[r] = now + self.gap
            return waits

    def slow_down(self, number: str, seconds: float) -> None:
        with self._lock:
            self._tat[number] = max(self._tat.get(number, 0.0), time.monotonic() + seconds)

    def hold_recipient(self, recipient: str, seconds: float) -> None:
        with self._lock:
            self._next[recipient] = max(self._next.get(recipient, 0.0), time.monotonic() + seconds)


class RedisLimiter:
    """The limits in Redis, shared by every worker process (see the module doc).

    :meth:`acquire` runs on the sender's event loop with redis's asyncio client (made there on
    first use); the other calls are synchronous, from the claiming threads."""

    def __init__(self, url: str, *, per_second: int, recipient_gap: float, headroom: float = 0.05,
                 client: Any = None) -> None:
        import redis

        self.url = url
        self.per_second, self.gap = int(per_second), float(recipient_gap)
        self.interval = 1.0 / (self.per_second * (1.0 - headroom))
        self.tau = LOOKAHEAD
        self._redis = client if client is not None else redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._pairs = self._redis.register_script(_PAIRS)
        self._push = self._redis.register_script(_PUSH)
        self._async: Any = None
        self._async_loop: Any = None
        self._acquire: Any = None

    def __repr__(self) -> str:
        return f"RedisLimiter({self.per_second}/s)"

    async def acquire(self, number: str, n: int) -> Grant:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:  # an asyncio client serves one loop
            import redis.asyncio

            self._async = redis.asyncio.Redis.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)
            self._acquire = self._async.register_script(_ACQUIRE)
            self._async_loop = loop
        out = await self._acquire(keys=[f"{_PREFIX}:number:{number}"],
                                  args=[self.interval * 1000.0, self.tau * 1000.0, int(n)])
        return Grant(int(out[0]), float(out[1]) / 1000.0, max(0.0, float(out[2]) / 1000.0))

    def hold_pairs(self, recipients: Sequence[str]) -> list[float]:
        if not recipients:
            return []
        out = self._pairs(keys=[f"{_PREFIX}:recipient:{r}" for r in recipients], args=[self.gap * 1000.0])
        return [w if w > 0 else 0.0 for w in (float(v) / 1000.0 for v in out)]

    def slow_down(self, number: str, seconds: float) -> None:
        self._push(keys=[f"{_PREFIX}:number:{number}"], args=[seconds * 1000.0])

    def hold_recipient(self, recipient: str, seconds: float) -> None:
        self._push(keys=[f"{_PREFIX}:recipient:{recipient}"], args=[seconds * 1000.0])

    def ping(self) -> bool:
        return bool(self._redis.ping())

    async def aclose(self) -> None:
        """Close the asyncio client (on the loop that made it)."""
        if self._async is not None:
            import asyncio

            if self._async_loop is asyncio.get_running_loop():
                await self._async.aclose()
            self._async = self._async_loop = None

    def close(self) -> None:
        self._redis.close()


def make_limiter(redis_url: str | None, *, per_second: int, recipient_gap: float, headroom: float = 0.05) -> Limiter:
    if redis_url:
        return RedisLimiter(redis_url, per_second=per_second, recipient_gap=recipient_gap, headroom=headroom)
    return MemoryLimiter(per_second=per_second, recipient_gap=recipient_gap, headroom=headroom)
