"""The activity report's numbers, from the store alone: counts grouped by day and by kind.

Every figure is an aggregate over columns that hold no customer text: times, event kinds,
entity types, recognizer names, scores, handler names, reasons, and the notification tables'
states and purposes. No query here selects ``transcript.text``, a vault or a payload column.

Days are the first ten characters of the stored ISO-8601 UTC times, so the grouping is the
same on SQLite and PostgreSQL and needs no date functions.

The counts of the transcript and audit tables come as :data:`Counts` (``(kind, day, a, b, c)
-> n``), which add up: :func:`scan` counts a range of row ids, so the console can keep the
counts of old rows (``rollup``) and scan only the new ones. Notification rows change state,
so they are always read whole.

>>> period = Period.parse("2026-01-01", "2026-01-31")      # doctest: +SKIP
>>> collect(store, period).totals["turns"]                   # doctest: +SKIP
1234
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, inspect, select

from safebot.errors import ConfigError
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import AuditRow, TranscriptRow

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy import Connection

    from safebot.stores import SqlStore

__all__ = ["Activity", "Counts", "IdRange", "Notifications", "Period", "build", "collect", "notifications", "scan"]

#: the longest period drawn day by day (a longer one is still counted, in its totals)
MAX_DAYS = 400

#: (kind, day, a, b, c) -> n; kinds: started, turns, finding (entity, policy), blocked (reason),
#: reveal (event, handler, entity), handoff (reason), near (entity, recognizer, score),
#: view (viewer, page)
Counts = Counter[tuple[str, str, str, str, str]]


@dataclass(frozen=True)
class Period:
    """Inclusive dates; None is open-ended."""

    since: _dt.date | None = None
    until: _dt.date | None = None

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Period:
        """From ``YYYY-MM-DD`` strings. ConfigError (a usage error) for anything else."""
        out = cls(_date(since, "since"), _date(until, "until"))
        if out.since and out.until and out.since > out.until:
            raise ConfigError("--since is after --until")
        return out

    def where(self, column: Any) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.since is not None:
            conds.append(column >= self.since.isoformat())
        if self.until is not None:
            conds.append(column < (self.until + _dt.timedelta(days=1)).isoformat())
        return conds

    def holds(self, day: str) -> bool:
        return (self.since is None or day >= self.since.isoformat()) and (self.until is None or day <= self.until.isoformat())

    def label(self) -> str:
        a = self.since.isoformat() if self.since else "the first record"
        b = self.until.isoformat() if self.until else "the last record"
        return f"{a} to {b}"


def _date(value: str | None, name: str) -> _dt.date | None:
    if value is None or value == "":
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--{name} must be a date as YYYY-MM-DD") from None


@dataclass(frozen=True)
class IdRange:
    """Row ids ``after < id <= upto`` (``upto`` None: no upper bound)."""

    after: int = 0
    upto: int | None = None

    def where(self, column: Any) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = [column > self.after] if self.after else []
        if self.upto is not None:
            conds.append(column <= self.upto)
        return conds


@dataclass
class Notifications:
    """Deliveries, opt-outs and consent changes (the notification tables, issue 10)."""

    deliveries: dict[str, dict[str, int]] = field(default_factory=dict)  # state -> day -> n
    by_template: list[tuple[str, str, str, int]] = field(default_factory=list)  # template, channel, state, n
    errors: list[tuple[int | None, str, int]] = field(default_factory=list)  # code, title, n
    opt_outs: dict[str, dict[str, int]] = field(default_factory=dict)  # reason -> day -> n
    lifted: int = 0
    consent_given: dict[str, dict[str, int]] = field(default_factory=dict)  # purpose -> day -> n
    consent_withdrawn: dict[str, dict[str, int]] = field(default_factory=dict)  # how -> day -> n
    bases: list[tuple[str, str, int]] = field(default_factory=list)  # purpose, lawful basis, n

    @property
    def total_deliveries(self) -> int:
        return sum(sum(d.values()) for d in self.deliveries.values())


@dataclass
class Activity:
    """Everything the report shows, as counts."""

    period: Period
    days: list[str] = field(default_factory=list)
    #: day -> conversations whose first turn was that day
    conversations: dict[str, int] = field(default_factory=dict)
    turns: dict[str, int] = field(default_factory=dict)
    #: entity type -> day -> findings (transcript renderings: one per value found)
    findings: dict[str, dict[str, int]] = field(default_factory=dict)
    #: reason -> day -> blocked messages (fail closed)
    blocked: dict[str, dict[str, int]] = field(default_factory=dict)
    #: (event, handler, entity type, n): reveals and refused reveals
    reveals: list[tuple[str, str, str, int]] = field(default_factory=list)
    #: reason -> day -> hand-offs to a human agent
    handoffs: dict[str, dict[str, int]] = field(default_factory=dict)
    #: (entity type, recognizer, score, n): spans scored below the threshold
    near_misses: list[tuple[str, str, float, int]] = field(default_factory=list)
    near_miss_days: dict[str, dict[str, int]] = field(default_factory=dict)
    #: (viewer, page, n): who looked at the console
    views: list[tuple[str, str, int]] = field(default_factory=list)
    #: None: the store has no notification tables
    notifications: Notifications | None = None
    #: (policy hash, findings recorded under it)
    policies: list[tuple[str, int]] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {
            "conversations": sum(self.conversations.values()),
            "turns": sum(self.turns.values()),
            "findings": sum(sum(d.values()) for d in self.findings.values()),
            "blocked": sum(sum(d.values()) for d in self.blocked.values()),
            "reveals": sum(n for e, _, _, n in self.reveals if e == "revealed"),
            "reveals_denied": sum(n for e, _, _, n in self.reveals if e == "reveal_denied"),
            "handoffs": sum(sum(d.values()) for d in self.handoffs.values()),
            "near_misses": sum(n for *_, n in self.near_misses),
        }


def _day(column: Any) -> Any:
    return func.substr(column, 1, 10)


def collect(store: SqlStore, period: Period) -> Activity:
    """The report's numbers for ``period``, read whole from the store (aggregates only)."""
    with mapped_errors(), store.engine.connect() as conn:
        counts = scan(conn, period)
        notes = notifications(conn, period)
    return build(counts, period, notes)


