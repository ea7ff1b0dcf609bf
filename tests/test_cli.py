"""The command line as users run it: a real subprocess, exit codes, stdout/stderr contracts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BANK_POLICY = ROOT / "examples" / "bank" / "policy.yaml"


def safebot(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "safebot.cli", *args], input=stdin, capture_output=True, text=True,
        timeout=600, cwd=cwd,
    )


@pytest.fixture(scope="module")
def minibank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    bot_dir = tmp_path_factory.mktemp("cli") / "minibank"
    shutil.copytree(ROOT / "tests" / "engine" / "minibank", bot_dir, ignore=shutil.ignore_patterns(".safebot"))
    text = (bot_dir / "bot.yaml").read_text().replace("../../../examples/bank/policy.yaml", str(BANK_POLICY))
    (bot_dir / "bot.yaml").write_text(text)
    return bot_dir


def test_redact_plain_json_and_bad_lines() -> None:
    text = "card 4111-1111-1111-1111 ok\n{\"text\": \"iban GB82 WEST 1234 5698 7654 32\"}\n{oops\n"
    r = safebot("redact", "--policy", str(BANK_POLICY), stdin=text)
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 1  # one bad line: reported, the others still redacted
    assert lines[0]["text"] == "card <CREDIT_CARD_1> ok"
    assert lines[0]["entities"][0] == {"type": "CREDIT_CARD", "start": 5, "end": 24, "score": 1.0, "recognizer": "safebot.card"}
    assert lines[1]["text"] == "iban <IBAN_CODE_1>"
    assert "error" in lines[2] and "oops" not in lines[2]["error"]
    assert "4111" not in r.stdout + r.stderr and "Traceback" not in r.stderr


def test_redact_confines_a_bad_byte_to_its_line() -> None:
    data = b"card 4111 1111 1111 1111\n" + b"caf\xe9 4111 1111 1111 1111\n" + b"iban GB82 WEST 1234 5698 7654 32\n"
    r = subprocess.run([sys.executable, "-m", "safebot.cli", "redact", "--policy", str(BANK_POLICY)],
                       input=data, capture_output=True, timeout=600)
    lines = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert r.returncode == 1
    assert lines[0]["text"] == "card <CREDIT_CARD_1>" and lines[2]["text"] == "iban <IBAN_CODE_1>"
    assert lines[1] == {"error": "line 2: not valid UTF-8"}
    assert b"4111" not in r.stdout + r.stderr


def test_redact_says_when_a_line_is_blocked(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        BANK_POLICY.read_text().replace("time_budget_ms: 1500", "time_budget_ms: 200")
        + "\nrecognizers:\n  - name: runaway\n    entity: BANK_ACCOUNT\n    patterns:\n"
        "      - {name: bad, regex: '(a|aa)+$', score: 0.9}\n"
    )
    r = safebot("redact", "--policy", str(policy), stdin="hello there\n" + "a" * 40 + "! card 4111 1111 1111 1111\n")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.returncode == 3, r.stderr
    assert lines[0]["blocked"] is False
    assert lines[1]["blocked"] is True and lines[1]["text"] == "<REDACTED_MESSAGE>" and lines[1]["reason"] == "timeout"
    assert "line 2 was blocked (timeout)" in r.stderr and "4111" not in r.stdout + r.stderr


def test_redact_destination_customer() -> None:
    r = safebot("redact", "--policy", str(BANK_POLICY), "--destination", "customer", stdin="card 4111 1111 1111 1111\n")
    assert r.returncode == 0
    assert json.loads(r.stdout)["text"] == "card ****1111"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["redact", "--policy", "no/such.yaml"], "no/such.yaml: file not found"),
        (["redact", "--policy", str(BANK_POLICY), "--destination", "twitter"], "unknown destination"),
        (["chat", "no/such/bot"], "no/such/bot: no such directory"),
        (["chat", str(BANK_POLICY)], "not a directory"),
        (["chat", str(ROOT / "docs")], "not a bot directory (no bot.yaml)"),
        (["policy", "explain", "no/such.yaml"], "no/such.yaml: file not found"),
        (["policy", "explain", str(BANK_POLICY), "--format", "pdf"], "--format must be md or html"),
        (["init", "somewhere", "--from", "casino"], "--from must be one of: bank, airline"),
    ],
)
def test_user_errors_are_one_line(args: list[str], message: str) -> None:
    r = safebot(*args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert_one_error_line(r)


def assert_one_error_line(r: subprocess.CompletedProcess[str]) -> None:
    """The README's promise for every user error: one line on stderr, ``error: ...``."""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["chat"], "error: missing argument 'BOT_DIR' (see 'safebot chat --help')"),
        (["policy", "explain"], "error: missing argument 'POLICY_FILE' (see 'safebot policy explain --help')"),
        (["redact"], "error: missing option '--policy' (see 'safebot redact --help')"),
        (["init", "new-bot"], "error: missing option '--from' (see 'safebot init --help')"),
        (["chatt", "examples/bank"], "error: no such command 'chatt'"),
        (["policy", "explian"], "error: no such command 'explian'"),
        (["chat", "examples/bank", "--bogus"], "error: no such option: --bogus"),
        (["--bogus"], "error: no such option: --bogus"),
        (["rasa-actions", "examples/bank", "--port", "eighty"], "error: invalid value for '--port'"),
        (["rasa-actions", "examples/bank", "--port", "70000"], "error: --port must be between 1 and 65535"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    r = safebot(*args)
    assert r.returncode == 2, r.stderr
    assert_one_error_line(r)
    assert r.stderr.startswith(message) and r.stdout == ""


def test_no_arguments_shows_the_help() -> None:
    r = safebot()
    assert "Usage: safebot" in r.stdout + r.stderr and "Traceback" not in r.stderr


def test_version() -> None:
    from importlib.metadata import version

    r = safebot("--version")
    assert r.returncode == 0
    assert r.stdout == f"safebot {version('safebot')}\n" and r.stderr == ""


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("missing/explain.md", "missing/explain.md: directory {tmp}/missing does not exist"),
        (".", "is a directory; -o takes a file name"),
        ("afile/explain.md", "{tmp}/afile is not a directory"),
    ],
)
@pytest.mark.parametrize("command", [["policy", "explain", str(BANK_POLICY)],
                                     ["policy", "diff", str(BANK_POLICY), str(BANK_POLICY)]])
