"""A real ``safebot serve`` for tests: the servebank bot, uvicorn on a free loopback port in a
thread, a recording fake Graph API, API keys, and every sink gathered for leak scans.

Imported by tests/serve/conftest.py and tests/channels/whatsapp/conftest.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

APP_SECRET = "test-app-secret-7f3a"
VERIFY_TOKEN = "test-verify-token-19c2"
ACCESS_TOKEN = "EAAtesttoken0123456789"
PHONE_NUMBER_ID = "106540352242922"
SECRETS = {
    "SAFEBOT_WHATSAPP_APP_SECRET": APP_SECRET,
    "SAFEBOT_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
    "SAFEBOT_WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
}


class KeepLogs(logging.Handler):
    """Every record any logger emits (the tests' own HTTP client excepted), formatted with
    its traceback, and *without* the redacting filter: the first line of defence is tested."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("httpx", "httpcore")):
            self.lines.append(self.format(record))


@contextmanager
def keep_logs() -> Iterator[KeepLogs]:
    keep = KeepLogs()
    root = logging.getLogger()
    old = root.level
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    try:
        yield keep
    finally:
        root.removeHandler(keep)
        root.setLevel(old)


def make_bot_dir(target: Path, graph_url: str | None) -> Path:
    """A private copy of servebank, with the bank policy and (optionally) the WhatsApp block."""
    shutil.copytree(HERE / "servebank", target, ignore=shutil.ignore_patterns(".safebot", "__pycache__"))
    yaml = (target / "bot.yaml").read_text()
    yaml = yaml.replace("POLICY_PATH", str(ROOT / "examples" / "bank" / "policy.yaml"))
    if graph_url is not None:
        yaml += (f"channels:\n  whatsapp:\n    phone_number_id: \"{PHONE_NUMBER_ID}\"\n"
                 f"    graph_base_url: {graph_url}\n    api_version: v21.0\n    backoff: 0.01\n")
    (target / "bot.yaml").write_text(yaml)
    return target


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Served:
    """One running server and everything needed to look at what it did."""

    url: str
    bot: Any
    bot_dir: Path
    app: Any
    server: Any
    graph: Any
    logs: KeepLogs
    keys: dict[str, str]
    bodies: list[str] = field(default_factory=list)

    def client(self, key: str | None = "alice", **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[key]}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def post(self, conversation: str, text: str, *, key: str | None = "alice") -> httpx.Response:
        with self.client(key) as c:
            r = c.post(f"/v1/conversations/{conversation}/messages", json={"text": text})
        self.bodies.append(r.text)
        return r

    def deliver(self, body: bytes, *, signature: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        h = {"content-type": "application/json", "x-hub-signature-256": signature or sign(body), **(headers or {})}
        r = httpx.post(f"{self.url}/webhooks/whatsapp", content=body, headers=h, timeout=30)
        self.bodies.append(r.text)
        return r

    def metrics(self) -> str:
        r = httpx.get(f"{self.url}/metrics", headers={"Authorization": f"Bearer {self.keys['metrics']}"}, timeout=10)
        assert r.status_code == 200, r.text
        return r.text

    def sinks(self) -> dict[str, list[str]]:
        """Every place customer data could end up, as text."""
        out: dict[str, list[str]] = {
            "store tables": store_dump(self.bot.store),
            "logs": list(self.logs.lines),
            "metrics": [self.metrics()],
            "response bodies": list(self.bodies),
        }
        db = self.bot_dir / ".safebot" / "safebot.sqlite3"
        self.bot.store.checkpoint()
        for path in (db, db.with_name(db.name + "-wal")):
            if path.exists():
                out[f"file {path.name}"] = [path.read_bytes().decode("latin-1")]
        for name in ("analytics.jsonl", "handoffs.jsonl"):
            path = self.bot_dir / ".safebot" / name
            if path.exists():
                out[name] = [path.read_text()]
        return out


def store_dump(store: Any) -> list[str]:
    """Every row of every table, as text (BLOB columns decoded as latin-1)."""
    from sqlalchemy import inspect, text

    lines: list[str] = []
    with store.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                lines.append(table + ": " + " | ".join(
                    v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row))
    return lines


def graph_message_texts(graph: Any) -> list[str]:
    """What the platform received, minus the two things it must see: the recipient (``to``)
    and our bearer token."""
    out = []
    for r in graph.requests:
        body = dict(r.json or {})
        body.pop("to", None)
        out.append(json.dumps(body, ensure_ascii=False))
        out.append(r.path)
    return out


def sqlite_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql))


def env_with(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def start_served(tmp_path_factory: Any, name: str, **settings: object) -> Iterator[Served]:
    """A server with the WhatsApp channel (fake Graph), keys alice/bob/carol, metrics, compliance, revoked."""
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


class ServeProcess:
    """``safebot serve BOT_DIR --port 0`` as a process; ``lines`` collects its stderr."""

    def __init__(self, bot_dir: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "safebot.cli", "serve", str(bot_dir), "--port", "0"],
                                     env=env, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.lines: list[str] = []
        self.url = ""
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not self.url:
            if self.proc.poll() is not None:
                raise AssertionError("safebot serve exited: " + "".join(self.lines)[-2000:])
            for line in list(self.lines):
                m = re.search(r"starting on (http://127\.0\.0\.1:\d+)", line)
                if m:
                    self.url = m.group(1)
            time.sleep(0.05)
        while time.monotonic() < deadline:  # bound early; answering once uvicorn runs
            try:
                if httpx.get(f"{self.url}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.proc.kill()
        raise AssertionError("safebot serve did not start")

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait(self, timeout: float = 60) -> int:
        rc = self.proc.wait(timeout)
        self._drain.join(5)
        return rc

    @property
    def stderr(self) -> str:
        return "".join(self.lines)
