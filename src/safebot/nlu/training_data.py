"""Load intent training data from a Rasa 3 ``nlu.yml`` file.

Accepted sections, as in Rasa::

    version: "3.1"
    nlu:
    - intent: check_balance
      examples: |
        - what's my balance
        - how much is in my [savings](account_type) account
    - intent: out_of_scope          # or nlu_fallback: used as out-of-scope examples
      examples: |
        - what's the weather like
    - regex: flight_number
      examples: |
        - \\b[A-Z]{2}\\s?\\d{1,4}\\b
    - lookup: airport_code
      examples: |
        - LHR
        - JFK
    - synonym: savings
      examples: |
        - saving

Entity annotations ``[text](entity)``, ``[text](entity:value)`` and
``[text]{"entity": "e", "value": "v"}`` are stripped from the example text and kept as
:class:`EntityAnnotation` offsets into the stripped text. Other Rasa top-level keys (``stories``,
``rules``, ``responses``...) are ignored so a combined Rasa data file loads too. Anything else
that is wrong raises :class:`~safebot.errors.ConfigError` naming the file, line and field.

>>> data = load_nlu_yaml("examples/bank/nlu.yml")   # doctest: +SKIP
>>> data.intents                                      # doctest: +SKIP
('check_balance', 'greet', ...)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from safebot.errors import ConfigError

__all__ = [
    "OUT_OF_SCOPE_INTENTS",
    "EntityAnnotation",
    "Example",
    "RegexPattern",
    "TrainingData",
    "load_nlu_yaml",
    "parse_annotations",
]

#: Intent names whose examples are treated as out-of-scope text, not as an intent.
OUT_OF_SCOPE_INTENTS = frozenset({"out_of_scope", "nlu_fallback"})

# Rasa data files may mix NLU with dialogue data; those sections are someone else's business.
_IGNORED_TOP_LEVEL = frozenset(
    {
        "stories",
        "rules",
        "responses",
        "slots",
        "entities",
        "intents",
        "forms",
        "actions",
        "session_config",
        "e2e_actions",
    }
)
_ITEM_KINDS = ("intent", "regex", "lookup", "synonym")
_ITEM_KEYS = frozenset({*_ITEM_KINDS, "examples", "metadata"})
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-/]+$")

# [text](entity) | [text](entity:value) | [text]{"entity": ...}
_ANNOTATION_RE = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<paren>[^)]+)\)|(?P<json>\{[^}]*\}))")


@dataclass(frozen=True)
class EntityAnnotation:
    """An entity marked in a training example; ``start``/``end`` index the stripped text."""

    entity: str
    value: str
    start: int
    end: int
    role: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class Example:
    """One training example: the text with annotations stripped, its intent and entities."""

    text: str
    intent: str
    entities: tuple[EntityAnnotation, ...] = ()
    line: int | None = None


@dataclass(frozen=True)
class RegexPattern:
    """A named regular expression from a ``regex:`` section."""

    name: str
    pattern: str


@dataclass
class TrainingData:
    """Everything read from one or more ``nlu.yml`` files.

    >>> data = TrainingData(examples=[Example("hi", "greet"), Example("weather?", "out_of_scope")])
    >>> data.intent_examples()
    [('hi', 'greet')]
    >>> data.out_of_scope
    ['weather?']
    """

    examples: list[Example] = field(default_factory=list)
    regexes: list[RegexPattern] = field(default_factory=list)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)  # surface form (lower) -> canonical

    @property
    def intents(self) -> tuple[str, ...]:
        """The in-scope intent names, sorted."""
        return tuple(sorted({e.intent for e in self.examples} - OUT_OF_SCOPE_INTENTS))

    @property
    def out_of_scope(self) -> list[str]:
        """Texts of the ``out_of_scope`` / ``nlu_fallback`` examples."""
        return [e.text for e in self.examples if e.intent in OUT_OF_SCOPE_INTENTS]

    def intent_examples(self) -> list[tuple[str, str]]:
        """``(text, intent)`` pairs for :meth:`IntentClassifier.train`, out-of-scope excluded."""
        return [(e.text, e.intent) for e in self.examples if e.intent not in OUT_OF_SCOPE_INTENTS]

    def merge(self, other: TrainingData) -> TrainingData:
        """Return a new object holding both files' data (``other`` wins on lookup/synonym clashes)."""
        lookups = {k: list(v) for k, v in self.lookups.items()}
        for name, values in other.lookups.items():
            lookups.setdefault(name, []).extend(values)
        return TrainingData(
            examples=[*self.examples, *other.examples],
            regexes=[*self.regexes, *other.regexes],
            lookups=lookups,
            synonyms={**self.synonyms, **other.synonyms},
        )


