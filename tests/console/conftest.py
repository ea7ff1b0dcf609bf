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
sys.path.insert(0, str(HERE.parents[0] / "serve"))
sys.path.insert(0, str(HERE.parents[0]))

from serve_harness import Served, start_served  # noqa: E402

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


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    for served in start_served(tmp_path_factory, "console"):
        planted = _plant(served)
        ref = served.bot.conversation_ref("rest:console-pii-0")
        yield Console(served, planted, ref)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run ./dev setup (it installs it with apt-get)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
