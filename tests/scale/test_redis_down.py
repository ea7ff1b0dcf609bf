"""When Redis is down, a REST turn waits for the conversation lock, then fails with a clear
503 (``conversation_busy``, Retry-After): nothing is processed and nothing is stored; the
same message goes through once Redis answers again. A turn never runs unordered."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from safebot.engine import Bot
from safebot.engine.locks import ConversationLocks
from safebot.stores.redis_leases import RedisLeases

# as in tests/scale/conftest.py (not imported from it: every conftest.py is module 'conftest')
REDIS_URL = os.environ.get("SAFEBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

HERE = Path(__file__).resolve().parent
DEAD_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def sqlite_pausebot(tmp_path: Path, servers: None) -> Iterator[Bot]:
    target = tmp_path / "pausebot"
    shutil.copytree(HERE / "pausebot", target, ignore=shutil.ignore_patterns(".safebot", "__pycache__"))
    with (target / "bot.yaml").open("a") as fh:
        fh.write(f"store:\n  redis_url: {DEAD_URL}\n")
    bot = Bot.load(target, exporters=False)
    yield bot
    bot.close()


def test_redis_down_is_a_clear_503_and_nothing_runs(sqlite_pausebot: Bot) -> None:
    from safebot.serve import ServeSettings, create_app
    from safebot.serve.auth import create_key
    from safebot.serve.testing import ServerThread

    bot = sqlite_pausebot
    assert isinstance(bot.locks.lease, RedisLeases)  # bot.yaml's redis_url chose it
    bot.locks = ConversationLocks(RedisLeases(DEAD_URL, wait=1.0))  # the same, waiting 1 s instead of 30
    key = create_key(bot.store, "app")[1].reveal()
    settings = ServeSettings(rate_limit_per_minute=1_000_000, rate_limit_burst=100_000)
    with ServerThread(create_app(bot, settings), settings) as server, httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as c:
        r = c.post("/v1/conversations/c1/messages", json={"text": "my card is 4539 1488 0343 6467, opening hours?"})
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "conversation_busy"
        assert "nothing was processed" in r.json()["error"]["message"]
        assert "4539" not in r.text
        assert r.headers["retry-after"] == "1"
        assert bot.transcript("rest:c1") == []  # nothing ran, nothing stored
        assert c.get("/health").status_code == 200  # the process keeps running

        bot.locks = ConversationLocks(RedisLeases(REDIS_URL, wait=5.0))  # Redis is back
        r = c.post("/v1/conversations/c1/messages", json={"text": "opening hours?"})
        assert r.status_code == 200 and r.json()["replies"] == ["We are open 9 to 5."]
        assert [e["turn"] for e in bot.transcript("rest:c1") if e["kind"] == "user"] == [1]
