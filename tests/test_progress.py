"""Progress is drawn on a terminal's stderr only: nothing at all when piped, stdout untouched."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest

from safebot import progress

_SCRIPT = textwrap.dedent("""
    import sys, time
    from safebot.progress import bar, stages, track
    with stages("loading the bot") as stage:
        stage("reading bot.yaml")
        time.sleep(0.3)
        stage("loading the models")
        time.sleep(0.3)
    for i in track(range(3), "policy cases"):
        print("result", i, flush=True)
        time.sleep(0.2)
    with bar(None, "classifying", unit="bytes") as advance:
        advance(10)
    print("done", flush=True)
""")


class _FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("env", "tty", "expected"), [
    ({}, False, False),
    ({}, True, True),
    ({"SAFEBOT_PROGRESS": "0"}, True, False),
    ({"SAFEBOT_PROGRESS": "1"}, True, True),
    ({"TERM": "dumb"}, True, False),
])
def test_enabled(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], tty: bool, expected: bool) -> None:
    monkeypatch.delenv("SAFEBOT_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "stderr", _FakeTerminal() if tty else io.StringIO())
    assert progress.enabled() is expected


def test_helpers_do_nothing_when_disabled(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(progress, "enabled", lambda: False)
    with progress.stages("title") as stage:
        stage("a stage")
    assert list(progress.track(iter("abc"), "items")) == ["a", "b", "c"]
    assert list(progress.track([1, 2], "items")) == [1, 2]
    with progress.bar(5, "bar") as advance:
        advance(5)
    assert capsys.readouterr() == ("", "")


def test_piped_output_gets_no_progress() -> None:
    """stdout and stderr both pipes (CI, `| jq`): the program's own lines, nothing else."""
    env = {k: v for k, v in os.environ.items() if k not in ("SAFEBOT_PROGRESS", "FORCE_COLOR")}
    env["FORCE_COLOR"] = "1"  # rich must not be talked into drawing into a pipe
    r = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "result 0\nresult 1\nresult 2\ndone\n" and r.stderr == ""


def _run_on_a_terminal(env_extra: dict[str, str]) -> tuple[str, str]:
    """The script with stderr on a pseudo-terminal and stdout on a pipe: (stdout, terminal)."""
    import pty
    import select

    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "SAFEBOT_PROGRESS"}
    env.update({"TERM": "xterm-256color", "COLUMNS": "100", **env_extra})
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT], stdout=subprocess.PIPE, stderr=terminal,
                            stdin=subprocess.DEVNULL, env=env)
    os.close(terminal)
    drawn = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        drawn += chunk
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    assert proc.wait(timeout=60) == 0
    os.close(controller)
    return out, drawn.decode(errors="replace")


def test_a_terminal_gets_progress_and_stdout_stays_clean() -> None:
    out, drawn = _run_on_a_terminal({})
    assert out == "result 0\nresult 1\nresult 2\ndone\n"  # never drawn on, even with a bar live
    assert "loading the bot" in drawn and "policy cases" in drawn


def test_progress_can_be_turned_off_on_a_terminal() -> None:
    out, drawn = _run_on_a_terminal({"SAFEBOT_PROGRESS": "0"})
    assert out == "result 0\nresult 1\nresult 2\ndone\n" and drawn == ""
