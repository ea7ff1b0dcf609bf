"""Compliance golden cases: ``policy_cases.yaml`` run against a policy.

Each case gives a customer message, what must be redacted (entity types, or literal values
that must not appear for any destination) and what must be kept (values that must appear
verbatim in the transcript). The report names failing cases by name and never prints the
planted values or the message text, so it can be pasted into a ticket.

A ``must_redact`` entry written like an entity type (``CREDIT_CARD``; capitals, digits and
underscores) is one; a name the policy cannot report fails the run with file, line and name
(``CREDITCARD`` is a typo, not a value that is indeed absent). An all-capitals value that is
not a type ('WATSON') is taken as a value unless it looks like one (an underscore, or close
to a known type name); write ``{value: CREDITCARD}`` to mean the literal.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from safebot.config.yaml_models import line_of, parse_yaml_model, read_yaml
from safebot.errors import ConfigError
from safebot.redaction.leaks import leaked
from safebot.redaction.policy import DESTINATIONS, Destination

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.redactor import Redactor

__all__ = ["Case", "CaseFile", "CaseResult", "LiteralValue", "check_entity_types", "load_cases", "run_cases"]

_TYPE_LIKE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")


class LiteralValue(BaseModel):
    """A ``must_redact`` entry written ``{value: ...}``: always a value, never an entity type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    text: str
    #: entity types, or values that must not survive (``{value: X}`` is always a value)
    must_redact: list[str | LiteralValue] = Field(default_factory=list)
    must_keep: list[str] = Field(default_factory=list)
    destination: Destination | None = None

    def redact_items(self) -> list[tuple[str, bool]]:
        """``(item, literal)`` for each ``must_redact`` entry."""
        return [(i.value, True) if isinstance(i, LiteralValue) else (i, False) for i in self.must_redact]


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cases: list[Case]
    _path: str = PrivateAttr(default="")
    _node: Any = PrivateAttr(default=None)


@dataclass(frozen=True)
class CaseResult:
    index: int
    name: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def load_cases(path: str | Path) -> CaseFile:
    """Load a cases file; errors name file, line and field."""
    data, node = read_yaml(path)
    cases = parse_yaml_model(CaseFile, data, node, str(path))
    cases._path, cases._node = str(path), node
    return cases


def _is_type_ref(item: str, known: set[str]) -> bool:
    """Is this ``must_redact`` entry meant as an entity type?"""
    if item in known or item in _all_types():
        return True
    if not _TYPE_LIKE.match(item):
        return False
    # 'WATSON', 'XKQPZT' are values; 'CREDITCARD', 'US_SSM', 'BANK_ACCT' are mistyped types.
    return "_" in item or bool(difflib.get_close_matches(item, sorted(known), n=1, cutoff=0.8))


def _all_types() -> frozenset[str]:
    """Every entity type a shipped pack can report (a policy may report fewer)."""
    from safebot.redaction.recognizers.packs import PACK_NAMES, pack_entities

    return frozenset().union(*(pack_entities(p) for p in PACK_NAMES))


def check_entity_types(cases: CaseFile, known: set[str]) -> None:
    """ConfigError (file, line, name) for the first ``must_redact`` type the policy cannot report."""
    node = cases._node if isinstance(cases._node, yaml.Node) else None
    for i, case in enumerate(cases.cases):
        for j, (item, literal) in enumerate(case.redact_items()):
            if literal or item in known or not _is_type_ref(item, known):
                continue
            close = difflib.get_close_matches(item, sorted(known), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(
                f"unknown entity type {item!r}{hint}; the policy reports: {', '.join(sorted(known))}. "
                "Write {value: ...} for a literal value.",
                path=cases._path or None, line=line_of(node, ("cases", i, "must_redact", j)),
                field=f"cases[{i}].must_redact[{j}]",
            )


def _survives(value: str, output: str) -> bool:
    # '4111 1111 1111 1111' planted, '4111-1111-1111-1111' or '4111111111111111' leaked
    return leaked(value, output)


def run_case(redactor: Redactor, case: Case, index: int, known_types: set[str]) -> CaseResult:
    analysis = redactor.analyze(case.text)
    destinations: tuple[Destination, ...] = (case.destination,) if case.destination else DESTINATIONS
    outputs = {d: redactor.render(analysis, d).text for d in destinations}
    found = set(analysis.entity_types)
    problems: list[str] = []
    if analysis.blocked:
        problems.append(f"detection failed ({analysis.reason})")
    for i, (item, literal) in enumerate(case.redact_items()):
        if item in known_types and not literal:
            if item not in found:
                problems.append(f"must_redact[{i}]: no {item} found (found: {', '.join(sorted(found)) or 'nothing'})")
            continue
        leaked = [d for d, out in outputs.items() if _survives(item, out)]
        if leaked:
            problems.append(f"must_redact[{i}]: value survives in {', '.join(leaked)}")
    keep_in = outputs.get("transcript") or next(iter(outputs.values()))
    for i, item in enumerate(case.must_keep):
        if item not in keep_in:
            problems.append(f"must_keep[{i}]: value was changed or removed")
    return CaseResult(index, case.name or f"case {index}", tuple(problems))


def run_cases(redactor: Redactor, cases: CaseFile) -> list[CaseResult]:
    """Run every case; never raises for a failing case. An unknown entity type in the file is
    a ConfigError (the file is wrong, not the policy)."""
    known = set(redactor.policy.known_entities()) | set(redactor.policy.entities)
    check_entity_types(cases, known)
    return [run_case(redactor, case, i, known) for i, case in enumerate(cases.cases)]
