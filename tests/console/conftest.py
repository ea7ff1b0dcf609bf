"""A served bot with planted PII in its conversations, and a real browser (Debian's chromium
through Playwright) for the console's tests.

The server is the serving tests' harness (tests/serve/serve_harness.py): the servebank bot on
a loopback port, keys alice/bob/carol (customer), reviewer (compliance), prometheus (metrics).
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parents[0] / "serve"))
sys.path.insert(0, str(HERE.parents[0]))

from serve_harness import Served, keep_logs, make_bot_dir  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
#: the flags the project runs chromium with (no sandbox inside containers; nothing phoned home)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: set to a folder (docs/) to write the console's screenshots there
SCREENSHOTS = os.environ.get("SAFEBOT_SCREENSHOTS")


@dataclass
class Console:
    """The served bot, the PII planted in it, and every body the console answered with."""

    served: Served
    planted: list[str]
    conversation: str = ""
    bodies: list[str] = field(default_factory=list)

    def leaks(self, text: str) -> list[str]:
        """Planted values (or their digits alone) that appear in ``text``."""
        out = []
        squeezed = "".join(ch for ch in text if ch.isdigit())
        for value in self.planted:
            digits = "".join(ch for ch in value if ch.isdigit())
            if value in text or (len(digits) >= 9 and digits in squeezed):
                out.append(value)
        return out


def _plant(served: Served) -> list[str]:
    from support.pii import plant

    rng = random.Random(12)
    planted: list[str] = []
    kinds = ["CREDIT_CARD", "IBAN_CODE", "US_SSN", "EMAIL_ADDRESS", "PHONE_NUMBER", "PERSON", "ABA_ROUTING_NUMBER"]
    for i, kind in enumerate(kinds):
        msg = plant(rng, kind)
        planted += [p.value for p in msg.planted]
        r = served.post(f"console-pii-{i}", msg.text)
        assert r.status_code == 200, r.text
    card = plant(rng, "CREDIT_CARD")
    planted += [p.value for p in card.planted]
    r = served.post("console-freeze", f"freeze my card {card.planted[0].value}")  # a reveal by the freeze handler
    assert r.status_code == 200
    for text in ("hello", "freeze my card", "my number is 415 555 01"):
        served.post("console-plain", text)
    return planted


def start_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The serving tests' bot on a real server, with its own copy of the bank policy (the
    diff page compares that file on disk with the running policy, so tests change it)."""
    from safebot.engine import Bot
    from safebot.serve import ServeSettings, create_app
    from safebot.serve.auth import create_key, revoke_key
    from safebot.serve.testing import ServerThread

    bot_dir = make_bot_dir(tmp_path_factory.mktemp("console") / "servebank", None)
    (bot_dir / "policy.yaml").write_text((ROOT / "examples" / "bank" / "policy.yaml").read_text())
    yaml = (bot_dir / "bot.yaml").read_text().replace(str(ROOT / "examples" / "bank" / "policy.yaml"), "policy.yaml")
    (bot_dir / "bot.yaml").write_text(yaml)
    with keep_logs() as logs:
        bot = Bot.load(bot_dir)
        keys = {"alice": create_key(bot.store, "alice")[1].reveal()}
        keys["metrics"] = create_key(bot.store, "prometheus", "metrics")[1].reveal()
        keys["compliance"] = create_key(bot.store, "reviewer", "compliance")[1].reveal()
        keys["revoked"] = create_key(bot.store, "old-reviewer", "compliance")[1].reveal()
        revoke_key(bot.store, "old-reviewer")
        config = ServeSettings(rate_limit_per_minute=1_000_000, rate_limit_burst=100_000)
        app = create_app(bot, config, environ={})
        try:
            with ServerThread(app, config) as server:
                yield Served(server.url, bot, bot_dir, app, server, None, logs, keys)
        finally:
            bot.close()


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for served in start_console(tmp_path_factory):
        planted = _plant(served)
        ref = served.bot.conversation_ref("rest:console-pii-0")
        yield Console(served, planted, ref)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope, not session: Playwright's sync API keeps an event loop running in the main
    # thread until it stops, and every later test that calls asyncio.run() (Bot.handle_sync)
    # would fail with "cannot be called from a running event loop".
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run ./dev setup (it installs it with apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