def scan(conn: Connection, period: Period, audit: IdRange = IdRange(), transcript: IdRange = IdRange()) -> Counts:
    """Counts of the audit and transcript rows in the id ranges, within ``period``."""
    out: Counts = Counter()
    t, a = TranscriptRow, AuditRow
    day = _day(t.time)
    where = [*period.where(t.time), *transcript.where(t.id)]
    stmt = select(day, t.kind, t.turn == 1, func.count()).where(t.kind == "user", *where).group_by(day, t.kind, t.turn == 1)
    for d, _, first, n in conn.execute(stmt):
        out[("turns", d, "", "", "")] += n
        if first:
            out[("started", d, "", "", "")] += n
    stmt = select(day, t.data, func.count()).where(t.kind == "handoff", *where).group_by(day, t.data)
    for d, data, n in conn.execute(stmt):
        reason = data.get("reason") if isinstance(data, dict) else None
        out[("handoff", d, str(reason or "unspecified"), "", "")] += n
    day = _day(a.time)
    where = [*period.where(a.time), *audit.where(a.id)]
    stmt = (
        select(day, a.entity_type, a.policy_hash, func.count())
        .where(a.event == "redacted", a.destination == "transcript", *where)
        .group_by(day, a.entity_type, a.policy_hash)
    )
    for d, entity, policy, n in conn.execute(stmt):
        out[("finding", d, entity or "?", policy or "", "")] += n
    # A session's record names the conversation; the redactor's own (none) is the same block
    # seen one layer down, so it is not counted twice.
    stmt = (
        select(day, a.reason, func.count())
        .where(a.event == "detection_failed", a.conversation_id.is_not(None), *where).group_by(day, a.reason)
    )
    for d, reason, n in conn.execute(stmt):
        out[("blocked", d, reason or "unknown", "", "")] += n
    stmt = (
        select(day, a.event, a.handler, a.entity_type, func.count())
        .where(a.event.in_(("revealed", "reveal_denied")), *where).group_by(day, a.event, a.handler, a.entity_type)
    )
    for d, event, handler, entity, n in conn.execute(stmt):
        out[("reveal", d, event, handler or "?", entity or "?")] += n
    stmt = (
        select(day, a.entity_type, a.recognizer, a.score, func.count())
        .where(a.event == "near_miss", *where).group_by(day, a.entity_type, a.recognizer, a.score)
    )
    for d, entity, recognizer, score, n in conn.execute(stmt):
        out[("near", d, entity or "?", recognizer or "?", f"{float(score or 0.0):.2f}")] += n
    stmt = select(day, a.reason, a.detail, func.count()).where(a.event == "console_viewed", *where).group_by(day, a.reason, a.detail)
    for d, page, detail, n in conn.execute(stmt):
        viewer = detail.get("viewer") if isinstance(detail, dict) else None
        out[("view", d, str(viewer or "?"), str(page or "?"), "")] += n
    return out


