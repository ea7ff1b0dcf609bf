"""The per-number limit (GCRA asked at send time) and the pair gap, in memory and shared in Redis
by several clients: no one-second window of granted sends holds more than the rate, and an idle
or late sender is never handed a burst."""

from __future__ import annotations

import asyncio
import math
import secrets
import socket
import time

import pytest

from safebot.notify.ratelimit import MemoryLimiter, RedisLimiter, burst_tolerance

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


def _grant_times(limiters: list[object], number: str, seconds: float, want: int = 8) -> list[float]:
    """Ask in turn, as fast as allowed, for ``seconds``; the local time of every granted send."""

    async def run() -> list[float]:
        times: list[float] = []
        end = time.monotonic() + seconds
        k = 0
        while time.monotonic() < end:
            limiter = limiters[k % len(limiters)]
            k += 1
            grant = await limiter.acquire(number, want)  # type: ignore[attr-defined]
            times += [time.monotonic()] * grant.granted
            if grant.granted < want:
                await asyncio.sleep(max(grant.wait, 0.0005))
        return times

    return asyncio.run(run())


@pytest.mark.parametrize(("rate", "headroom"), [(1, 0.02), (10, 0.0), (80, 0.02), (250, 0.02), (1000, 0.02), (1000, 0.1)])
def test_the_burst_tolerance_keeps_every_window_under_the_rate(rate: int, headroom: float) -> None:
    tau = burst_tolerance(rate, headroom)
    effective = rate * (1 - headroom)
    assert tau >= 0.0
    assert effective * (1 + tau) + 1 <= rate + 1e-9 or tau == 0.0


def test_memory_grants_are_spaced_and_the_pair_gap_holds() -> None:
    limiter = MemoryLimiter(per_second=50, recipient_gap=6.0)
    times = _grant_times([limiter], "n1", 1.5)
    assert _max_in_window(times) <= 50
    assert len(times) >= 0.9 * 1.5 * 49  # the limit is used, not just respected
    assert limiter.hold_pairs(["c-1", "c-2"]) == [0.0, 0.0]
    again = limiter.hold_pairs(["c-1", "c-new"])
    assert again[0] > 5.9 and again[1] == 0.0


def test_an_idle_sender_gets_no_burst() -> None:
    # Nothing is booked ahead and nothing saved up: after a pause the first grant is at most the
    # burst tolerance's worth (13 sends at 1,000/s with the default 5% headroom), never the
    # second it sat out.
    limiter = MemoryLimiter(per_second=1000, recipient_gap=0.0)
    burst = math.floor(limiter.tau / limiter.interval) + 1
    assert burst < 50  # a burst is a small part of the second, whatever the headroom
    first = limiter.acquire_now("n1", 500)
    assert 1 <= first.granted <= burst and first.wait > 0
    time.sleep(0.3)
    later = limiter.acquire_now("n1", 500)
    assert later.granted <= burst
    assert limiter.acquire_now("n1", 0).granted == 0


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")
def test_redis_limits_are_shared_by_every_client() -> None:
    number = f"test-{secrets.token_hex(4)}"
    a = RedisLimiter(REDIS_URL, per_second=80, recipient_gap=6.0)
    b = RedisLimiter(REDIS_URL, per_second=80, recipient_gap=6.0)
    try:
        times = _grant_times([a, b], number, 2.0, want=5)
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