def parse_annotations(raw: str) -> tuple[str, tuple[EntityAnnotation, ...]]:
    """Strip Rasa entity markup from one example; return the plain text and the entities.

    >>> parse_annotations("send [50 euros](amount) to [savings](account:savings_account)")
    ('send 50 euros to savings', (EntityAnnotation(entity='amount', value='50 euros', start=5, end=13, role=None, group=None), EntityAnnotation(entity='account', value='savings_account', start=17, end=24, role=None, group=None)))
    """
    out: list[str] = []
    entities: list[EntityAnnotation] = []
    pos = 0
    length = 0
    for m in _ANNOTATION_RE.finditer(raw):
        before = raw[pos : m.start()]
        out.append(before)
        length += len(before)
        surface = m.group("text")
        start, end = length, length + len(surface)
        out.append(surface)
        length = end
        pos = m.end()
        role: str | None = None
        group: str | None = None
        if m.group("json") is not None:
            try:
                spec = json.loads(m.group("json"))
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"entity annotation {m.group('json')!r} is not valid JSON"
                ) from exc
            if not isinstance(spec, dict) or not isinstance(spec.get("entity"), str):
                raise ValueError('entity annotation JSON needs an "entity" string')
            entity = spec["entity"]
            value = str(spec.get("value", surface))
            role = str(spec["role"]) if "role" in spec else None
            group = str(spec["group"]) if "group" in spec else None
        else:
            entity, _, value = m.group("paren").partition(":")
            value = value or surface
        entity = entity.strip()
        if not _NAME_RE.match(entity):
            raise ValueError(f"entity name {entity!r} is not a valid name")
        entities.append(EntityAnnotation(entity, value, start, end, role, group))
    out.append(raw[pos:])
    return "".join(out), tuple(entities)


def load_nlu_yaml(path: str | Path) -> TrainingData:
    """Read a Rasa 3 ``nlu.yml`` file. Raises :class:`ConfigError` (file, line, field) when invalid.

    >>> data = load_nlu_yaml("examples/airline/nlu.yml")    # doctest: +SKIP
    >>> clf = IntentClassifier.train(data.intent_examples(), out_of_scope=data.out_of_scope)  # doctest: +SKIP
    """
    p = Path(path)
    where = str(p)
    try:
        source = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read NLU data ({exc.strerror})", path=where) from None
    except UnicodeDecodeError:
        raise ConfigError("NLU data is not valid UTF-8", path=where) from None
    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", path=where, line=line) from None
    except yaml.YAMLError:
        raise ConfigError("invalid YAML", path=where) from None
    return _Reader(where).read(root)


