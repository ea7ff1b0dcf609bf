"""check_bot_dir: the whole bot directory checked before any model loads or trains, each
mistake named by file, line and field, without importing Presidio, spaCy or the encoder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from safebot.errors import ConfigError, WiringError
from safebot.preflight import check_bot_dir

ROOT = Path(__file__).resolve().parents[1]
MINIBANK = ROOT / "tests" / "engine" / "minibank"
BANK_POLICY = ROOT / "examples" / "bank" / "policy.yaml"

#: modules a quick check must not import: each costs seconds (or is the model itself)
HEAVY = ("presidio_analyzer", "presidio_anonymizer", "spacy", "thinc", "onnxruntime", "onnx", "tokenizers",
         "torch", "sklearn", "wordfreq", "sentence_transformers", "transformers")


@pytest.fixture
def bot(tmp_path: Path) -> Path:
    """A private minibank whose policy is a copy of the bank example's. Its directory name is
    unique: the engine imports a bot's handlers as ``safebot_bots.<directory name>``, once per
    process."""
    bot_dir = tmp_path / f"minibank_{tmp_path.name}"
    shutil.copytree(MINIBANK, bot_dir, ignore=shutil.ignore_patterns(".safebot", "__pycache__"))
    shutil.copy(BANK_POLICY, bot_dir / "policy.yaml")
    text = (bot_dir / "bot.yaml").read_text().replace("../../../examples/bank/policy.yaml", "policy.yaml")
    (bot_dir / "bot.yaml").write_text(text)
    return bot_dir


def edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(bot_dir: Path) -> None:
        path = bot_dir / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1))
    return apply


def append(name: str, extra: str) -> Callable[[Path], None]:
    def apply(bot_dir: Path) -> None:
        with (bot_dir / name).open("a") as f:
            f.write(extra)
    return apply


def remove(name: str) -> Callable[[Path], None]:
    return lambda bot_dir: (bot_dir / name).unlink()


def line_of(bot_dir: Path, name: str, needle: str) -> int:
    lines = (bot_dir / name).read_text().splitlines()
    return next(i for i, text in enumerate(lines, start=1) if needle in text)


#: (id, mutation, file, line (a needle whose line is meant, or None), field, words in the message)
CASES: list[tuple[str, Callable[[Path], None], str, str | None, str | None, str]] = [
    ("no bot.yaml", remove("bot.yaml"), "", None, None, "not a bot directory (no bot.yaml)"),
    ("bot.yaml unknown key", append("bot.yaml", "colour: blue\n"), "bot.yaml", "colour: blue", "colour",
     "unknown key"),
    ("bot.yaml bad value", edit("bot.yaml", "encoder: none", "encoder: bert"), "bot.yaml", "encoder: bert",
     "nlu.encoder", ""),
    ("bot.yaml bad YAML", append("bot.yaml", "responses: [unclosed\n"), "bot.yaml", None, None, "invalid YAML"),
    ("policy file missing", edit("bot.yaml", "policy: policy.yaml", "policy: polcy.yaml"), "bot.yaml",
     "policy: polcy.yaml", "policy", "no such file"),
    ("handlers file missing", append("bot.yaml", "handlers: handler.py\n"), "bot.yaml", "handlers: handler.py",
     "handlers", "no such file"),
    ("nlu file missing", remove("nlu.yml"), "bot.yaml", None, "nlu.data", "no such file"),
    ("policy bad threshold", edit("policy.yaml", "threshold: 0.5", "threshold: 5"), "policy.yaml",
     "threshold: 5", "threshold", ""),
    ("policy unknown key", append("policy.yaml", "colour: blue\n"), "policy.yaml", "colour: blue", "colour", ""),
    ("nlu.yml bad item", append("nlu.yml", "- intnet: typo\n  examples: |\n    - hi\n"), "nlu.yml",
     "intnet: typo", None, ""),
    ("nlu.yml bad YAML", append("nlu.yml", "- intent: [\n"), "nlu.yml", None, None, "invalid YAML"),
    ("route to an unknown intent", edit("handlers.py", '("freeze_card",)', '("freeze_cards",)'), "handlers.py",
     '("freeze_cards",)', "freeze.intents", "routes intent 'freeze_cards', which nlu.yml does not define"),
    ("form slot takes an unknown entity", edit("handlers.py", 'entities=("account_type",)',
                                               'entities=("acount_type",)'),
     "handlers.py", '"acount_type"', "transfer.to_account.entities", "takes entity 'acount_type'"),
    ("auth without a verification", edit("handlers.py", "        verification=verification,\n", ""),
     "handlers.py", '"balance"', "balance.requires_auth", "requires auth but setup() defines no Verification"),
    ("handlers module does not import", append("handlers.py", "\nimport no_such_module_here\n"), "handlers.py",
     None, None, "importing the handlers module failed (ModuleNotFoundError)"),
    ("setup() fails", edit("handlers.py", "    verification = Verification(", "    1 / 0\n    verification = Verification("),
     "handlers.py", None, None, "setup() in the handlers module failed (ZeroDivisionError)"),
]


def test_the_minibank_passes(bot: Path) -> None:
    checked = check_bot_dir(bot)
    assert {"greet", "freeze_card", "transfer_funds"} <= checked.intents
    assert "CREDIT_CARD" in checked.entities and checked.config.name == "Mini Bank"


@pytest.mark.parametrize(("mutate", "file", "needle", "field", "words"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mistakes_name_file_line_and_field(bot: Path, mutate: Callable[[Path], None], file: str,
                                           needle: str | None, field: str | None, words: str) -> None:
    mutate(bot)
    with pytest.raises(ConfigError) as info:
        check_bot_dir(bot)
    err = info.value
    assert err.path is not None and Path(err.path) == bot / file, str(err)
    if needle is not None:
        assert err.line == line_of(bot, file, needle), str(err)
    if field is not None:
        assert err.field is not None and err.field.endswith(field), str(err)
    assert words in err.message, str(err)
    text = str(err)
    assert text.startswith(f"{bot / file}" if file else str(bot)) and "\n" not in text


def test_a_wiring_mistake_is_a_wiring_error(bot: Path) -> None:
    edit("handlers.py", '("freeze_card",)', '("freeze_cards",)')(bot)
    with pytest.raises(WiringError):
        check_bot_dir(bot)


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: p, "no such directory"),
    (lambda p: (p.write_text("x"), p)[1], "not a directory"),
])
def test_not_a_directory(tmp_path: Path, make, words: str) -> None:  # type: ignore[no-untyped-def]
    target = make(tmp_path / "bot")
    with pytest.raises(ConfigError, match=words):
        check_bot_dir(target)


_PROBE = """
import json, sys, time
started = time.perf_counter()
from safebot.preflight import check_bot_dir
from safebot.errors import ConfigError
try:
    check_bot_dir(sys.argv[1])
    outcome = "ok"
