"""The per-number limit (GCRA asked at send time) and the pair gap, in memory and shared in Redis
by several clients: no one-second window of granted slots holds more than the rate, however
late or jittery the callers, and an idle or late sender is never handed saved-up slots."""

from __future__ import annotations

import asyncio
import math
import random
import secrets
import socket
import time

import pytest

from safebot.notify.ratelimit import LOOKAHEAD, MemoryLimiter, RedisLimiter

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


def _max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def _slot_times(limiters: list[object], number: str, seconds: float, want: int = 8,
                jitter: random.Random | None = None) -> list[float]:
    """Ask in turn, as fast as allowed (or late by up to 30 ms, with ``jitter``), for
    ``seconds``; the local time of every granted slot (when the sender would send)."""

    async def run() -> list[float]:
        times: list[float] = []
        end = time.monotonic() + seconds
        k = 0
        while time.monotonic() < end:
            limiter = limiters[k % len(limiters)]
            k += 1
            grant = await limiter.acquire(number, want)  # type: ignore[attr-defined]
            at = time.monotonic() + grant.first
            times += [at + i * limiter.interval for i in range(grant.granted)]  # type: ignore[attr-defined]
            if grant.granted < want:
                late = jitter.uniform(0, 0.03) if jitter is not None else 0.0
                await asyncio.sleep(max(grant.wait, 0.0005) + late)
        return times

    return asyncio.run(run())


@pytest.mark.parametrize(("rate", "headroom"), [(10, 0.2), (80, 0.02), (1000, 0.05), (1000, 0.01)])
def test_no_window_of_slots_holds_more_than_the_rate_however_late_the_callers(rate: int, headroom: float) -> None:
    a = MemoryLimiter(per_second=rate, recipient_gap=0.0, headroom=headroom)
    times = _slot_times([a], "n1", 1.3, want=64, jitter=random.Random(rate))
    assert _max_in_window(times) <= rate
    assert len(times) >= 0.5 * 1.3 * rate * (1 - headroom)  # used, even by a late caller


def test_memory_grants_are_spaced_and_the_pair_gap_holds() -> None:
    limiter = MemoryLimiter(per_second=50, recipient_gap=6.0)
    times = _slot_times([limiter], "n1", 1.5)
    assert _max_in_window(times) <= 50
    assert len(times) >= 0.9 * 1.5 * 49  # the limit is used, not just respected
    assert limiter.hold_pairs(["c-1", "c-2"]) == [0.0, 0.0]
    again = limiter.hold_pairs(["c-1", "c-new"])
    assert again[0] > 5.9 and again[1] == 0.0


def test_an_idle_sender_gets_no_saved_up_slots() -> None:
    # Nothing is saved up: after a pause the first grant is the lookahead's worth of slots
    # (48 at 1,000/s with the default 5% headroom), due one per interval from now, never the
    # second it sat out.
    limiter = MemoryLimiter(per_second=1000, recipient_gap=0.0)
    ahead = math.floor(LOOKAHEAD / limiter.interval) + 1
    first = limiter.acquire_now("n1", 500)
    assert 1 <= first.granted <= ahead and first.wait > 0 and first.first == 0.0
    time.sleep(0.3)
    later = limiter.acquire_now("n1", 500)
    assert later.granted <= ahead and later.first == 0.0
    soon = limiter.acquire_now("n1", 500)  # asked again at once: the next slots are ahead
    assert soon.granted <= 1 and (soon.granted == 0 or soon.first > 0.04)
    assert limiter.acquire_now("n1", 0).granted == 0


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")
def test_redis_limits_are_shared_by_every_client() -> None:
    number = f"test-{secrets.token_hex(4)}"
    a = RedisLimiter(REDIS_URL, per_second=80, recipient_gap=6.0)
    b = RedisLimiter(REDIS_URL, per_second=80, recipient_gap=6.0)
    try:
        times = _slot_times([a, b], number, 2.0, want=5)
        assert _max_in_window(times) <= 80
        assert len(times) >= 0.9 * 2.0 * 78  # both clients together use the limit, no more
        key = f"{number}-pair"
        assert a.hold_pairs([key]) == [0.0]
        assert b.hold_pairs([key])[0] > 5.5  # the pair gap, set by the other client
        a.slow_down(number, 2.0)
        grant = asyncio.run(b.acquire(number, 1))
        assert grant.granted == 0 and grant.wait >= 1.9
    finally:
        for limiter in (a, b):
            asyncio.run(limiter.aclose())
            limiter.close()
