"""The console's pages as HTML strings: policy explain and diff, the activity report, the audit
trail and a conversation's transcript. The static files (``safebot policy explain --format
html``, ``safebot report``) and the served console render the same templates; only the
navigation differs (``nav``: who is signed in, which page, the sign-out form's token).

Nothing here reads raw text: the policy pages show the policy and the worked examples' own
sample values; the others show store rows that were redacted before they were written.

>>> html = diff_page(old_policy, new_policy)                 # doctest: +SKIP
>>> "LOOSENS" in html                                        # doctest: +SKIP
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from safebot.console.charts import columns
from safebot.console.templating import render
from safebot.redaction.policy import ALWAYS_DROPPED, DESTINATIONS, Policy
from safebot.redaction.report import Change, changes, recognizers, treatment_rank

if TYPE_CHECKING:  # pragma: no cover
    from safebot.console.activity import Activity
    from safebot.console.examples import WorkedExample

__all__ = ["Nav", "audit_page", "conversation_page", "diff_page", "explain_page", "login_page", "report_page"]

#: what each built-in entity type is, for a reader who does not know the acronym
WHAT = {
    "CREDIT_CARD": "A payment card number (PAN): 12 to 19 digits, Luhn-checked. In PCI DSS scope.",
    "CVV": "A card's security code (3 or 4 digits). Sensitive authentication data: never stored, never shown.",
    "PIN": "A card or account PIN. Never stored, never shown.",
    "IBAN_CODE": "An international bank account number, checked with mod-97.",
    "ABA_ROUTING_NUMBER": "A US bank routing (ABA) number: nine digits with a checksum.",
    "BANK_ACCOUNT": "A bank account number, recognised by the words around it.",
    "US_SSN": "A US Social Security number.",
    "US_ITIN": "A US Individual Taxpayer Identification Number.",
    "SWIFT_CODE": "A SWIFT/BIC bank identifier code.",
    "DATE_OF_BIRTH": "A date of birth (a date with a year near a birth word, or a day and month right after one).",
    "PERSON": "A person's name (name gazetteers and spaCy's named-entity model).",
    "EMAIL_ADDRESS": "An e-mail address.",
    "PHONE_NUMBER": "A phone number (libphonenumber, and numbers right after a phone word).",
    "ADDRESS": "A street address or postcode.",
    "LOCATION": "A place name: city, region or country.",
    "BOOKING_REFERENCE": "An airline booking reference (PNR, record locator): six letters and digits.",
    "TICKET_NUMBER": "An airline e-ticket number: 13 digits.",
    "PASSPORT": "A passport number, after a passport cue.",
    "PASSPORT_MRZ": "The machine-readable lines of a passport.",
    "FREQUENT_FLYER": "A frequent-flyer or loyalty number, after a programme's name.",
    "KNOWN_TRAVELER_NUMBER": "A US Known Traveler Number (TSA PreCheck, Global Entry).",
    "REDRESS_NUMBER": "A DHS redress control number.",
}

_LABELS = {"loosens": "Loosens", "tightens": "Tightens", "review": "Review"}


@dataclass(frozen=True)
class Nav:
    """The served console's header: who is signed in, the current page, the CSRF token."""

    viewer: str
    page: str
    csrf: str | None = None


# -- policy ------------------------------------------------------------------------------------


def explain_page(
    policy: Policy, examples: Mapping[str, WorkedExample], *, nav: Nav | None = None, source: str | None = None
) -> str:
    """Everything a reviewer needs to sign off a policy, as one page."""
    recs = recognizers(policy)
    entities = []
    for name in sorted(policy.entities):
        rule = policy.entities[name]
        entities.append({
            "name": name,
            "what": WHAT.get(name, "An entity type of this policy's own recognizers."),
            "description": rule.description,
            "threshold": policy.threshold(name),
            "treatments": {d: str(policy.treatment(name, d)) for d in DESTINATIONS},
            "recognizers": [r for r in recs if r.entity == name],
            "forced": name in ALWAYS_DROPPED,
        })
    return render(
        "explain.html", title=f"Policy {policy.name}", nav=nav, policy=policy, destinations=DESTINATIONS,
        entities=entities, recognizers=recs, examples=examples, source=source,
        footer=f"policy hash {policy.hash}",
    )


def _change_html(c: Change) -> Markup:
    # Markdown-ish `code` and **bold** in change texts, escaped first.
    text = str(escape(c.text))
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"`(.+?)`", r"<code>\1</code>", text).replace(" -&gt; ", " → ")
    return Markup(text)