except ConfigError as exc:
    outcome = str(exc)
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[2].split(",")))
print(json.dumps({"outcome": outcome, "heavy": heavy, "seconds": round(time.perf_counter() - started, 3)}))
"""


def probe(bot_dir: Path) -> dict[str, object]:
    r = subprocess.run([sys.executable, "-c", _PROBE, str(bot_dir), ",".join(HEAVY)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("example", ["bank", "airline"])
def test_an_example_is_checked_without_the_heavy_modules(tmp_path: Path, example: str) -> None:
    """Speed by construction (the time itself is a bench figure, bench/start.py): nothing that
    loads a model, builds recognizers or holds an encoder is imported."""
    bot_dir = tmp_path / example
    shutil.copytree(ROOT / "examples" / example, bot_dir,
                    ignore=shutil.ignore_patterns(".safebot", "*.sqlite3", "__pycache__"))
    result = probe(bot_dir)
    assert result == {"outcome": "ok", "heavy": [], "seconds": result["seconds"]}


def test_a_failure_is_found_without_the_heavy_modules(bot: Path) -> None:
    edit("bot.yaml", "policy: policy.yaml", "policy: polcy.yaml")(bot)
    result = probe(bot)
    assert str(result["outcome"]).startswith(f"{bot / 'bot.yaml'}:") and result["heavy"] == []


@pytest.mark.parametrize("command", [["train"], ["test"], ["chat"], ["nlu"]])
def test_commands_check_before_loading(bot: Path, command: list[str]) -> None:
    """A typo in bot.yaml fails the command in its first second: one line, exit 2, no model."""
    edit("bot.yaml", "policy: policy.yaml", "policy: polcy.yaml")(bot)
    r = subprocess.run([sys.executable, "-m", "safebot.cli", *command, str(bot)], input="", capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {bot / 'bot.yaml'}:2: policy: no such file") and len(r.stderr.splitlines()) == 1
    assert not (bot / ".safebot" / "intent-model").exists()
