"""Recognizer packs: YAML files shipped as package data (``packs/*.yaml``), parsed with the
models in ``spec`` and built into Presidio recognizer objects.

>>> sorted(pack_entities("bank"))[:3]
['ABA_ROUTING_NUMBER', 'BANK_ACCOUNT', 'CREDIT_CARD']
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from safebot.config.yaml_models import line_of, read_yaml
from safebot.errors import ConfigError
from safebot.redaction.recognizers.spec import (
    CodeSpec,
    CueValueSpec,
    PackFile,
    PatternSpec,
    RecognizerSpec,
    SequenceSpec,
    parse_lengths,
    parse_yaml,
)
from safebot.redaction.recognizers.words import alternation, entries, expand

__all__ = [
    "PACK_NAMES",
    "LoadedPack",
    "build_recognizer",
    "expand_regex",
    "load_pack",
    "ner_labels",
    "pack_entities",
    "spec_problems",
]

#: the packs that ship with safebot (a policy's ``packs:`` names them)
PACK_NAMES = ("common", "bank", "airline")

_REF = re.compile(r"\$\{([a-z][a-z0-9_]*(?::[a-z][a-z0-9_]*)?)\}")


@dataclass(frozen=True)
class LoadedPack:
    spec: PackFile
    node: yaml.Node | None
    path: str

    def line(self, loc: tuple[str | int, ...]) -> int | None:
        return line_of(self.node, loc)


def _pack_path(name: str) -> Path:
    return Path(str(resources.files("safebot.redaction.recognizers").joinpath("packs", f"{name}.yaml")))


@cache
def load_pack(name: str) -> LoadedPack:
    """Pack ``name``, validated. ConfigError naming file, line and field if it is wrong."""
    if name not in PACK_NAMES:
        raise ConfigError(f"unknown pack {name!r}; expected one of {', '.join(PACK_NAMES)}")
    path = _pack_path(name)
    data, node = read_yaml(path)
    where = str(path)
    spec = parse_yaml(PackFile, data, node, where)
    pack = LoadedPack(spec, node, where)
    if spec.pack != name:
        raise ConfigError(f"the file declares pack {spec.pack!r}", path=where, line=pack.line(("pack",)), field="pack")
    defines = _defines_of(spec, where, node)
    for i, rec in enumerate(spec.recognizers):
        for loc, message in spec_problems(rec, defines):
            full = ("recognizers", i, *loc)
            raise ConfigError(message, path=where, line=pack.line(full), field=_field(full))
    return pack


def _field(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _defines_of(spec: PackFile, where: str, node: yaml.Node | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in spec.defines.items():
        try:
            out[key] = expand_regex(value, out)
        except ConfigError as exc:
            raise ConfigError(exc.reason, path=where, line=line_of(node, ("defines", key)), field=f"defines.{key}") from None
    return out


@lru_cache(maxsize=1)
def shipped_defines() -> Mapping[str, str]:
    """Every pack's ``defines``, for policies' own recognizers (names are unique across packs)."""
    out: dict[str, str] = {}
    for name in PACK_NAMES:
        pack = load_pack(name)
        for key, value in _defines_of(pack.spec, pack.path, pack.node).items():
            if key in out and out[key] != value:
                raise ConfigError(f"define {key!r} differs between packs", path=pack.path, field=f"defines.{key}")
            out[key] = value
    return out


def pack_defines(name: str) -> Mapping[str, str]:
    pack = load_pack(name)
    return _defines_of(pack.spec, pack.path, pack.node)


def expand_regex(text: str, defines: Mapping[str, str]) -> str:
    """``${name}`` -> a define, ``${words:list}`` -> an alternation of a word list."""

    def sub(m: re.Match[str]) -> str:
        ref = m.group(1)
        if ref.startswith("words:"):
            return alternation(entries(ref[6:]))
        if ref not in defines:
            raise ConfigError(f"unknown ${{{ref}}} (defines: {', '.join(sorted(defines)) or 'none'})")
        return f"(?:{defines[ref]})"

    return _REF.sub(sub, text)


def pack_entities(name: str) -> frozenset[str]:
    """Entity types pack ``name`` can find (its recognizers and its NER labels)."""
    spec = load_pack(name).spec
    found = {r.entity for r in spec.recognizers}
    if spec.ner is not None:
        found |= set(spec.ner.labels)
    return frozenset(found)


def ner_labels() -> tuple[int, dict[str, tuple[str, ...]]]:
    """(priority, entity -> spaCy labels) from the pack that declares ``ner`` (common)."""
    for name in PACK_NAMES:
        ner = load_pack(name).spec.ner
        if ner is not None:
            return ner.priority, {e: tuple(labels) for e, labels in ner.labels.items()}
    return 20, {}


# -- building ---------------------------------------------------------------------------------


def _compile_check(rx: str, flags: int = 0) -> str | None:
    import regex

    try:
        regex.compile(rx, flags)
    except regex.error as exc:
        return f"regex does not compile: {exc}"
    return None


def spec_problems(spec: RecognizerSpec, defines: Mapping[str, str]) -> list[tuple[tuple[str | int, ...], str]]:
    """What is wrong with one recognizer spec: (path inside the spec, message)."""
    from safebot.redaction.recognizers.coded import CODED
    from safebot.redaction.recognizers.validators import get_validator

    out: list[tuple[tuple[str | int, ...], str]] = []

    def regex_ok(loc: tuple[str | int, ...], rx: str) -> None:
        try:
            expanded = expand_regex(rx, defines)
        except ConfigError as exc:
            out.append((loc, exc.reason))
            return
        problem = _compile_check(expanded)
        if problem:
            out.append((loc, problem))

    def words_ok(loc: tuple[str | int, ...], items: Sequence[str]) -> None:
        try:
            expand(items)
        except ConfigError as exc:
            out.append((loc, exc.reason))

    for field in ("validator", "shape"):
        name = getattr(spec, field, None)
        if name:
            try:
                get_validator(name)
            except ConfigError as exc:
                out.append(((field,), exc.reason))
    for field in ("context", "negative_context", "reject_values", "filler", "deny_list"):
        items = getattr(spec, field, None)
        if items:
            words_ok((field,), items)
    for i, rx in enumerate(getattr(spec, "reject_patterns", ())):
        regex_ok(("reject_patterns", i), rx)
    if isinstance(spec, PatternSpec):
        for i, p in enumerate(spec.patterns):
            regex_ok(("patterns", i, "regex"), p.regex)
    elif isinstance(spec, SequenceSpec):
        regex_ok(("run",), spec.run)
        regex_ok(("unit",), spec.unit)
        for field in ("value_scores", "text_scores"):
            for i, rule in enumerate(getattr(spec, field)):
                regex_ok((field, i, "regex"), rule.regex)
    elif isinstance(spec, CueValueSpec):
        for i, rx in enumerate(spec.cues):
            regex_ok(("cues", i), rx)
    elif isinstance(spec, CodeSpec) and spec.code not in CODED:
        out.append((("code",), f"no recognizer called {spec.code!r} (known: {', '.join(sorted(CODED))})"))
    return out


def _reject(spec: Any, defines: Mapping[str, str]) -> Callable[[str], bool] | None:
    from safebot.redaction.recognizers.budget import IGNORECASE, compile_rx

    values = frozenset(v.upper() for v in expand(getattr(spec, "reject_values", ())))
    patterns = [compile_rx(expand_regex(p, defines), IGNORECASE) for p in getattr(spec, "reject_patterns", ())]
    if not values and not patterns:
        return None

    def reject(value: str) -> bool:
        return value.upper() in values or any(p.fullmatch(value) for p in patterns)

    return reject


def build_recognizer(spec: RecognizerSpec, defines: Mapping[str, str]) -> Any:
    """A fresh Presidio recognizer object for ``spec``."""
    rec = _build(spec, defines)
    needs = [w.lower() for w in expand(spec.needs_any)]
    if not needs and getattr(spec, "requires_context", False):
        # reported only near a context word: the message must contain one (its first word will do)
        needs = [w.lower().split()[0] for w in expand(spec.context) if w.strip()]
    rec.needs_any = tuple(sorted(set(needs)))
    return rec


def _build(spec: RecognizerSpec, defines: Mapping[str, str]) -> Any:
    from safebot.redaction.recognizers.budget import IGNORECASE, compile_rx
    from safebot.redaction.recognizers.coded import coded_class
    from safebot.redaction.recognizers.engines.base import Context
    from safebot.redaction.recognizers.engines.cue_value import SafebotCueValueRecognizer
    from safebot.redaction.recognizers.engines.pattern import SafebotPatternRecognizer
    from safebot.redaction.recognizers.engines.sequence import SafebotSequenceRecognizer
    from safebot.redaction.recognizers.validators import get_validator

    validator_name = getattr(spec, "validator", None)
    validator = get_validator(validator_name) if validator_name else None
    reject = _reject(spec, defines)
    if isinstance(spec, PatternSpec):
        return SafebotPatternRecognizer(
            spec.entity, spec.name,
            patterns=[(p.name, expand_regex(p.regex, defines), p.score if p.score is not None else spec.score)
                      for p in spec.patterns],
            context=Context(spec.context, spec.negative_context),
            case_sensitive=spec.case_sensitive, validator=validator, invalid_score=spec.invalid_score,
            reject=reject, shape=get_validator(spec.shape) if spec.shape else None,
            requires_context=spec.requires_context, deny_list=expand(spec.deny_list),
            deny_list_score=spec.score, min_digits=spec.min_digits, priority=spec.priority,
        )
    if isinstance(spec, SequenceSpec):
        return SafebotSequenceRecognizer(
            spec.entity, spec.name,
            run=expand_regex(spec.run, defines), unit=expand_regex(spec.unit, defines),
            lengths=parse_lengths(spec.lengths), score=spec.score, invalid_score=spec.invalid_score,
            invalid_needs_cue=spec.invalid_needs_cue, invalid_min_digits=spec.invalid_min_digits,
            validator=validator, shape=get_validator(spec.shape) if spec.shape else None, reject=reject,
            value_scores=[(compile_rx(expand_regex(r.regex, defines), IGNORECASE), r.score) for r in spec.value_scores],
            text_scores=[(compile_rx(expand_regex(r.regex, defines), IGNORECASE), r.score) for r in spec.text_scores],
            context=Context(spec.context, spec.negative_context), requires_context=spec.requires_context,
            min_digits=spec.min_digits, priority=spec.priority,
        )
    if isinstance(spec, CueValueSpec):
        return SafebotCueValueRecognizer(
            spec.entity, spec.name,
            cues=[expand_regex(c, defines) for c in spec.cues], lengths=parse_lengths(spec.lengths),
            score=spec.score, invalid_score=spec.invalid_score, digits_only=spec.digits_only,
            need_digit=spec.need_digit, validator=validator, reject=reject, letter_groups=spec.letter_groups,
            filler=spec.filler, max_filler=spec.max_filler, min_digits=spec.min_digits, priority=spec.priority,
        )
    cls = coded_class(spec.code)
    kwargs: dict[str, Any] = dict(spec.options)
    if spec.context or spec.negative_context:
        kwargs["context"] = Context(spec.context, spec.negative_context)
    if spec.min_digits:
        kwargs["min_digits"] = spec.min_digits
    try:
        return cls(spec.entity, spec.name, priority=spec.priority, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"recognizer {spec.name!r}: bad options for code {spec.code!r} ({exc})") from None
