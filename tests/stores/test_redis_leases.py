"""Conversation leases in Redis, against the real server on 127.0.0.1:6379.

Two ``RedisLeases`` objects stand for two processes (each has its own holder id). Every test
uses a namespace of its own, so runs never collide with each other or with other users of
this Redis.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest

from safebot.errors import LockTimeout, StoreError
from safebot.stores.redis_leases import RedisLeases

REDIS_URL = os.environ.get("SAFEBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
#: nothing listens here: a Redis that is down
DEAD_URL = "redis://127.0.0.1:1/0"


def _redis_unreachable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is not reachable ({type(exc).__name__})"
    return None


@pytest.fixture(scope="module", autouse=True)
def _needs_redis() -> None:
    problem = _redis_unreachable()
    if problem:
        pytest.skip(problem)


@pytest.fixture
def namespace() -> Iterator[str]:
    import redis

    ns = f"test-{uuid.uuid4().hex[:12]}"
    yield ns
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"safebot:{ns}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def two(namespace: str, **kwargs: float) -> tuple[RedisLeases, RedisLeases]:
    return RedisLeases(REDIS_URL, namespace=namespace, **kwargs), RedisLeases(REDIS_URL, namespace=namespace, **kwargs)


def test_one_holder_at_a_time_and_tokens_increase(namespace: str) -> None:
    a, b = two(namespace, ttl=5, wait=5)

    async def scenario() -> list[tuple[str, int]]:
        order: list[tuple[str, int]] = []
        first = await a.acquire("c1")
        order.append(("a", first))
        waiter = asyncio.ensure_future(b.acquire("c1"))
        await asyncio.sleep(0.3)
        assert not waiter.done()  # b waits while a holds it
        assert await b.try_acquire("c1") is None
        await a.release("c1", first)
        second = await asyncio.wait_for(waiter, 5)
        order.append(("b", second))
        assert await a.holder_token("c1") == second
        await b.release("c1", second)
        assert await a.holder_token("c1") is None
        order.append(("a", await a.acquire("c1")))
        await a.release("c1", order[-1][1])
        return order

    order = asyncio.run(scenario())
    tokens = [t for _, t in order]
    assert tokens == sorted(tokens) and len(set(tokens)) == 3


def test_other_conversations_never_wait(namespace: str) -> None:
    a, b = two(namespace, ttl=5, wait=0.5)

    async def scenario() -> None:
        held = await a.acquire("busy")
        other = await b.acquire("free")  # would raise LockTimeout if keys were shared
        await b.release("free", other)
        with pytest.raises(LockTimeout, match="busy"):
            await b.acquire("busy")
        await a.release("busy", held)

    asyncio.run(scenario())


def test_a_lease_is_renewed_while_held(namespace: str) -> None:
    a, b = two(namespace, ttl=1, wait=0.3)

    async def scenario() -> None:
        token = await a.acquire("c1")
        await asyncio.sleep(2.2)  # more than twice the ttl: only renewals keep it
        assert await b.try_acquire("c1") is None
        assert await a.holder_token("c1") == token
        await a.release("c1", token)

    asyncio.run(scenario())


def test_a_paused_holder_loses_the_lease_and_cannot_touch_the_next_one(namespace: str) -> None:
    """What a SIGSTOPped process looks like from Redis: it stops renewing."""
    a, b = two(namespace, ttl=1, wait=5)

    async def scenario() -> None:
        old = await a.acquire("c1")
        a._renewers.pop(("c1", old)).cancel()  # paused: no more renewals
        new = await b.acquire("c1")  # free once the ttl has passed
        assert new > old
        assert await a.renew("c1", old) is False  # the late holder learns it lost it
        await a.release("c1", old)  # and its release leaves the new holder's lease alone
        assert await b.holder_token("c1") == new
        await b.release("c1", new)

    asyncio.run(scenario())


def test_tokens_keep_increasing_when_redis_forgets_the_counter(namespace: str) -> None:
    """A Redis restart without persistence loses every key; the next token is still larger."""
    import redis

    a, _ = two(namespace)

    async def take() -> int:
        token = await a.acquire("c1")
        await a.release("c1", token)
        return token

    first = asyncio.run(take())
    client = redis.Redis.from_url(REDIS_URL)
    client.delete(f"safebot:{namespace}:fence:c1")
    client.close()
    second = asyncio.run(take())
    assert second > first


def test_works_from_several_event_loops(namespace: str) -> None:
    """A Bot may be driven by handle_sync (a new loop each call): clients are per loop."""
    a, _ = two(namespace)

    async def take() -> int:
        token = await a.acquire("c1")
        await a.release("c1", token)
        return token

    tokens = [asyncio.run(take()) for _ in range(3)]
    assert tokens == sorted(tokens) and len(set(tokens)) == 3


def test_redis_down_is_a_lock_timeout_never_an_unordered_turn() -> None:
    leases = RedisLeases(DEAD_URL, wait=0.5, namespace="dead")

    async def scenario() -> None:
        with pytest.raises(LockTimeout) as caught:
            await leases.acquire("c1")
        assert isinstance(caught.value, StoreError)  # the server maps it to 503
        assert "unavailable" in str(caught.value)
        await leases.release("c1", 1)  # never raises: the turn has already committed

    asyncio.run(scenario())
    assert "127.0.0.1" not in repr(leases)


def test_bot_yaml_chooses_redis(tmp_path: object) -> None:
    from pathlib import Path

    from safebot.engine.config import load_bot_config

    d = Path(str(tmp_path))
    (d / "bot.yaml").write_text(f"name: x\nstore:\n  redis_url: {REDIS_URL}\n  lease_ttl_s: 5\n")
    assert load_bot_config(d).store.redis_url == REDIS_URL
    (d / "bot.yaml").write_text("name: x\nstore:\n  redis_url: http://nope\n")
    from safebot.errors import ConfigError

    with pytest.raises(ConfigError):
        load_bot_config(d)
