"""Rate limits shared by every worker: per sending phone number and per recipient.

The per-number limit is a GCRA (generic cell rate algorithm) in Redis, asked at send time: one
key holds the "theoretical arrival time" (TAT) of the next free slot; a worker asks for up to
``n`` sends *now* in one atomic Lua call and is granted those whose slot is due within a small
burst tolerance ``tau`` (and told how long to wait for the next). Nothing is booked ahead, so a
worker that is late wastes no slot and cannot crowd the next second: whatever it sends was
granted when it went. Times are Redis's own clock (``TIME``), returned as delays, so workers'
clocks need not agree. A 130429 from Meta pushes the TAT back (everyone slows down).

Slots are spaced at ``1 / (rate * (1 - headroom))``. Sends granted in any one-second window are
then at most ``rate * (1 - headroom) * (1 + tau) + 1``; ``tau`` takes a quarter of what the
headroom leaves under ``rate`` (5% by default: ~13 ms at 1,000/s, ~10 ms at 80/s), the other
three quarters absorb the moment between a grant and the request reaching Meta. That moment is
real: on a busy 2-core machine a request reaches the network up to ~70 ms after its grant (p99
of a 100,000-recipient run, bench/notify.py --trace), and a late second crowds the next. With
half of the slack as burst, the kill runs counted 1,001 to 1,028 sends in one second at a limit
of 1,000 while the grants never exceeded 986; with a quarter, 966 (docs/benchmarks.md). Sends
timed to their slots instead (a 50 ms lookahead, each send waiting for its slot) did worse,
1,041: the slots are reckoned from when the worker's loop reads the grant, and a loop that
reads it late shifts them onto the other worker's.

The per-recipient limit (WhatsApp's pair rate, about one message every 6 seconds) is a key
per recipient (its keyed hash, never the number) holding when the next message may go; it is
taken when a delivery is claimed.

Without Redis (the embedded default) the same algorithms run in the process.

>>> import asyncio
>>> limiter = MemoryLimiter(per_second=80, recipient_gap=6.0)
>>> limiter.hold_pairs(["c-1", "c-2", "c-1"])      # the second message to c-1 must wait
[0.0, 0.0, 6.0]
>>> asyncio.run(limiter.acquire("106540352242922", 5)).granted   # 80/s: one now, the next later
1
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Grant", "Limiter", "MemoryLimiter", "RedisLimiter", "burst_tolerance", "make_limiter"]

_PREFIX = "safebot:notify"

# KEYS[1]: the number's key. ARGV[1]: ms per slot; ARGV[2]: burst tolerance in ms; ARGV[3]: sends
# wanted now. Returns {granted, ms until the next grant is possible}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval, tau, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local granted = 0
if want > 0 and tat - now <= tau then
  granted = math.min(want, math.floor((now + tau - tat) / interval) + 1)
  tat = tat + granted * interval
  redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(tat - now) + 60000)
end
return {granted, tostring(math.max(0, tat - tau - now))}
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


#: the share of the headroom's slack the GCRA may grant as a burst; the rest absorbs the
#: moment between a grant and the request reaching the platform
BURST_SHARE = 0.25


def burst_tolerance(per_second: int, headroom: float) -> float:
    """Seconds of burst the per-number GCRA allows: a quarter of the slack the headroom leaves
    under ``per_second`` in any one-second window (0 when it leaves none).

    >>> round(burst_tolerance(1000, 0.05) * 1000, 1), round(burst_tolerance(80, 0.05) * 1000, 1)
    (12.9, 9.9)
    """
    effective = per_second * (1.0 - headroom)
    slack = per_second - effective - 1.0  # the "+ 1": a window that starts on a slot
    return max(0.0, slack / effective * BURST_SHARE) if effective > 0 else 0.0


@dataclass(frozen=True)
class Grant:
    """``granted`` sends may go now; the next grant is possible in ``wait`` seconds."""

    granted: int
    wait: float


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
        self.tau = burst_tolerance(self.per_second, headroom)
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
            granted = 0
            if n > 0 and tat - now <= self.tau:
                granted = min(n, math.floor((now + self.tau - tat) / self.interval) + 1)
                tat += granted * self.interval
                self._tat[number] = tat
            return Grant(granted, max(0.0, tat - self.tau - now))

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
        self.tau = burst_tolerance(self.per_second, headroom)
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
        return Grant(int(out[0]), float(out[1]) / 1000.0)

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
