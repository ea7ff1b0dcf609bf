"""``safebot init BOT_DIR --from bank|airline``: a new bot directory made from an example.

The example is copied without safebot's state or caches (``.safebot/``, ``__pycache__``, demo
databases), its bot name is changed in bot.yaml (comments kept), paths in the YAML comments
point at the new directory, and its long README is replaced by a short one that says what to
edit first. The handlers keep working unchanged: the engine imports a bot directory as a
package of its own, whatever it is called, so ``from .backend import ...`` still resolves.

>>> made = init_bot(Path("my-bank"), "bank")            # doctest: +SKIP
>>> made.files                                         # doctest: +SKIP
41
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from safebot.errors import ConfigError

__all__ = ["EDIT_FIRST", "EXAMPLES", "Made", "default_name", "edit_first", "examples_root", "init_bot", "readme"]

EXAMPLES = ("bank", "airline")

#: what a newcomer edits first, in this order (printed by ``safebot init`` and in the README)
EDIT_FIRST = (
    ("bot.yaml", "the bot's name, its replies (responses:), the store and the channels"),
    ("policy.yaml", "what is redacted and how, per destination: review it with compliance "
                    "(safebot policy explain; safebot policy test with policy_cases.yaml)"),
    ("nlu.yml", "the intents and their example sentences"),
    ("handlers.py", "what each intent does: routes, forms, identity verification"),
    ("backend/", "the demo {system}: replace it with calls to your own systems"),
)
_SYSTEM = {"bank": "core-banking system", "airline": "reservations system"}

#: never copied: safebot's own state, caches, demo databases, the example's long README
_SKIP = (".safebot", "__pycache__", "*.pyc", ".pytest_cache", ".mypy_cache", ".ruff_cache",
         "*.sqlite3", "*.sqlite3-*", "README.md")


@dataclass(frozen=True)
class Made:
    """What ``init_bot`` created."""

    target: Path
    example: str
    name: str
    files: int


def examples_root() -> Path:
    """The examples shipped with safebot: beside ``src/`` in a checkout or an editable install."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_examples", here.parents[1] / "examples"):
        if all((candidate / name / "bot.yaml").is_file() for name in EXAMPLES):
            return candidate
    raise ConfigError("the example bots are not installed with this copy of safebot "
                      "(they ship in the source repository, under examples/)")


def default_name(target: Path) -> str:
    """A bot name from its directory: ``acme-bank`` -> ``Acme Bank``."""
    words = re.split(r"[\W_]+", target.resolve().name)
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or "My bot"


def init_bot(target: Path, example: str, *, name: str | None = None) -> Made:
    """Copy ``example`` into ``target`` (new or empty) and rename it; ConfigError if refused."""
    if example not in EXAMPLES:
        raise ConfigError(f"unknown example {example!r}; expected one of: {', '.join(EXAMPLES)}")
    if target.exists() and not target.is_dir():
        raise ConfigError("exists and is not a directory", path=str(target))
    if target.is_dir() and any(target.iterdir()):
        raise ConfigError("is not empty: safebot init makes a new bot directory, give a new or empty one",
                          path=str(target))
    source = examples_root() / example
    name = name or default_name(target)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*_SKIP), dirs_exist_ok=True)
    _rename(target, example, name)
    (target / "README.md").write_text(readme(target, example, name), encoding="utf-8")
    # safebot's state (keys, the store, the model) must never be committed with the bot.
    (target / ".gitignore").write_text(".safebot/\n__pycache__/\n", encoding="utf-8")
    files = sum(1 for p in target.rglob("*") if p.is_file())
    return Made(target, example, name, files)


def _rename(target: Path, example: str, name: str) -> None:
    bot_yaml = target / "bot.yaml"
    text = bot_yaml.read_text(encoding="utf-8")
    # A line edit, not a YAML round trip: the example's comments are its documentation.
    line = f"name: {_yaml_string(name)}"
    text, n = re.subn(r"(?m)^name:.*$", lambda _: line, text, count=1)
    if n != 1:
        raise ConfigError("the example's bot.yaml has no top-level name", path=str(bot_yaml))
    header = f"# {name}, made from safebot's {example} example."
    text, n = re.subn(r"(?m)^# The (\S+) example bot\..*$", lambda _: header, text, count=1)
    if n == 0:
        text = f"{header}\n{text}"
    bot_yaml.write_text(text, encoding="utf-8")
    where = target.as_posix()
    for path in (*target.glob("*.yaml"), *target.glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        new = text.replace(f"examples/{example}/", f"{where}/").replace(f"examples/{example}", where)
        if new != text:
            path.write_text(new, encoding="utf-8")
    init = target / "__init__.py"
    if init.is_file():
        doc = (f"{name} (made from safebot's {example} example; loaded by safebot as a package so "
               "that handlers.py can import backend and its helper modules relatively).")
        init.write_text(f"{doc!r}\n", encoding="utf-8")  # a literal whatever the name holds


def _yaml_string(value: str) -> str:
    """``value`` as a YAML scalar that reads back as the same string."""
    import json

    plain = re.fullmatch(r"[A-Za-z][A-Za-z0-9 .'&()-]*[A-Za-z0-9.)]", value) and ": " not in value
    return value if plain else json.dumps(value, ensure_ascii=False)


def edit_first(example: str) -> list[tuple[str, str]]:
    """(path in the bot directory, why) for each file to edit first."""
    return [(path, why.format(system=_SYSTEM[example])) for path, why in EDIT_FIRST]


def readme(target: Path, example: str, name: str) -> str:
    """The new bot's short README."""
    d = target.as_posix()
    steps = "\n".join(f"{i}. `{path}`: {why}." for i, (path, why) in enumerate(edit_first(example), start=1))
    return f"""# {name}

A safebot bot directory, made from safebot's `{example}` example with
`safebot init {d} --from {example}`. The example's full README (what it can do, its demo
customers, its redaction limits) is `examples/{example}/README.md` in safebot's repository;
adapting it is `docs/adapting.md` there.

## Edit first

{steps}

The replies in `bot.yaml`, the templates in `notifications.yaml` and the conversation tests in
`tests/` still speak as the example; change them together (a reply you edit is asserted by
the tests).

## Run

```bash
safebot train {d}      # the intent model, into {d}/.safebot/ (never commit that directory)
safebot test {d}       # the conversation tests in {d}/tests
safebot policy test {d}/policy.yaml {d}/policy_cases.yaml
safebot chat {d}
```
"""
