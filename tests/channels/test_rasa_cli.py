"""``safebot rasa-actions BOT_DIR``: the real command in a subprocess, on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from _rasa_payloads import CARD, PLANTED, action_call
from conftest import free_port, make_bot_dir, wait_healthy

from safebot.testing import find_leaks

pytestmark = pytest.mark.slow


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "safebot.cli", "rasa-actions", *args]


def test_serves_a_bot_and_logs_no_pii(tmp_path: Path) -> None:
    bot_dir = make_bot_dir(tmp_path / "bot")
    port = free_port()
    out, err = (tmp_path / "stdout").open("w+"), (tmp_path / "stderr").open("w+")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_command(str(bot_dir), "--port", str(port)), stdout=out, stderr=err, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, timeout=300)
        assert "safebot_verify" in [a["name"] for a in httpx.get(f"{url}/actions").json()]
        r = httpx.post(f"{url}/webhook", json=action_call("freeze", f"freeze card {CARD}", intent="freeze_card"), timeout=60)
        assert r.status_code == 200
        assert [m["text"] for m in r.json()["responses"]] == ["Card ****1111 is now frozen."]
        bad = httpx.post(f"{url}/webhook", content=f"oops {CARD}".encode(), timeout=60)
        assert bad.status_code == 400 and CARD not in bad.text
        assert httpx.get(f"{url}/health").status_code == 200       # still up after bad input
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    out.seek(0)
    err.seek(0)
    output = out.read() + err.read()
    assert "rasa action freeze: ok" in output
    assert "rasa request rejected (400): request body is not valid JSON" in output
    assert "Traceback" not in output
    assert not find_leaks(PLANTED, {"output": output.splitlines()})


def test_binds_loopback_by_default() -> None:
    from safebot.cli import rasa_actions

    defaults = rasa_actions.__defaults__ or ()
    assert "127.0.0.1" in defaults and 5055 in defaults


@pytest.mark.parametrize("args,message", [
    (["--port", "0"], "--port must be between 1 and 65535"),
    ([], "not a bot directory"),
])
def test_user_errors_exit_2_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    target = tmp_path / "nothing-here"
    target.mkdir()
    r = subprocess.run(_command(str(target), *args), check=False, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
