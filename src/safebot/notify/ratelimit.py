"""Rate limits shared by every worker: per sending phone number and per recipient.

The per-number limit is a GCRA (generic cell rate algorithm) in Redis: one key holds the
"theoretical arrival time" of the next free slot; a worker reserves ``n`` consecutive slots in
one atomic Lua call and sends slot ``i`` at ``start + i / rate``. Slots are spaced exactly, so
no one-second window ever holds more than ``rate`` sends, however many workers share the
number. Times are Redis's own clock (``TIME``), returned as delays, so workers' clocks need not
agree. A 130429 from Meta pushes the next free slot back (everyone slows down).

Slots are spaced at ``1 / (rate * (1 - headroom))``: exactly ``rate`` a second would let a
window that starts on a slot hold ``rate + 1`` sends, and a send that leaves a few
milliseconds late crowds the next second; the headroom (2% by default) absorbs both.

The per-recipient limit (WhatsApp's pair rate, about one message every 6 seconds) is a key
per recipient (its keyed hash, never the number) holding when the next message may go.

Without Redis (the embedded default) the same algorithm runs in the process.

>>> limiter = MemoryLimiter(per_second=80, recipient_gap=6.0)
>>> plan = limiter.reserve("106540352242922", ["c-1", "c-2", "c-1"])
>>> plan.waits      # the second message to c-1 must wait out the pair gap
[0.0, 0.0, 6.0]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["Limiter", "MemoryLimiter", "Plan", "RedisLimiter", "make_limiter"]

_PREFIX = "safebot:notify"

# KEYS[1]: the number's key; KEYS[2..]: recipients' keys.
# ARGV[1]: ms per slot; ARGV[2]: recipient gap in ms; ARGV[3]: slots to reserve besides the
# recipients' (a send that missed its slot takes a new one).
# Returns {start delay ms, wait ms per recipient...} (0 = allowed now and a slot is reserved).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local out = {}
local allowed = 0
for i = 2, #KEYS do
  local next_ok = tonumber(redis.call('GET', KEYS[i]) or '0')
  if next_ok > now then
    out[i] = tostring(next_ok - now)
  else
    out[i] = '0'
    allowed = allowed + 1
    if gap > 0 then
      redis.call('SET', KEYS[i], tostring(now + gap), 'PX', math.ceil(gap) + 1000)
    end
  end
end
allowed = allowed + tonumber(ARGV[3] or '0')
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now)
if allowed > 0 then
  local new = start + interval * allowed
  redis.call('SET', KEYS[1], tostring(new), 'PX', math.ceil(new - now) + 60000)
end
out[1] = tostring(start - now)
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


@dataclass(frozen=True)
class Plan:
    """A reservation: the allowed recipients' sends at ``start + k * interval`` (seconds from
    now, in the order allowed); ``waits[i] > 0`` means recipient ``i`` must wait that long."""

    start: float
    interval: float
    waits: list[float]

    def slot(self, k: int) -> float:
        return self.start + k * self.interval


class Limiter(Protocol):
    per_second: int
    interval: float

    def reserve(self, number: str, recipients: Sequence[str], extra: int = 0) -> Plan: ...

    def slow_down(self, number: str, seconds: float) -> None: ...

    def hold_recipient(self, recipient: str, seconds: float) -> None: ...


class MemoryLimiter:
    """The same limits for one process (no Redis)."""

    def __init__(self, *, per_second: int, recipient_gap: float, headroom: float = 0.02) -> None:
        self.per_second, self.gap = int(per_second), float(recipient_gap)
        self.interval = 1.0 / (self.per_second * (1.0 - headroom))
        self._lock = threading.Lock()
        self._tat: dict[str, float] = {}
        self._next: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"MemoryLimiter({self.per_second}/s)"

    def reserve(self, number: str, recipients: Sequence[str], extra: int = 0) -> Plan:
        interval = self.interval
        with self._lock:
            t = time.monotonic()
            waits = []
            for r in recipients:
                ok = self._next.get(r, 0.0)
                if ok > t:
                    waits.append(ok - t)
                    continue
                waits.append(0.0)
                if self.gap > 0:
                    self._next[r] = t + self.gap
            allowed = sum(1 for w in waits if w == 0.0) + extra
            start = max(self._tat.get(number, 0.0), t)
            if allowed:
                self._tat[number] = start + allowed * interval
            return Plan(start - t, interval, waits)

    def slow_down(self, number: str, seconds: float) -> None:
        with self._lock:
            self._tat[number] = max(self._tat.get(number, 0.0), time.monotonic() + seconds)

    def hold_recipient(self, recipient: str, seconds: float) -> None:
        with self._lock:
            self._next[recipient] = max(self._next.get(recipient, 0.0), time.monotonic() + seconds)


class RedisLimiter:
    """The limits in Redis, shared by every worker process (see the module doc)."""

    def __init__(self, url: str, *, per_second: int, recipient_gap: float, headroom: float = 0.02,
                 client: Any = None) -> None:
        import redis

        self.per_second, self.gap = int(per_second), float(recipient_gap)
        self.interval = 1.0 / (self.per_second * (1.0 - headroom))
        self._redis = client if client is not None else redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._reserve = self._redis.register_script(_RESERVE)
        self._push = self._redis.register_script(_PUSH)

    def __repr__(self) -> str:
        return f"RedisLimiter({self.per_second}/s)"

    def reserve(self, number: str, recipients: Sequence[str], extra: int = 0) -> Plan:
        keys = [f"{_PREFIX}:number:{number}"] + [f"{_PREFIX}:recipient:{r}" for r in recipients]
        out = self._reserve(keys=keys, args=[self.interval * 1000.0, self.gap * 1000.0, int(extra)])
        values = [float(v) / 1000.0 for v in out]
        return Plan(values[0], self.interval, [w if w > 0 else 0.0 for w in values[1:]])

    def slow_down(self, number: str, seconds: float) -> None:
        self._push(keys=[f"{_PREFIX}:number:{number}"], args=[seconds * 1000.0])

    def hold_recipient(self, recipient: str, seconds: float) -> None:
        self._push(keys=[f"{_PREFIX}:recipient:{recipient}"], args=[seconds * 1000.0])

    def ping(self) -> bool:
        return bool(self._redis.ping())

    def close(self) -> None:
        self._redis.close()


def make_limiter(redis_url: str | None, *, per_second: int, recipient_gap: float, headroom: float = 0.02) -> Limiter:
    if redis_url:
        return RedisLimiter(redis_url, per_second=per_second, recipient_gap=recipient_gap, headroom=headroom)
    return MemoryLimiter(per_second=per_second, recipient_gap=recipient_gap, headroom=headroom)
