"""Compliance golden cases: ``policy_cases.yaml`` run against a policy.

Each case gives a customer message, what must be redacted (entity types, or literal values
that must not appear for any destination) and what must be kept (values that must appear
verbatim in the transcript). The report names failing cases by name and never prints the
planted values or the message text, so it can be pasted into a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from safebot.config.yaml_models import load_yaml_model
from safebot.redaction.policy import DESTINATIONS, Destination
from safebot.redaction.treatments import canonical_value

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.redactor import Redactor

__all__ = ["Case", "CaseFile", "CaseResult", "load_cases", "run_cases"]


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    text: str
    must_redact: list[str] = Field(default_factory=list)
    must_keep: list[str] = Field(default_factory=list)
    destination: Destination | None = None


class CaseFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cases: list[Case]


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
    return load_yaml_model(CaseFile, path)


def _survives(value: str, output: str) -> bool:
    if value in output:
        return True
    # '4111 1111 1111 1111' planted, '4111-1111-1111-1111' or '4111111111111111' leaked
    canon = canonical_value(value)
    return len(canon) >= 4 and canon in canonical_value(output) and not value.isalpha()


def run_case(redactor: Redactor, case: Case, index: int, known_types: set[str]) -> CaseResult:
    analysis = redactor.analyze(case.text)
    destinations: tuple[Destination, ...] = (case.destination,) if case.destination else DESTINATIONS
    outputs = {d: redactor.render(analysis, d).text for d in destinations}
    found = {d.entity_type for d in analysis.detections}
    problems: list[str] = []
    if analysis.blocked:
        problems.append(f"detection failed ({analysis.reason})")
    for i, item in enumerate(case.must_redact):
        if item in known_types:
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
    """Run every case; never raises for a failing case."""
    from safebot.redaction.recognizers import NER_ENTITIES, PACK_ENTITIES

    known = set(NER_ENTITIES).union(*PACK_ENTITIES.values()) | set(redactor.policy.entities)
    return [run_case(redactor, case, i, known) for i, case in enumerate(cases.cases)]
