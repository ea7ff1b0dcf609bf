"""One real server for the serving tests (see serve_harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from serve_harness import ACCESS_TOKEN, SECRETS, Served, keep_logs, make_bot_dir


def start(tmp_path_factory: pytest.TempPathFactory, name: str, **settings: object) -> Iterator[Served]:
    from safebot.channels.whatsapp.testing import FakeGraph
    from safebot.engine import Bot
    from safebot.serve import ServeSettings, create_app
    from safebot.serve.auth import create_key, revoke_key
    from safebot.serve.testing import ServerThread

    with keep_logs() as logs, FakeGraph(access_token=ACCESS_TOKEN) as graph:
        bot = Bot.load(make_bot_dir(tmp_path_factory.mktemp(name) / "servebank", graph.url))
        keys = {n: create_key(bot.store, n)[1].reveal() for n in ("alice", "bob", "carol")}
        keys["metrics"] = create_key(bot.store, "prometheus", "metrics")[1].reveal()
        keys["compliance"] = create_key(bot.store, "reviewer", "compliance")[1].reveal()
        keys["revoked"] = create_key(bot.store, "old-app")[1].reveal()
        revoke_key(bot.store, "old-app")
        base: dict[str, object] = {
            "rate_limit_per_minute": 1_000_000, "rate_limit_burst": 100_000, "header_timeout": 1.0,
            "body_timeout": 1.0, "whatsapp_poll_seconds": 0.2, "whatsapp_lease_seconds": 5.0,
        }
        config = ServeSettings(**{**base, **settings})
        app = create_app(bot, config, environ=SECRETS)
        try:
            with ServerThread(app, config) as server:
                yield Served(server.url, bot, bot.bot_dir, app, server, graph, logs, keys)
        finally:
            bot.close()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from start(tmp_path_factory, "serve")
