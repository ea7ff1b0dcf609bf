"""A real action server on loopback for the Rasa channel tests.

The fixture bot (fixtures/rasabank) is copied to a temporary directory with the bank policy,
loaded with ``Bot.load`` (SQLite store, audit, analytics exporter), and served by uvicorn in a
thread on a free port. Every log record of the session is kept so tests can look for leaks.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        # httpx/httpcore are the tests' own client (it logs the URLs the tests post to).
        if not record.name.startswith(("httpx", "httpcore")):
            self.lines.append(self.format(record))


@dataclass
class Served:
    url: str
    bot: Any
    server: Any
    audit: list[Any]
    logs: list[str]
    bodies: list[str] = field(default_factory=list)

    token: str = ""

    def post(
        self, payload: Any = None, *, content: bytes | None = None, headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        params = {"token": self.token if token is None else token}
        if content is None:
            r = httpx.post(f"{self.url}/webhook", json=payload, headers=headers, params=params, timeout=60)
        else:
            r = httpx.post(f"{self.url}/webhook", content=content, headers=headers, params=params, timeout=60)
        self.bodies.append(r.text)
        return r


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_bot_dir(target: Path) -> Path:
    shutil.copytree(HERE / "fixtures" / "rasabank", target)
    shutil.copy(ROOT / "examples" / "bank" / "policy.yaml", target / "policy.yaml")
    return target


def wait_healthy(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("action server did not come up")


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import uvicorn

    from safebot.channels.rasa import RasaActionServer
    from safebot.engine import Bot

    keep = _Keep()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    bot = Bot.load(make_bot_dir(tmp_path_factory.mktemp("rasa") / "rasabank"))
    audit: list[Any] = []
    server = RasaActionServer.from_bot(bot, audit=audit.append)
    port = free_port()
    token = secrets.token_urlsafe(24)
    config = uvicorn.Config(
        server.app(token=token, max_body=1_000_000), host="127.0.0.1", port=port, log_level="debug",
        access_log=False, lifespan="off",
    )
    userver = uvicorn.Server(config)
    thread = threading.Thread(target=userver.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url)
    try:
        yield Served(url, bot, server, audit, keep.lines, token=token)
    finally:
        userver.should_exit = True
        thread.join(timeout=10)
        bot.close()
        root.removeHandler(keep)
        root.setLevel(old_level)
