"""``safebot serve`` as a process: a port in use is one line; SIGTERM lets a running turn
finish and commit, then the process exits 0."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from serve_harness import make_bot_dir

SAFEBOT = [sys.executable, "-m", "safebot.cli"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``safebot ARGV`` in this process (the same entry point as the installed command)."""
    from safebot.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out, out.err


def test_a_port_in_use_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bot_dir = make_bot_dir(tmp_path / "bot", None)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, _, err = run_cli(capsys, "serve", str(bot_dir), "--port", str(port))
    assert code == 2
    assert err == f"error: port {port} on 127.0.0.1 is already in use\n"


def test_keys_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bot_dir = make_bot_dir(tmp_path / "bot", None)
    code, out, err = run_cli(capsys, "keys", "create", str(bot_dir), "--name", "mobile-app")
    assert code == 0, err
    key = out.strip()
    assert re.fullmatch(r"sbk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", key)
    assert "shown only now" in err
    code, out, _ = run_cli(capsys, "keys", "list", str(bot_dir))
    assert "mobile-app" in out and "active" in out and "customer" in out
    assert key.split("_", 2)[2] not in out  # never the secret
    code, _, err = run_cli(capsys, "keys", "create", str(bot_dir), "--name", "mobile-app")
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
    code, _, err = run_cli(capsys, "keys", "revoke", str(bot_dir), "mobile-app")
    assert code == 0
    _, out, _ = run_cli(capsys, "keys", "list", str(bot_dir))
    assert "revoked" in out
    code, _, err = run_cli(capsys, "keys", "create", str(bot_dir), "--name", "x", "--role", "root")
    assert code == 2 and "unknown role" in err
    code, _, err = run_cli(capsys, "keys", "revoke", str(bot_dir), "no-such-key")
    assert code == 2 and err == "error: no key with that name or id\n"
    # the database holds only a hash of the key
    assert key.encode() not in (bot_dir / ".safebot" / "safebot.sqlite3").read_bytes()


def start_serve(bot_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([*SAFEBOT, "serve", str(bot_dir), "--port", "0"], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"starting on (http://127\.0\.0\.1:\d+)", line)
        if m:
            url = m.group(1)
            while time.monotonic() < deadline:  # bound early; answering once uvicorn runs
                try:
                    if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                        return proc, url
                except httpx.HTTPError:
                    time.sleep(0.1)
            break
    proc.kill()
    raise AssertionError("safebot serve did not start")


@pytest.mark.slow
def test_sigterm_lets_the_running_turn_finish_and_commit(tmp_path: Path) -> None:
    from safebot.serve.auth import create_key
    from safebot.stores import SqlStore

    bot_dir = make_bot_dir(tmp_path / "bot", None)
    store = SqlStore.for_bot_dir(bot_dir)
    key = create_key(store, "app")[1].reveal()
    store.close()
    env = {**os.environ, "SERVEBANK_SLEEP": "2.0"}
    proc, url = start_serve(bot_dir, env)
    result: dict[str, Any] = {}

    def slow_turn() -> None:
        result["r"] = httpx.post(f"{url}/v1/conversations/term-1/messages", json={"text": "run the slow check m1"},
                                 headers={"Authorization": f"Bearer {key}"}, timeout=60)

    t = threading.Thread(target=slow_turn)
    t.start()
    time.sleep(1.0)  # the turn is inside its 2 s handler now
    proc.send_signal(signal.SIGTERM)
    t.join(60)
    rc = proc.wait(60)
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    assert result["r"].status_code == 200, result["r"].text
    assert result["r"].json()["replies"] == ["Done with the slow check."]
    assert rc == 0, stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)
    store = SqlStore.for_bot_dir(bot_dir)
    try:
        from safebot.redaction.redactor import Redactor  # noqa: F401 - the ref is the engine's keyed hash
        rows = [r for ref in store.conversations() for r in store.transcript(ref)]
    finally:
        store.close()
    kinds = [r["kind"] for r in rows]
    assert "user" in kinds and "bot" in kinds  # the turn was committed whole
    assert any(r["text"] == "Done with the slow check." for r in rows)
    access = [line for line in stderr.splitlines() if "safebot.serve.access: POST" in line]
    assert len(access) == 1 and "/v1/conversations/{conversation_id}/messages 200" in access[0]
    assert "term-1" not in stderr and "slow check" not in stderr
