"""Readable reports on a policy for the compliance team: ``explain`` and ``diff``.

Both are Markdown: they paste into a ticket or a pull request as they are.

>>> from safebot.redaction.policy import policy_from_dict
>>> p = policy_from_dict({"name": "p", "packs": ["bank"], "entities": {"CVV": {}}})
>>> "| CVV | drop | drop | drop | drop | drop |" in explain(p)
True
"""

from __future__ import annotations

from safebot.redaction.policy import DESTINATIONS, Policy

__all__ = ["diff", "explain", "treatment_table"]


def treatment_table(policy: Policy) -> dict[str, dict[str, str]]:
    """entity -> destination -> treatment, PCI rules applied (what the redactor will do)."""
    return {e: {d: str(policy.treatment(e, d)) for d in DESTINATIONS} for e in sorted(policy.entities)}


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
        lines.append(f"| {entity} | {policy.threshold(entity)} | {rule.description} |")
    if policy.recognizers:
        lines += ["", "## Custom recognizers", "", "| name | entity | patterns | context | checksum |", "|---|---|---|---|---|"]
        for r in policy.recognizers:
            patterns = "<br>".join(f"`{p.regex}` ({p.score})" for p in r.patterns)
            lines.append(f"| {r.name} | {r.entity} | {patterns} | {', '.join(r.context)} | {r.checksum or ''} |")
    return "\n".join(lines) + "\n"


def diff(old: Policy, new: Policy) -> str:
    """What changes for each destination between two versions of a policy."""
    before, after = treatment_table(old), treatment_table(new)
    out = [f"# Policy diff: {old.name} {old.version} (`{old.hash}`) -> {new.name} {new.version} (`{new.hash}`)", ""]
    changes: list[str] = []
    for entity in sorted(set(before) | set(after)):
        if entity not in before:
            changes.append(f"- **{entity}** is now detected: " + ", ".join(f"{d} {after[entity][d]}" for d in DESTINATIONS))
        elif entity not in after:
            changes.append(f"- **{entity}** is no longer detected (it will pass through unredacted)")
        else:
            for d in DESTINATIONS:
                if before[entity][d] != after[entity][d]:
                    changes.append(f"- {entity} / {d}: {before[entity][d]} -> {after[entity][d]}")
            if old.threshold(entity) != new.threshold(entity):
                changes.append(f"- {entity} threshold: {old.threshold(entity)} -> {new.threshold(entity)}")
    for label, a, b in (
        ("recognizer packs", ", ".join(old.packs), ", ".join(new.packs)),
        ("spaCy pipeline", old.nlp.model, new.nlp.model),
        ("time budget (ms)", str(old.time_budget_ms), str(new.time_budget_ms)),
        ("allow-listed values", str(len(old.allow_list)), str(len(new.allow_list))),
        ("custom recognizers", ", ".join(r.name for r in old.recognizers), ", ".join(r.name for r in new.recognizers)),
    ):
        if a != b:
            changes.append(f"- {label}: {a or '(none)'} -> {b or '(none)'}")
    out += changes or ["No change in what is detected or in what any destination sees."]
    return "\n".join(out) + "\n"
