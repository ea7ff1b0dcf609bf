"""Check a bot directory in well under a second, before anything heavy loads or trains.

``safebot train``, ``chat``, ``test``, ``nlu``, ``serve`` and ``rasa-actions`` call
:func:`check_bot_dir` first, so a typo costs a second instead of a model load or a training
run: bot.yaml, the policy's YAML and schema, nlu.yml, the handlers module (imported, its
``setup()`` run) and the route table's wiring (every routed intent in nlu.yml, every form
slot's entity produced by the policy or nlu.yml, a verification when a handler needs one).
Each failure is a :class:`~safebot.errors.ConfigError` naming the file, line and field.

What it leaves to :func:`safebot.redaction.policy.load_policy` (run by ``Bot.load`` before any
model): the checks that need the recognizers built (an allow-list entry that would be
detected as a card number, a Presidio class that does not import). Nothing here imports
Presidio, spaCy or the encoder.

>>> checked = check_bot_dir("examples/bank")           # doctest: +SKIP
>>> sorted(checked.intents)[:2]                         # doctest: +SKIP
['affirm', 'card_delivery_status']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safebot.errors import ConfigError, WiringError

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot
    from safebot.engine.config import BotConfig
    from safebot.engine.handlers import Routes

__all__ = ["Checked", "check_bot_dir", "load_bot"]


@dataclass(frozen=True)
class Checked:
    """What the check read: enough for commands that need no models (``rasa-domain``)."""

    bot_dir: Path
    config: BotConfig
    intents: frozenset[str]
    entities: frozenset[str]
    routes: Routes


def check_bot_dir(bot_dir: str | Path) -> Checked:
    """Validate ``bot_dir`` without loading a model; raise ConfigError (file, line, field)."""
    from safebot.config.yaml_models import line_of, read_yaml
    from safebot.engine.config import BotConfig
    from safebot.engine.loader import load_routes
    from safebot.nlu.training_data import load_nlu_yaml

    bot_dir = Path(bot_dir)
    if not bot_dir.exists():
        raise ConfigError("no such directory", path=str(bot_dir))
    if not bot_dir.is_dir():
        raise ConfigError("not a directory (a bot directory holds bot.yaml, policy.yaml, nlu.yml ...)", path=str(bot_dir))
    bot_yaml = bot_dir / "bot.yaml"
    if not bot_yaml.is_file():
        raise ConfigError("not a bot directory (no bot.yaml)", path=str(bot_dir))
    from safebot.config.yaml_models import parse_yaml_model

    data, node = read_yaml(bot_yaml)
    config = parse_yaml_model(BotConfig, data, node, str(bot_yaml))
    for field, name in (("policy", config.policy), ("handlers", config.handlers), ("nlu.data", config.nlu.data)):
        target = bot_dir / name
        if not target.is_file():
            what = "no such file" if not target.exists() else "not a file"
            raise ConfigError(f"{what}: {target}", path=str(bot_yaml),
                              line=line_of(node, tuple(field.split("."))), field=field)
    policy_entities = _policy_entities(bot_dir / config.policy)
    nlu = load_nlu_yaml(bot_dir / config.nlu.data)
    intents = frozenset(nlu.intents)
    entities = policy_entities | _nlu_entities(nlu)
    handlers = bot_dir / config.handlers
    routes = load_routes(bot_dir, config.handlers)
    try:
        routes.check_wiring(intents, entities, str(handlers))
    except WiringError as exc:
        raise _with_line(exc, handlers) from None
    return Checked(bot_dir, config, intents, entities, routes)


def load_bot(bot_dir: str | Path, *, checked: Checked | None = None, **kwargs: Any) -> Bot:
    """What a command does to get a bot: :func:`check_bot_dir` (unless the caller passes what
    it already ``checked``), then ``Bot.load`` with its stages shown on a terminal
    (:func:`safebot.progress.stages`). ``kwargs`` go to ``Bot.load``."""
    from safebot.engine import Bot
    from safebot.progress import stages

    if checked is None:
        check_bot_dir(bot_dir)
    with stages(f"loading {bot_dir}") as stage:
        return Bot.load(bot_dir, progress=stage, **kwargs)


def _policy_entities(path: Path) -> frozenset[str]:
    """The policy's YAML and schema (file, line, field), without building its recognizers."""
    from safebot.config.yaml_models import read_yaml
    from safebot.redaction.policy import Policy
    from safebot.redaction.recognizers.spec import parse_yaml

    data, node = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("a policy must be a mapping", path=str(path), line=1)
    policy = parse_yaml(Policy, data, node, str(path))
    return frozenset(policy.entities)


def _nlu_entities(data: Any) -> frozenset[str]:
    """Entity names nlu.yml can produce (regexes, lookup tables, annotated examples); the same
    set ``Bot.load`` checks the wiring against."""
    names = {r.name for r in data.regexes} | set(data.lookups)
    for example in getattr(data, "examples", ()):
        names |= {a.entity for a in getattr(example, "entities", ())}
    return frozenset(names)


#: the wiring messages of Routes.check_wiring: (pattern, field template); ``x`` is the name to find
_WIRING = (
    (re.compile(r"handler '(?P<h>[^']+)' routes intent '(?P<x>[^']+)'"), "{h}.intents"),
    (re.compile(r"^(?P<h>[^:']+): slot '(?P<s>[^']+)' takes entity '(?P<x>[^']+)'"), "{h}.{s}.entities"),
    (re.compile(r"two handlers are named '(?P<x>[^']+)'"), "{x}.name"),
    (re.compile(r"handler '(?P<x>[^']+)' requires auth"), "{x}.requires_auth"),
)


def _with_line(exc: WiringError, handlers: Path) -> WiringError:
    """The wiring error with a line and field: the line of handlers.py that first quotes the
    unknown name (the route table is code, so there is no YAML node to point at, but the
    literal is almost always where the mistake was typed) and the handler's field."""
    for pattern, template in _WIRING:
        m = pattern.search(exc.reason)
        if m is None:
            continue
        try:
            lines = handlers.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        literal = re.compile(r"""(['"])""" + re.escape(m["x"]) + r"\1")
        line = next((i for i, text in enumerate(lines, start=1) if literal.search(text)), None)
        return WiringError(exc.reason, path=str(handlers), line=line, field=template.format(**m.groupdict()))
    return exc
