"""What a policy does, and what a change to it does, as data and as Markdown.

The compliance console (``safebot.console``) renders the same data as HTML; the Markdown here
pastes into a ticket or a pull request as it is.

* :func:`recognizers` every recognizer a policy runs, by name, with its patterns, cues,
  context words and validator (the packs are data: this reads them, it does not build them);
* :func:`changes` every difference between two versions, each marked ``loosens``,
  ``tightens`` or ``review``; :func:`loosens` says whether any change loosens protection
  (an entity removed, a treatment weakened, a threshold raised, an allow-list entry added,
  a pack, recognizer or NER label dropped), which ``safebot policy diff`` turns into its exit
  status so that CI can require a sign-off;
* :func:`explain` and :func:`diff` the Markdown pages.

>>> from safebot.redaction.policy import policy_from_dict
>>> p = policy_from_dict({"name": "p", "packs": ["bank"], "entities": {"CVV": {}}})
>>> "| CVV | drop | drop | drop | drop | drop |" in explain(p)
True
>>> q = policy_from_dict({"name": "p", "packs": ["bank"], "entities": {"CVV": {}}, "allow_list": ["ACME"]})
>>> [(c.effect, c.subject) for c in changes(p, q)]
[('loosens', 'allow-list')]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from safebot.errors import ConfigError
from safebot.redaction.policy import DESTINATIONS, Policy, Treatment

__all__ = [
    "Change",
    "RecognizerInfo",
    "changes",
    "diff",
    "explain",
    "loosens",
    "recognizers",
    "treatment_rank",
    "treatment_table",
]

Effect = Literal["loosens", "tightens", "review"]


def treatment_table(policy: Policy) -> dict[str, dict[str, str]]:
    """entity -> destination -> treatment, PCI rules applied (what the redactor will do)."""
    return {e: {d: str(policy.treatment(e, d)) for d in DESTINATIONS} for e in sorted(policy.entities)}


# -- recognizers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecognizerInfo:
    """One recognizer as a reviewer reads it. Regexes are shown as the pack writes them
    (``${name}`` is one of the pack's ``defines``, ``@name`` a shipped word list)."""

    name: str
    entity: str
    #: pattern, sequence, cue_value, code, ner, presidio-yaml, presidio-class
    engine: str
    #: 'pack:bank', 'policy', 'presidio-yaml:<file>', 'class:<path>', 'spaCy'
    source: str
    priority: int | None = None
    score: float | None = None
    invalid_score: float | None = None
    description: str = ""
    #: (name, regex, score) per pattern; a cue_value recognizer's cues; a sequence's run
    patterns: tuple[tuple[str, str, float | None], ...] = ()
    context: tuple[str, ...] = ()
    negative_context: tuple[str, ...] = ()
    requires_context: bool = False
    validator: str | None = None
    shape: str | None = None
    lengths: str | None = None
    code: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    @property
    def how(self) -> str:
        """One line: how this recognizer decides."""
        parts: list[str] = []
        if self.engine == "sequence":
            parts.append(f"digit or character groups with separators, lengths {self.lengths}")
        elif self.engine == "cue_value":
            parts.append(f"a value of length {self.lengths} right after a cue phrase")
        elif self.engine == "pattern":
            parts.append(f"{len(self.patterns)} regex pattern{'s' if len(self.patterns) != 1 else ''}")
        elif self.engine == "code":
            parts.append(f"safebot's '{self.code}' recognizer (Python)")
        elif self.engine == "ner":
            parts.append("spaCy's statistical named-entity model")
        else:
            parts.append("a Presidio recognizer")
        if self.validator:
            parts.append(f"checked by '{self.validator}' (a failing value scores {self.invalid_score})")
        if self.shape:
            parts.append(f"must have the shape '{self.shape}'")
        if self.requires_context:
            parts.append("only next to a context word")
        return "; ".join(parts)


def _words(items: Iterable[str]) -> tuple[str, ...]:
    from safebot.redaction.recognizers.words import entries

    out: list[str] = []
    for item in items:
        if item.startswith("@") and len(item) > 1:
            try:
                count = len(entries(item[1:]))
            except ConfigError:  # the pack loader reports a missing list; here it is only counted
                count = 0
            out.append(f"{item} (word list, {count} entries)")
        else:
            out.append(item)
    return tuple(out)


def _lengths(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _from_spec(spec: Any, source: str) -> RecognizerInfo:
    engine = str(getattr(spec, "engine", "pattern"))
    patterns: list[tuple[str, str, float | None]] = []
    if engine == "pattern":
        patterns = [(p.name, p.regex, p.score if p.score is not None else spec.score) for p in spec.patterns]
        if spec.deny_list:
            patterns.append(("deny list", ", ".join(_words(spec.deny_list)), spec.score))
    elif engine == "sequence":
        patterns = [("candidate run", spec.run, spec.score), ("groups", spec.unit, None)]
        patterns += [(f"valid value matching (score {r.score})", r.regex, r.score) for r in spec.value_scores]
        patterns += [(f"as written (score {r.score})", r.regex, r.score) for r in spec.text_scores]
    elif engine == "cue_value":
        patterns = [(f"cue {i + 1}", cue, spec.score) for i, cue in enumerate(spec.cues)]
    options = tuple((str(k), str(v)) for k, v in sorted(getattr(spec, "options", {}).items()))
    return RecognizerInfo(
        name=spec.name, entity=spec.entity, engine=engine, source=source, priority=spec.priority,
        score=getattr(spec, "score", None), invalid_score=getattr(spec, "invalid_score", None),
        description=spec.description, patterns=tuple(patterns), context=_words(getattr(spec, "context", ())),
        negative_context=_words(getattr(spec, "negative_context", ())),
        requires_context=bool(getattr(spec, "requires_context", False)),
        validator=getattr(spec, "validator", None), shape=getattr(spec, "shape", None),
        lengths=_lengths(spec.lengths) if hasattr(spec, "lengths") else None,
        code=getattr(spec, "code", None), options=options,
    )


def _presidio_yaml(policy: Policy, rel: str, wanted: set[str]) -> list[RecognizerInfo]:
    try:
        data = yaml.safe_load((policy.base_dir / rel).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []  # load_policy has already refused such a file
    out = []
    for item in data.get("recognizers") or []:
        if not isinstance(item, dict):
            continue
        entity = item.get("supported_entity") or (item.get("supported_entities") or [None])[0]
        if entity not in wanted:
            continue
        patterns = tuple(
            (str(p.get("name", "")), str(p.get("regex", "")), p.get("score"))
            for p in item.get("patterns") or [] if isinstance(p, dict)
        )
        out.append(RecognizerInfo(
            name=str(item.get("name", "presidio")), entity=str(entity), engine="presidio-yaml",
            source=f"presidio-yaml:{rel}", priority=policy.presidio.priority, patterns=patterns,
            context=tuple(str(w) for w in item.get("context") or []),
        ))
    return out


def recognizers(policy: Policy) -> list[RecognizerInfo]:
    """Every recognizer the policy runs for its entities, in the order the detector runs them,
    then spaCy's NER labels (when NER is on)."""
    from safebot.redaction.recognizers.packs import load_pack, ner_labels

    wanted = set(policy.entities)
    out: list[RecognizerInfo] = []
    for pack in policy.packs:
        out += [_from_spec(s, f"pack:{pack}") for s in load_pack(pack).spec.recognizers if s.entity in wanted]
    out += [_from_spec(s, "policy") for s in policy.recognizers if s.entity in wanted]
    for rel in policy.presidio.yaml:
        out += _presidio_yaml(policy, rel, wanted)
    for cls in policy.presidio.classes:
        for entity in cls.entities:
            if entity in wanted:
                out.append(RecognizerInfo(
                    name=cls.class_.rpartition(":")[2].rpartition(".")[2] or cls.class_, entity=entity,
                    engine="presidio-class", source=f"class:{cls.class_}",
                    priority=cls.priority if cls.priority is not None else policy.presidio.priority,
                    options=tuple((str(k), str(v)) for k, v in sorted(cls.kwargs.items())),
                ))
    if policy.nlp.ner:
        priority, labels = ner_labels()
        for entity, entity_labels in sorted(labels.items()):
            kept = [label for label in entity_labels if label not in policy.nlp.labels_to_ignore]
            if entity in wanted and kept:
                out.append(RecognizerInfo(
                    name=f"spacy.ner ({', '.join(kept)})", entity=entity, engine="ner", source="spaCy",
                    priority=priority, score=policy.nlp.ner_min_score,
                    description=f"{policy.nlp.model}: spans labelled {', '.join(kept)}",
                ))
    return out


# -- changes ----------------------------------------------------------------------------------

#: stronger first: what the destination can learn of the value (drop: nothing; encrypt: a
#: placeholder, but the value is kept in the vault; hash: a joinable token; mask: its tail)
_RANK = {"drop": 5, "placeholder": 4, "encrypt": 3, "hash": 2, "mask": 1}


def treatment_rank(t: Treatment) -> tuple[int, int]:
    """Order treatments by protection: higher is stronger (a mask keeping fewer characters is
    stronger than one keeping more)."""
    return _RANK[t.action], -t.keep_last if t.action == "mask" else 0


@dataclass(frozen=True)
class Change:
    """One difference between two policies."""

    effect: Effect
    #: what changed: an entity name, 'allow-list', 'packs', 'recognizer', 'NER', ...
    subject: str
    text: str
    destination: str | None = None
    before: str = ""
    after: str = ""


def _cmp(effect_if_up: Effect, a: float, b: float) -> Effect:
    if a == b:
        return "review"
    opposite: Effect = "tightens" if effect_if_up == "loosens" else "loosens"
    return effect_if_up if b > a else opposite


def changes(old: Policy, new: Policy) -> list[Change]:
    """Every change from ``old`` to ``new``; loosening ones first."""
    out: list[Change] = []
    before, after = treatment_table(old), treatment_table(new)
    for entity in sorted(set(before) | set(after)):
        if entity not in after:
            out.append(Change("loosens", entity, f"**{entity}** is no longer detected (it will pass through unredacted)"))
            continue
        if entity not in before:
            seen = ", ".join(f"{d} {after[entity][d]}" for d in DESTINATIONS)
            out.append(Change("tightens", entity, f"**{entity}** is now detected: {seen}"))
            continue
        for d in DESTINATIONS:
            a, b = old.treatment(entity, d), new.treatment(entity, d)
            if str(a) != str(b):
                effect: Effect = "loosens" if treatment_rank(b) < treatment_rank(a) else "tightens"
                out.append(Change(effect, entity, f"{entity} / {d}: {a} -> {b}", d, str(a), str(b)))
        ta, tb = old.threshold(entity), new.threshold(entity)
        if ta != tb:
            # A higher minimum score lets more borderline values through unredacted.
            out.append(Change(_cmp("loosens", ta, tb), entity, f"{entity} threshold: {ta} -> {tb}", None, str(ta), str(tb)))
    old_allow, new_allow = set(old.allow_list), set(new.allow_list)
    for entry in new.allow_list:
        if entry not in old_allow:
            out.append(Change("loosens", "allow-list", f"allow-list entry added (never redacted): `{entry}`", after=entry))
    for entry in old.allow_list:
        if entry not in new_allow:
            out.append(Change("tightens", "allow-list", f"allow-list entry removed: `{entry}`", before=entry))
    out += _set_changes("packs", "recognizer pack", old.packs, new.packs)
    out += _set_changes("recognizer", "custom recognizer", [r.name for r in old.recognizers], [r.name for r in new.recognizers])
    old_specs = {r.name: r for r in old.recognizers}
    for r in new.recognizers:
        if r.name in old_specs and old_specs[r.name] != r:
            out.append(Change("review", "recognizer", f"custom recognizer {r.name} changed (patterns, context or scores): review it"))
    out += _set_changes("presidio", "Presidio recognizer file", old.presidio.yaml, new.presidio.yaml)
    out += _set_changes("presidio", "Presidio recognizer class", [c.class_ for c in old.presidio.classes],
                        [c.class_ for c in new.presidio.classes])
    out += _ner_changes(old, new)
    if old.time_budget_ms != new.time_budget_ms:
        out.append(Change("review", "time budget", f"time budget (ms): {old.time_budget_ms} -> {new.time_budget_ms} "
                          "(either way an overrun blocks the message)", before=str(old.time_budget_ms), after=str(new.time_budget_ms)))
    rank = {"loosens": 0, "tightens": 1, "review": 2}
    return sorted(out, key=lambda c: rank[c.effect])


def _set_changes(subject: str, label: str, old: Sequence[str], new: Sequence[str]) -> list[Change]:
    out = [Change("loosens", subject, f"{label} removed: {x}", before=x) for x in old if x not in new]
    out += [Change("tightens", subject, f"{label} added: {x}", after=x) for x in new if x not in old]
    return out


def _ner_changes(old: Policy, new: Policy) -> list[Change]:
    a, b = old.nlp, new.nlp
    out: list[Change] = []
    if a.ner != b.ner:
        effect: Effect = "loosens" if a.ner and not b.ner else "tightens"
        out.append(Change(effect, "NER", f"spaCy NER: {'on' if a.ner else 'off'} -> {'on' if b.ner else 'off'}"))
    if a.model != b.model:
        out.append(Change("review", "NER", f"spaCy pipeline: {a.model} -> {b.model} (measure it: docs/models.md)"))
    if a.ner_min_score != b.ner_min_score:
        out.append(Change(_cmp("loosens", a.ner_min_score, b.ner_min_score), "NER",
                          f"NER minimum score: {a.ner_min_score} -> {b.ner_min_score}"))
    ignored_a, ignored_b = set(a.labels_to_ignore), set(b.labels_to_ignore)
    for label in sorted(ignored_b - ignored_a):
        out.append(Change("loosens", "NER", f"spaCy label {label} now ignored"))
    for label in sorted(ignored_a - ignored_b):
        out.append(Change("tightens", "NER", f"spaCy label {label} no longer ignored"))
    return out


def loosens(found: Iterable[Change]) -> bool:
    """True when any change loosens protection (``policy diff`` then exits non-zero)."""
    return any(c.effect == "loosens" for c in found)


# -- Markdown ---------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def explain(policy: Policy) -> str:
    """The whole policy as a reviewer reads it: what is detected, by what, and who sees what."""
    lines = [
        f"# Redaction policy: {policy.name} (version {policy.version})",
        "",
        policy.description or "",
        "",
        f"- policy hash (in every audit record): `{policy.hash}`",
        f"- recognizer packs: {', '.join(policy.packs)}; spaCy pipeline `{policy.nlp.model}` "
        f"(NER {'on' if policy.nlp.ner else 'off'})",
        f"- default score threshold: {policy.score_threshold}; detection time budget: "
        f"{policy.time_budget_ms} ms (over budget or on error the whole message is blocked)",
        f"- allow-listed values (never redacted): {len(policy.allow_list)}",
        "",
        "## Treatment per destination",
        "",
        "| entity | " + " | ".join(DESTINATIONS) + " |",
        "|---|" + "---|" * len(DESTINATIONS),
    ]
    for entity, row in treatment_table(policy).items():
        lines.append(f"| {entity} | " + " | ".join(row[d] for d in DESTINATIONS) + " |")
    lines += [
        "",
        "Treatments: `placeholder` <TYPE_n>; `mask (last N)` ****1234; `hash` keyed HMAC token "
        "(key from SAFEBOT_HMAC_KEY, never in this file); `encrypt` placeholder, value kept "
        "encrypted in the conversation's vault; `drop` removed. CVV and PIN are always dropped "
        "and a card is never shown beyond its last four digits (PCI DSS), whatever the file says.",
        "",
        "## Entities",
        "",
        "| entity | threshold | note |",
        "|---|---|---|",
    ]
    for entity in sorted(policy.entities):
        rule = policy.entities[entity]
        lines.append(f"| {entity} | {policy.threshold(entity)} | {_md(rule.description)} |")
    lines += ["", "## Allow-list", ""]
    lines += [f"- `{entry}`" for entry in policy.allow_list] or ["(empty)"]
    lines += ["", "## Recognizers", "", "| name | entity | source | how | context |", "|---|---|---|---|---|"]
    for r in recognizers(policy):
        lines.append(f"| {r.name} | {r.entity} | {r.source} | {_md(r.how)} | {_md(', '.join(r.context))} |")
    return "\n".join(lines) + "\n"


def diff(old: Policy, new: Policy) -> str:
    """What changes for each destination between two versions of a policy; loosening first."""
    found = changes(old, new)
    out = [f"# Policy diff: {old.name} {old.version} (`{old.hash}`) -> {new.name} {new.version} (`{new.hash}`)", ""]
    if not found:
        return "\n".join([*out, "No change in what is detected or in what any destination sees."]) + "\n"
    titles = {
        "loosens": "## Loosens protection (needs sign-off)",
        "tightens": "## Tightens protection",
        "review": "## Other changes (review)",
    }
    for effect in ("loosens", "tightens", "review"):
        group = [c for c in found if c.effect == effect]
        if group:
            out += [titles[effect], ""] + [f"- {c.text}" for c in group] + [""]
    return "\n".join(out).rstrip("\n") + "\n"
