"""The per-number limit (GCRA, slots spaced exactly) and the pair gap, in memory and shared in
Redis by several clients: no one-second window of reserved slots holds more than the rate."""

from __future__ import annotations

import secrets
import socket

import pytest

from safebot.notify.ratelimit import MemoryLimiter, RedisLimiter

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


def test_memory_slots_are_spaced_and_the_pair_gap_holds() -> None:
    limiter = MemoryLimiter(per_second=50, recipient_gap=6.0)
    plan = limiter.reserve("n1", [f"c-{i}" for i in range(120)])
    assert plan.waits == [0.0] * 120
    slots = [plan.slot(k) for k in range(120)]
    assert _max_in_window(slots) == 50
    again = limiter.reserve("n1", ["c-3", "c-new"])
    assert again.waits[0] > 5.9 and again.waits[1] == 0.0
    assert again.start >= plan.slot(119)  # after every slot already handed out


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")
def test_redis_limits_are_shared_by_every_client() -> None:
    number = f"test-{secrets.token_hex(4)}"
    a = RedisLimiter(REDIS_URL, per_second=80, recipient_gap=6.0)
    b = RedisLimiter(REDIS_URL, per_second=80, recipient_gap=6.0)
    try:
        import time

        t0 = time.monotonic()
        slots: list[float] = []
        for i in range(6):
            limiter = a if i % 2 == 0 else b
            took = time.monotonic()
            plan = limiter.reserve(number, [f"{number}-{i}-{k}" for k in range(40)])
            slots += [took - t0 + plan.slot(k) for k in range(40)]
        assert _max_in_window(slots) <= 80
        assert max(slots) >= 239 / 80 - 0.05  # 240 sends need 3 s at 80/s, whoever asks
        held = b.reserve(number, [f"{number}-0-0"])
        assert held.waits[0] > 5.5  # the pair gap, set by the other client
        a.slow_down(number, 2.0)
        assert b.reserve(number, [f"{number}-x"]).start >= 1.9
    finally:
        a.close()
        b.close()


def test_a_late_send_takes_a_slot_of_its_own() -> None:
    # reserve(extra=1) with no recipients: a send that missed its slot is given a new one, and the
    # next reservation starts after it (without extra it would share the next caller's slot).
    limiter = MemoryLimiter(per_second=10, recipient_gap=0.0, headroom=0.0)
    first = limiter.reserve("n1", ["c-1", "c-2"])
    late = limiter.reserve("n1", [], 1)
    after = limiter.reserve("n1", ["c-3"])
    assert late.waits == []
    assert late.start >= first.slot(1) + first.interval - 0.01
    assert after.start >= late.start + late.interval - 0.01
    assert limiter.reserve("n2", [], 0).start == 0.0  # nothing reserved, nothing held


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379")
def test_redis_a_late_send_takes_a_slot_of_its_own() -> None:
    number = f"test-{secrets.token_hex(4)}"
    limiter = RedisLimiter(REDIS_URL, per_second=10, recipient_gap=0.0, headroom=0.0)
    try:
        limiter.reserve(number, ["a", "b"])
        late = limiter.reserve(number, [], 1)
        after = limiter.reserve(number, [])
        assert late.start >= 0.15
        assert after.start >= late.start + late.interval - 0.01
    finally:
        limiter.close()
