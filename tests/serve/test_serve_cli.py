"""``safebot serve`` and ``safebot keys``: a port in use is one line; keys are shown once and
stored hashed. (SIGTERM and a killed process: tests/channels/whatsapp/test_lifecycle.py.)"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from serve_harness import make_bot_dir


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
