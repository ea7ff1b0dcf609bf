"""YAML -> pydantic with line numbers.

PyYAML's composed node tree keeps the line of every key and value; we walk it alongside a
pydantic error's ``loc`` to point the reader at the offending line. A YAML syntax error is
reported with its own line. Error messages never quote the offending *value* (a policy or a
test case may hold customer-like data); they name the field and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from safebot.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

__all__ = ["load_yaml_model", "parse_yaml_model", "read_yaml"]


def read_yaml(path: str | Path) -> tuple[Any, yaml.Node | None]:
    """Read a YAML file, returning ``(data, node_tree)``. Raises ConfigError on bad YAML."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read file ({type(exc).__name__})", path=str(path)) from None
    return _parse(text, str(path))


#: libyaml's parser when PyYAML has it (about ten times faster; same nodes, marks and values)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str, where: str) -> tuple[Any, yaml.Node | None]:
    try:
        # Parsed once: the values are constructed from the node tree kept for line numbers.
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {exc.problem or 'syntax error'}", path=where, line=line) from None
    except yaml.YAMLError:
        raise ConfigError("invalid YAML", path=where) from None
    return data, node


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Best line for a pydantic ``loc`` path: the deepest node along it that exists."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    child = value
                    line = int(key.start_mark.line) + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
            line = int(child.start_mark.line) + 1
        if child is None:
            break
        node = child
    return line


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_yaml_model(model: type[M], data: Any, node: yaml.Node | None, where: str) -> M:
    """Validate already-parsed YAML ``data`` against ``model``; errors name file, line, field."""
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        # An unknown key is usually the cause of a 'missing' one (a typo): report it first.
        errors.sort(key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        # Pydantic adds union/validator tags to loc; keep only the parts that are real keys.
        loc = tuple(p for p in first["loc"] if isinstance(p, int) or not str(p).startswith("function-"))
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            msg = "unknown key"
        more = len(exc.errors()) - 1
        if more:
            msg += f" (and {more} more error{'s' if more > 1 else ''})"
        raise ConfigError(msg, path=where, line=line_of(node, loc), field=_field(loc)) from None


def load_yaml_model(model: type[M], path: str | Path) -> M:
    """Read ``path`` and validate it as ``model``.

    >>> from pydantic import BaseModel, ConfigDict
    >>> class Cfg(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     name: str
    >>> load_yaml_model(Cfg, "missing.yaml")
    Traceback (most recent call last):
    safebot.errors.ConfigError: missing.yaml: file not found
    """
    data, node = read_yaml(path)
    return parse_yaml_model(model, data, node, str(path))