def build(counts: Counts, period: Period, notes: Notifications | None) -> Activity:
    """The report's structure from counts (only days within ``period`` are kept)."""
    out = Activity(period, notifications=notes)
    per_day: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    reveals: Counter[tuple[str, str, str]] = Counter()
    near: Counter[tuple[str, str, float]] = Counter()
    views: Counter[tuple[str, str]] = Counter()
    policies: Counter[str] = Counter()
    for (kind, day, a, b, c), n in counts.items():
        if not n or not period.holds(day):
            continue
        if kind in ("turns", "started"):
            series = out.turns if kind == "turns" else out.conversations
            series[day] = series.get(day, 0) + n
        elif kind in ("finding", "blocked", "handoff", "near"):
            bucket = per_day[kind][a]
            bucket[day] = bucket.get(day, 0) + n
            if kind == "finding":
                policies[b] += n
            if kind == "near":
                near[(a, b, float(c))] += n
        elif kind == "reveal":
            reveals[(a, b, c)] += n
        elif kind == "view":
            views[(a, b)] += n
    out.findings = dict(sorted(per_day["finding"].items(), key=lambda kv: (-sum(kv[1].values()), kv[0])))
    out.blocked = dict(per_day["blocked"])
    out.handoffs = dict(per_day["handoff"])
    out.near_miss_days = dict(per_day["near"])
    out.reveals = sorted(((e, h, t, n) for (e, h, t), n in reveals.items()), key=lambda r: (r[0], -r[3], r[1], r[2]))
    out.near_misses = sorted(((e, r, s, n) for (e, r, s), n in near.items()), key=lambda r: (-r[3], r[0], r[1]))
    out.views = [(v, p, n) for (v, p), n in sorted(views.items(), key=lambda kv: (-kv[1], kv[0]))]
    out.policies = policies.most_common()
    out.days = _days(out)
    return out


def notifications(conn: Connection, period: Period) -> Notifications | None:
    """The notification tables' counts, or None when this store has none."""
    tables = set(inspect(conn).get_table_names())
    if not {"notify_deliveries", "notify_consents", "notify_suppressions"} <= tables:
        return None
    try:
        from safebot.stores._notify_schema import ConsentRecordRow, DeliveryRow, SuppressionRow
    except ImportError:  # pragma: no cover - a store written by a newer safebot
        return None
    out = Notifications()
    d, s, c = DeliveryRow, SuppressionRow, ConsentRecordRow
    day = _day(d.created_at)
    deliveries: dict[str, dict[str, int]] = defaultdict(dict)
    stmt = select(day, d.state, func.count()).where(*period.where(d.created_at)).group_by(day, d.state)
    for dd, state, n in conn.execute(stmt):
        deliveries[state][dd] = n
    out.deliveries = dict(deliveries)
    stmt = (
        select(d.template, d.channel, d.state, func.count()).where(*period.where(d.created_at))
        .group_by(d.template, d.channel, d.state)
    )
    out.by_template = sorted(((a, b, st, n) for a, b, st, n in conn.execute(stmt)), key=lambda r: (r[0], r[1], r[2]))
    # The platform's error code and title only: its free-text detail can quote a recipient.
    stmt = (
        select(d.error_code, d.error_title, func.count()).where(d.error_code.is_not(None), *period.where(d.created_at))
        .group_by(d.error_code, d.error_title)
    )
    out.errors = sorted(((code, title or "", n) for code, title, n in conn.execute(stmt)), key=lambda r: -r[2])
    day = _day(s.created_at)
    opt: dict[str, dict[str, int]] = defaultdict(dict)
    for dd, reason, n in conn.execute(select(day, s.reason, func.count()).where(*period.where(s.created_at)).group_by(day, s.reason)):
        opt[reason][dd] = n
    out.opt_outs = dict(opt)
    out.lifted = int(conn.execute(select(func.count()).where(s.lifted_at.is_not(None), *period.where(s.lifted_at))).scalar_one())
    day = _day(c.captured_at)
    given: dict[str, dict[str, int]] = defaultdict(dict)
    for dd, purpose, n in conn.execute(select(day, c.purpose, func.count()).where(*period.where(c.captured_at)).group_by(day, c.purpose)):
        given[purpose][dd] = n
    out.consent_given = dict(given)
    day = _day(c.revoked_at)
    gone: dict[str, dict[str, int]] = defaultdict(dict)
    stmt = (
        select(day, c.revoked_how, func.count()).where(c.revoked_at.is_not(None), *period.where(c.revoked_at))
        .group_by(day, c.revoked_how)
    )
    for dd, how, n in conn.execute(stmt):
        gone[how or "unspecified"][dd] = n
    out.consent_withdrawn = dict(gone)
    stmt = select(c.purpose, c.lawful_basis, func.count()).where(*period.where(c.captured_at)).group_by(c.purpose, c.lawful_basis)
    out.bases = sorted(((p, b, n) for p, b, n in conn.execute(stmt)), key=lambda r: (r[0], r[1]))
    return out


def _days(out: Activity) -> list[str]:
    """Every day from the first to the last (or the period's bounds), for the charts' x axis."""
    seen: set[str] = set(out.conversations) | set(out.turns)
    for series in (out.findings, out.blocked, out.handoffs, out.near_miss_days):
        for per_day in series.values():
            seen |= set(per_day)
    if out.notifications is not None:
        n = out.notifications
        for group in (n.deliveries, n.opt_outs, n.consent_given, n.consent_withdrawn):
            for per_day in group.values():
                seen |= set(per_day)
    parsed = sorted(_dt.date.fromisoformat(d) for d in seen if _is_day(d))
    first = out.period.since or (parsed[0] if parsed else None)
    last = out.period.until or (parsed[-1] if parsed else None)
    if first is None or last is None:
        return []
    if (last - first).days >= MAX_DAYS:
        first = last - _dt.timedelta(days=MAX_DAYS - 1)
    return [(first + _dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _is_day(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
