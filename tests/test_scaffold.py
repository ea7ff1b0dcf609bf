"""`safebot init BOT_DIR --from bank|airline`: a renamed copy of an example that works as it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from safebot.errors import ConfigError
from safebot.scaffold import EXAMPLES, default_name, examples_root, init_bot

ROOT = Path(__file__).resolve().parents[1]


def safebot(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "safebot.cli", *args], capture_output=True, text=True,
                          timeout=1200, cwd=cwd)


@pytest.mark.parametrize(("directory", "name"), [
    ("acme-bank", "Acme Bank"),
    ("north_wind_air", "North Wind Air"),
    ("bot", "Bot"),
])
def test_default_name_from_the_directory(tmp_path: Path, directory: str, name: str) -> None:
    assert default_name(tmp_path / directory) == name


@pytest.mark.parametrize("example", EXAMPLES)
def test_init_copies_and_renames(tmp_path: Path, example: str) -> None:
    target = tmp_path / "new" / "acme-bot"
    made = init_bot(target, example)
    assert made.name == "Acme Bot" and made.example == example
    source = examples_root() / example
    bot_yaml = (target / "bot.yaml").read_text()
    assert "\nname: Acme Bot\n" in bot_yaml
    assert f"made from safebot's {example} example" in bot_yaml
    # every file of the example except safebot's state, caches and the long README
    wanted = {p.relative_to(source) for p in source.rglob("*") if p.is_file()
              and not {".safebot", "__pycache__"} & set(p.relative_to(source).parts)
              and not p.name.endswith((".pyc", ".sqlite3")) and p.name != "README.md"}
    got = {p.relative_to(target) for p in target.rglob("*") if p.is_file()}
    assert got == wanted | {Path("README.md"), Path(".gitignore")}
    assert made.files == len(got)
    assert not (target / ".safebot").exists()
    assert ".safebot/" in (target / ".gitignore").read_text()
    readme = (target / "README.md").read_text()
    assert readme.startswith("# Acme Bot\n") and f"--from {example}" in readme and "## Edit first" in readme
    for path in (*target.glob("*.yaml"), *target.glob("*.yml")):
        assert f"examples/{example}" not in path.read_text(), path.name


@pytest.mark.parametrize("name", ["Bank: #1 {test}", "O'Brien & Sons", 'back\\slash \\1 "quoted"', "Café 24/7"])
def test_init_quotes_a_name_yaml_would_misread(tmp_path: Path, name: str) -> None:
    from safebot.engine.config import load_bot_config

    for example in EXAMPLES:
        init_bot(tmp_path / example, example, name=name)
        assert load_bot_config(tmp_path / example).name == name
    init = tmp_path / "airline" / "__init__.py"
    assert compile(init.read_text(), str(init), "exec")


def test_init_bot_passes_the_quick_check(tmp_path: Path) -> None:
    from safebot.preflight import check_bot_dir

    init_bot(tmp_path / "b", "airline")
    checked = check_bot_dir(tmp_path / "b")
    assert checked.config.name == "B" and checked.intents


@pytest.mark.parametrize(("prepare", "message"), [
    (lambda p: (p.mkdir(), (p / "x").write_text("x")), "is not empty"),
    (lambda p: p.write_text("a file"), "exists and is not a directory"),
])
def test_init_refuses_an_existing_target(tmp_path: Path, prepare, message: str) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "b"
    prepare(target)
    with pytest.raises(ConfigError, match=message):
        init_bot(target, "bank")
    r = safebot("init", str(target), "--from", "bank")
    assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.splitlines()) == 1


def test_init_into_an_empty_directory_and_what_it_prints(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    r = safebot("init", "b", "--from", "bank", "--name", "Acme Bank", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("created b/: 'Acme Bank', from the bank example (")
    assert lines[1] == "edit first:"
    assert [line.split()[0] for line in lines[2:7]] == ["b/bot.yaml", "b/policy.yaml", "b/nlu.yml", "b/handlers.py",
                                                         "b/backend/"]
    assert lines[-1] == "then: safebot train b && safebot test b && safebot chat b"


def test_unknown_example(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown example"):
        init_bot(tmp_path / "b", "casino")


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES)
def test_init_makes_a_bot_that_trains_and_passes_its_tests(tmp_path: Path, example: str) -> None:
    """What a newcomer runs after `safebot init` (about a minute of CPU per example)."""
    r = safebot("init", "my-bot", "--from", example, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = safebot("train", "my-bot", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no progress drawn into a pipe
    r = safebot("test", "my-bot", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.rstrip().endswith(" passed, 0 failed")
    r = safebot("policy", "test", "my-bot/policy.yaml", "my-bot/policy_cases.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stdout