class _Reader:
    """Walks the composed YAML node tree, so every error can name the line it comes from."""

    def __init__(self, path: str) -> None:
        self.path = path

    def error(self, message: str, node: yaml.Node | None, field: str) -> ConfigError:
        line = node.start_mark.line + 1 if node is not None else None
        return ConfigError(message, path=self.path, line=line, field=field)

    def read(self, root: yaml.Node | None) -> TrainingData:
        data = TrainingData()
        if root is None:
            raise ConfigError(
                "file is empty; expected a mapping with an 'nlu' list", path=self.path
            )
        if not isinstance(root, yaml.MappingNode):
            raise self.error("expected a mapping with an 'nlu' list at the top level", root, "nlu")
        seen_nlu = False
        for key_node, value_node in root.value:
            key = key_node.value
            if key == "version":
                continue
            if key in _IGNORED_TOP_LEVEL:
                continue
            if key != "nlu":
                raise self.error(f"unknown top-level key {key!r}; expected 'nlu'", key_node, key)
            seen_nlu = True
            if isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "null", "~"):
                continue  # "nlu:" with nothing under it: an empty file in progress
            if not isinstance(value_node, yaml.SequenceNode):
                raise self.error("'nlu' must be a list of items", value_node, "nlu")
            for index, item in enumerate(value_node.value):
                self.read_item(item, f"nlu[{index}]", data)
        if not seen_nlu:
            raise self.error("missing the 'nlu' key", root, "nlu")
        return data

    def read_item(self, node: yaml.Node, field: str, data: TrainingData) -> None:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(
                "each 'nlu' item must be a mapping (intent/regex/lookup/synonym)", node, field
            )
        items = {k.value: (k, v) for k, v in node.value}
        for key, (key_node, _) in items.items():
            if key not in _ITEM_KEYS:
                raise self.error(
                    f"unknown key {key!r}; expected one of {', '.join(sorted(_ITEM_KEYS))}",
                    key_node,
                    f"{field}.{key}",
                )
        kinds = [k for k in _ITEM_KINDS if k in items]
        if len(kinds) != 1:
            raise self.error(
                "an item needs exactly one of intent, regex, lookup, synonym", node, field
            )
        kind = kinds[0]
        name_node = items[kind][1]
        name = self.scalar(name_node, f"{field}.{kind}")
        if not name or not _NAME_RE.match(name):
            raise self.error(
                f"{kind} name {name!r} is not a valid name", name_node, f"{field}.{kind}"
            )
        if "examples" not in items:
            raise self.error(f"{kind} {name!r} has no 'examples'", node, f"{field}.examples")
        examples_field = f"{field}.examples"
        entries = list(self.examples(items["examples"][1], examples_field))
        if not entries:
            raise self.error(
                f"{kind} {name!r} has no examples", items["examples"][1], examples_field
            )
        for text, line, sub in entries:
            if kind == "intent":
                try:
                    plain, entities = parse_annotations(text)
                except ValueError as exc:
                    raise ConfigError(str(exc), path=self.path, line=line, field=sub) from None
                data.examples.append(Example(plain.strip(), name, entities, line))
            elif kind == "regex":
                try:
                    re.compile(text)
                except re.error as exc:
                    raise ConfigError(
                        f"regex {name!r} does not compile: {exc.msg}",
                        path=self.path,
                        line=line,
                        field=sub,
                    ) from None
                data.regexes.append(RegexPattern(name, text))
            elif kind == "lookup":
                data.lookups.setdefault(name, []).append(text)
            else:
                data.synonyms[text.lower()] = name

    def scalar(self, node: yaml.Node, field: str) -> str:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error("expected a single value", node, field)
        return str(node.value).strip()

    def examples(self, node: yaml.Node, field: str) -> Iterator[tuple[str, int, str]]:
        """Yield ``(text, line, field)`` for each example, from a block string or a list."""
        if isinstance(node, yaml.ScalarNode):
            # A block scalar ("|") starts on the line after its indicator.
            first = node.start_mark.line + 1 + (1 if node.style in ("|", ">") else 0)
            index = 0
            for offset, raw in enumerate(str(node.value).splitlines()):
                stripped = raw.strip()
                if not stripped or stripped.startswith("#"):
                    continue
                sub = f"{field}[{index}]"
                if not stripped.startswith("- "):
                    raise ConfigError(
                        "each example must be a line starting with '- '",
                        path=self.path,
                        line=first + offset,
                        field=sub,
                    )
                text = stripped[2:].strip()
                if not text:
                    raise ConfigError(
                        "empty example", path=self.path, line=first + offset, field=sub
                    )
                yield text, first + offset, sub
                index += 1
        elif isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                sub = f"{field}[{index}]"
                if isinstance(child, yaml.MappingNode):
                    texts = [v for k, v in child.value if k.value == "text"]
                    if not texts:
                        raise self.error("a list example needs a 'text' key", child, sub)
                    child = texts[0]
                    sub += ".text"
                text = self.scalar(child, sub)
                if not text:
                    raise self.error("empty example", child, sub)
                yield text, child.start_mark.line + 1, sub
        else:
            raise self.error(
                "'examples' must be a block string of '- ' lines or a list", node, field
            )