def test_output_path_errors_are_one_line(tmp_path: Path, command: list[str], target: str, message: str) -> None:
    (tmp_path / "afile").write_text("not a directory")
    before = sorted(p.name for p in tmp_path.iterdir())
    r = safebot(*command, "-o", str(tmp_path / target))
    assert r.returncode == 2, r.stderr
    assert_one_error_line(r)
    assert message.format(tmp=tmp_path) in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no temporary file left


def test_output_file_is_written_whole(tmp_path: Path) -> None:
    out = tmp_path / "explain.md"
    out.write_text("an older report")
    r = safebot("policy", "explain", str(BANK_POLICY), "-o", str(out))
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert "| CREDIT_CARD |" in out.read_text() and [p.name for p in tmp_path.iterdir()] == ["explain.md"]


@pytest.mark.parametrize("command", ["rasa-actions", "serve"])
def test_a_port_in_use_is_one_line(minibank: Path, command: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = safebot(command, str(minibank), "--port", str(port))
    assert r.returncode == 2, r.stderr
    assert_one_error_line(r)
    assert f"port {port} on 127.0.0.1 is already in use" in r.stderr


def _commands() -> list[tuple[str, ...]]:
    from safebot.cli import _command

    found: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(_command(), ())
    return found


def test_help_shows_flags_as_flags_and_arguments_by_name(capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command's --help (in process: a subprocess each would take a minute): a boolean
    option is a flag without a value, an argument is its upper-case name, no paragraph is cut
    by the docstring's own line breaks."""
    from safebot.cli import main

    monkeypatch.setenv("COLUMNS", "200")
    commands = _commands()
    assert {("chat",), ("init",), ("policy", "explain"), ("test",)} <= set(commands)
    for path in commands:
        with pytest.raises(SystemExit) as exit_info:
            main([*path, "--help"])
        out = capsys.readouterr().out
        assert exit_info.value.code == 0, path
        assert "Usage: safebot" in out, path
        assert "<bool>" not in out and "BOOLEAN" not in out, (path, out)
    main_help = _help(capsys, ["chat", "--help"])
    assert "--json " in main_help and "BOT_DIR" in main_help
    assert "--verbose  -v  " in _help(capsys, ["test", "--help"])


def _help(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    from safebot.cli import main

    with pytest.raises(SystemExit):
        main(args)
    return capsys.readouterr().out


def test_help_paragraphs_are_not_cut_by_the_source_line_breaks(capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    out = _help(capsys, ["redact", "--help"])
    assert 'a blocked line (detection failed or ran past its time budget) has "text"' in out


def test_policy_explain_help_says_what_it_prints(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")
    out = _help(capsys, ["policy", "explain", "--help"])
    for words in ("POLICY_FILE", "--format", "md", "html", "--output", "treatment of every entity per destination",
                  "allow-list", "every recognizer", "worked example per entity"):
        assert words in out, words


def test_bad_policy_names_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text("name: x\npacks: [bank]\nentities:\n  CREDIT_CARD:\n    threshold: 7\n")
    r = safebot("redact", "--policy", str(bad))
    assert r.returncode == 2
    assert f"{bad}:5: entities.CREDIT_CARD.threshold:" in r.stderr


def test_policy_test_pass_and_fail(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "cases:\n"
        "  - name: card\n    text: 'card 4111 1111 1111 1111'\n    must_redact: [CREDIT_CARD]\n"
        "  - name: wrong on purpose\n    text: 'hello there'\n    must_redact: [CREDIT_CARD]\n"
    )
    r = safebot("policy", "test", str(BANK_POLICY), str(cases))
    assert r.returncode == 1
    assert r.stderr == ""  # no progress drawn into a pipe
    assert r.stdout.strip().endswith("1 passed, 1 failed")
    assert "FAIL wrong on purpose" in r.stdout


def test_chat_json_nlu_train_and_test(minibank: Path) -> None:
    r = safebot("train", str(minibank))
    assert r.returncode == 0, r.stderr
    r = safebot("chat", str(minibank), "--json", stdin="hello\nplease freeze my card 4111 1111 1111 1111\n")
    turns = [json.loads(line) for line in r.stdout.splitlines()]
    assert turns[0]["intent"] == "greet" and turns[0]["replies"] == ["Hi! How can I help?"]
    assert turns[1]["replies"] == ["Card ****1111 is now frozen."]
    assert set(turns[1]) == {"intent", "confidence", "replies"}
    r = safebot("nlu", str(minibank), stdin="lock my card 4111 1111 1111 1111\nwhat's the weather like\n")
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows[0]["text"] == "lock my card <CREDIT_CARD_1>" and rows[0]["intent"] == "freeze_card"
    assert rows[1]["intent"] is None
    state = minibank / ".safebot"
    before = {p.name: p.stat().st_size for p in state.iterdir() if p.is_file()}
    r = safebot("test", str(minibank))
    assert r.returncode == 0, r.stdout
    assert r.stdout.strip().endswith("3 passed, 0 failed")
    after = {p.name: p.stat().st_size for p in state.iterdir() if p.is_file()}
    # safebot test writes nothing into the bot's own files: not its analytics, not the agents' queue
    for name in ("analytics.jsonl", "handoffs.jsonl", "safebot.sqlite3"):
        assert after.get(name) == before.get(name), name


def test_policy_explain_and_diff(tmp_path: Path) -> None:
    r = safebot("policy", "explain", str(BANK_POLICY))
    assert r.returncode == 0
    assert "| CREDIT_CARD | mask (last 4) | encrypt | hash | mask (last 4) | placeholder |" in r.stdout
    assert "| CVV | drop | drop | drop | drop | drop |" in r.stdout
    changed = tmp_path / "policy.yaml"
    changed.write_text(
        BANK_POLICY.read_text().replace("  SWIFT_CODE:\n    threshold: 0.5\n", "  SWIFT_CODE:\n    threshold: 0.6\n")
        .replace("  ABA_ROUTING_NUMBER: {}\n", "")
    )
    r = safebot("policy", "diff", str(BANK_POLICY), str(changed))
    assert r.returncode == 1  # both changes loosen protection: a sign-off is needed (issue 12)
    assert "**ABA_ROUTING_NUMBER** is no longer detected" in r.stdout
    assert "SWIFT_CODE threshold: 0.5 -> 0.6" in r.stdout
    same = safebot("policy", "diff", str(BANK_POLICY), str(BANK_POLICY))
    assert "No change" in same.stdout