def diff_page(
    old: Policy, new: Policy, *, nav: Nav | None = None, old_label: str = "before", new_label: str = "after",
    found: Sequence[Change] | None = None,
) -> str:
    """The changes from ``old`` to ``new``; loosening ones first, marked in word and style."""
    found = list(found if found is not None else changes(old, new))
    items = [{"effect": c.effect, "html": _change_html(c)} for c in found]
    groups = [
        ("loosens", "Loosens protection: needs sign-off", [i for i in items if i["effect"] == "loosens"]),
        ("tightens", "Tightens protection", [i for i in items if i["effect"] == "tightens"]),
        ("review", "Other changes to review", [i for i in items if i["effect"] == "review"]),
    ]
    touched = sorted({c.subject for c in found if c.subject in old.entities or c.subject in new.entities})
    table = []
    for entity in touched:
        cells = []
        for d in DESTINATIONS:
            before = str(old.treatment(entity, d)) if entity in old.entities else "not detected"
            after = str(new.treatment(entity, d)) if entity in new.entities else "not detected"
            effect = ""
            if before != after:
                if entity not in new.entities:
                    effect = "loosens"
                elif entity not in old.entities:
                    effect = "tightens"
                else:
                    weaker = treatment_rank(new.treatment(entity, d)) < treatment_rank(old.treatment(entity, d))
                    effect = "loosens" if weaker else "tightens"
            cells.append((before, after, effect))
        table.append((entity, cells))
    return render(
        "diff.html", title=f"Policy diff {old.name}", nav=nav, old=old, new=new, old_label=old_label,
        new_label=new_label, changes=found, loosening=[c for c in found if c.effect == "loosens"], groups=groups,
        labels=_LABELS, table=table, destinations=DESTINATIONS, footer=f"policy hashes {old.hash} -> {new.hash}",
    )


# -- report ------------------------------------------------------------------------------------


def _series(days: Sequence[str], per_key: Mapping[str, Mapping[str, int]]) -> dict[str, list[int]]:
    return {k: [v.get(d, 0) for d in days] for k, v in per_key.items()}


def _table(days: Sequence[str], per_key: Mapping[str, Mapping[str, int]]) -> dict[str, Any]:
    keys = sorted(per_key, key=lambda k: -sum(per_key[k].values()))
    rows = [(d, [per_key[k].get(d, 0) for k in keys]) for d in days if any(per_key[k].get(d, 0) for k in keys)]
    return {"names": keys, "rows": rows, "totals": [sum(per_key[k].values()) for k in keys]}


def report_page(activity: Activity, *, bot_name: str, nav: Nav | None = None, policy_hash: str | None = None) -> str:
    """The activity report: charts (inline SVG) with their numbers, and the tables."""
    days = activity.days
    charts: list[dict[str, Any]] = []

    def chart(ident: str, title: str, per_key: Mapping[str, Mapping[str, int]], section: str, stacked: bool = True) -> None:
        charts.append({
            "id": ident, "title": title, "section": section, "table": _table(days, per_key),
            "svg": columns(title, days, _series(days, per_key), ident=ident, stacked=stacked),
        })

    chart("chart-activity", "Conversations started and turns per day",
          {"turns": activity.turns, "conversations started": activity.conversations}, "activity", stacked=False)
    chart("chart-findings", "Findings per entity type per day", activity.findings, "findings")
    chart("chart-blocked", "Blocked messages per day, by reason", activity.blocked, "blocked")
    chart("chart-handoffs", "Hand-offs to an agent per day, by reason", activity.handoffs, "handoffs")
    chart("chart-near", "Near misses per day, by entity type", activity.near_miss_days, "near")
    notes = activity.notifications
    if notes is not None:
        chart("chart-deliveries", "Notification deliveries created per day, by state", notes.deliveries, "notifications")
        chart("chart-optouts", "Opt-outs and suppressions per day, by reason", notes.opt_outs, "notifications")
        consent = {f"given: {k}": v for k, v in notes.consent_given.items()}
        consent |= {f"withdrawn: {k}": v for k, v in notes.consent_withdrawn.items()}
        chart("chart-consent", "Consent given and withdrawn per day", consent, "notifications", stacked=False)
    by_section: dict[str, list[dict[str, Any]]] = {}
    for c in charts:
        by_section.setdefault(c["section"], []).append(c)
    blocked_totals = sorted(((r, sum(v.values())) for r, v in activity.blocked.items()), key=lambda x: -x[1])
    handoff_totals = sorted(((r, sum(v.values())) for r, v in activity.handoffs.items()), key=lambda x: -x[1])
    finding_totals = [(e, sum(v.values())) for e, v in activity.findings.items()]
    return render(
        "report.html", title=f"Activity report: {bot_name}", nav=nav, bot_name=bot_name, a=activity,
        totals=activity.totals, charts=by_section, blocked_totals=blocked_totals, handoff_totals=handoff_totals,
        finding_totals=finding_totals, policy_hash=policy_hash, period=activity.period.label(),
        footer=f"{bot_name}, {activity.period.label()}",
    )


# -- audit trail and conversations -------------------------------------------------------------


def audit_page(
    rows: Sequence[Mapping[str, Any]], *, filters: Mapping[str, str], choices: Mapping[str, Sequence[str]],
    page: int, more: bool, nav: Nav | None = None, error: str | None = None,
) -> str:
    return render(
        "audit.html", title="Audit trail", nav=nav, rows=rows, filters=filters, choices=choices, page=page,
        more=more, error=error, query=_query,
    )


def _query(filters: Mapping[str, str], **changes: object) -> str:
    from urllib.parse import urlencode

    params = {k: v for k, v in {**filters, **{k: str(v) for k, v in changes.items()}}.items() if v}
    return "?" + urlencode(params) if params else ""


def conversation_page(
    conversation: str, turns: Sequence[tuple[int, Sequence[Mapping[str, Any]]]], audit: Sequence[Mapping[str, Any]],
    *, nav: Nav | None = None,
) -> str:
    return render("conversation.html", title=f"Conversation {conversation[:14]}", nav=nav, conversation=conversation,
                  turns=turns, audit=audit)


def login_page(error: str | None = None) -> str:
    return render("login.html", title="Sign in", nav=None, error=error)
