"""The activity report's counts: exact over a store written through the real unit of work, the
same through the console's roll-up (also after rows are deleted), and `safebot report`."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from safebot.console.activity import Period, collect
from safebot.console.rollup import RollupKeeper
from safebot.events import RedactedEvent
from safebot.redaction.audit import AuditRecord
from safebot.redaction.types import _mint
from safebot.stores import SqlStore
from safebot.stores._schema import AuditRow, TranscriptRow
from safebot.stores.vault import KeyRing

ROOT = Path(__file__).resolve().parents[2]
DAYS = ["2026-03-01", "2026-03-02", "2026-03-04"]


def _fill(store: SqlStore, day: str, n: int, *, start: int = 0) -> None:
    """``n`` one-turn conversations on ``day``, each with a card finding, a reveal on every
    other, a block every fifth, a hand-off every third and a near miss every fourth."""
    with store.unit_of_work() as uow:
        for i in range(start, start + n):
            cid = f"c-{day}-{i}"
            at = f"{day}T10:{i % 60:02d}:00.000+00:00"
            text = _mint("card <CREDIT_CARD_1>", "transcript", "p1", findings=())
            uow.append(RedactedEvent("user", cid, 1, "transcript", text, time=at))
            uow.append(RedactedEvent("bot", cid, 1, "transcript", _mint("done", "transcript", "p1"), time=at))
            for dest in ("customer", "transcript", "analytics"):
                uow.audit(AuditRecord("redacted", "p1", entity_type="CREDIT_CARD", recognizer="safebot.card", score=0.9,
                                      destination=dest, treatment="mask", conversation_id=cid, time=at))
            if i % 2 == 0:
                uow.audit(AuditRecord("revealed", "p1", entity_type="CREDIT_CARD", conversation_id=cid, handler="freeze", time=at))
            if i % 5 == 0:
                uow.audit(AuditRecord("detection_failed", "p1", conversation_id=cid, reason="timeout", time=at))
                uow.audit(AuditRecord("detection_failed", "p1", reason="timeout", time=at))  # the redactor's own: not counted
            if i % 3 == 0:
                uow.append(RedactedEvent("handoff", cid, 1, "transcript", None, {"reason": "requested"}, time=at))
            if i % 4 == 0:
                uow.audit(AuditRecord("near_miss", "p1", entity_type="US_SSN", recognizer="safebot.ssn", score=0.35,
                                      conversation_id=cid, time=at))


@pytest.fixture
def store(tmp_path: Path) -> SqlStore:
    s = SqlStore(f"sqlite:///{tmp_path}/s.sqlite3", keyring=KeyRing.generate())
    for k, day in enumerate(DAYS):
        _fill(s, day, 10 + k)
    return s


def test_counts_are_exact(store: SqlStore) -> None:
    a = collect(store, Period())
    assert a.turns == {"2026-03-01": 10, "2026-03-02": 11, "2026-03-04": 12}
    assert a.conversations == a.turns  # one turn each
    assert a.days == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]  # the gap day is drawn
    assert a.findings == {"CREDIT_CARD": a.turns}  # once per finding: the transcript rendering
    assert a.totals["reveals"] == 5 + 6 + 6
    assert a.reveals == [("revealed", "freeze", "CREDIT_CARD", 17)]
    assert a.blocked == {"timeout": {"2026-03-01": 2, "2026-03-02": 3, "2026-03-04": 3}}
    assert a.handoffs == {"requested": {"2026-03-01": 4, "2026-03-02": 4, "2026-03-04": 4}}
    assert a.near_misses == [("US_SSN", "safebot.ssn", 0.35, 3 + 3 + 3)]
    assert a.policies == [("p1", 33)]


@pytest.mark.parametrize(("since", "until", "turns"), [
    ("2026-03-02", None, 23), (None, "2026-03-01", 10), ("2026-03-02", "2026-03-02", 11), ("2026-03-03", "2026-03-03", 0),
])
def test_a_period_keeps_only_its_days(store: SqlStore, since: str | None, until: str | None, turns: int) -> None:
    a = collect(store, Period.parse(since, until))
    assert a.totals["turns"] == turns
    assert all(Period.parse(since, until).holds(d) for d in a.days)


@pytest.mark.parametrize(("since", "until"), [("2026-13-01", None), ("yesterday", None), ("2026-03-05", "2026-03-01")])
def test_bad_periods_are_refused(since: str, until: str | None) -> None:
    from safebot.errors import ConfigError

    with pytest.raises(ConfigError):
        Period.parse(since, until)


def _same(a: object, b: object) -> None:
    for field in ("turns", "conversations", "findings", "blocked", "handoffs", "near_misses", "reveals", "days"):
        assert getattr(a, field) == getattr(b, field), field


def test_the_rollup_adds_up_to_a_full_count(store: SqlStore) -> None:
    keeper = RollupKeeper(store)
    later = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert keeper.fold(now=later)  # everything folded
    for period in (Period(), Period.parse("2026-03-02", None), Period.parse(None, "2026-03-01")):
        _same(keeper.activity(period), collect(store, period))
    _fill(store, "2026-03-04", 7, start=100)  # new rows past the watermark: scanned live
    _same(keeper.activity(Period()), collect(store, Period()))
    assert keeper.fold(now=later) and not keeper.fold(now=later)
    _same(keeper.activity(Period()), collect(store, Period()))


def test_rows_younger_than_the_settle_time_are_never_folded(store: SqlStore) -> None:
    keeper = RollupKeeper(store)
    assert keeper.fold(now=dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC))  # only the first day is settled
    from sqlalchemy import select

    from safebot.console._tables import WatermarkRow

    with store.engine.connect() as conn:
        marks = {r.source: r.upto for r in conn.execute(select(WatermarkRow.source, WatermarkRow.upto))}
        first_day_last = conn.execute(select(TranscriptRow.id).where(TranscriptRow.time < "2026-03-02").order_by(TranscriptRow.id.desc()).limit(1)).first()
    assert first_day_last is not None and marks["transcript"] == first_day_last[0]
    _same(keeper.activity(Period()), collect(store, Period()))


def test_deleted_rows_invalidate_the_rollup(store: SqlStore) -> None:
    keeper = RollupKeeper(store)
    keeper.fold(now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    from sqlalchemy import delete

    with store.write_engine.begin() as conn:  # what retention does to old rows
        conn.execute(delete(TranscriptRow).where(TranscriptRow.time < "2026-03-02"))
        conn.execute(delete(AuditRow).where(AuditRow.time < "2026-03-02"))
    live = keeper.activity(Period())
    assert "2026-03-01" not in live.turns
    _same(live, collect(store, Period()))


def test_no_notification_tables_means_no_notifications_section(tmp_path: Path, store: SqlStore) -> None:
    from sqlalchemy import text

    from safebot.console.pages import report_page

    with store.write_engine.begin() as conn:
        for table in ("notify_deliveries", "notify_consents", "notify_suppressions"):
            conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
    a = collect(store, Period())
    assert a.notifications is None
    assert 'id="no-notifications"' in report_page(a, bot_name="b")


def test_notifications_are_counted_when_present(store: SqlStore) -> None:
    from sqlalchemy import insert

    from safebot.stores._notify_schema import ConsentRecordRow, DeliveryRow, SuppressionRow

    with store.write_engine.begin() as conn:
        for i, state in enumerate(["delivered", "read", "failed"]):
            conn.execute(insert(DeliveryRow).values(
                notification_id="n1", key_ref=f"k{i}", contact_ref=f"ct{i}", channel="whatsapp", template="card_alert",
                category="utility", purpose="fraud_alerts", lawful_basis="contract", state=state, rank=4, created_at="2026-03-01T09:00:00+00:00",
                error_code=131026 if state == "failed" else None, error_title="Message undeliverable" if state == "failed" else None,
                error_detail="+1 415 555 0134 is not on WhatsApp" if state == "failed" else None))
        conn.execute(insert(SuppressionRow).values(subject_ref="ct1", channel="*", purpose="*", reason="opt_out", created_at="2026-03-02T09:00:00+00:00"))
        conn.execute(insert(ConsentRecordRow).values(contact_ref="ct2", channel="whatsapp", purpose="marketing", lawful_basis="consent",
                                                     method="app", captured_at="2026-03-01T08:00:00+00:00", revoked_at="2026-03-04T08:00:00+00:00", revoked_how="inbound_keyword"))
    a = collect(store, Period())
    n = a.notifications
    assert n is not None and n.total_deliveries == 3
    assert n.errors == [(131026, "Message undeliverable", 1)]
    assert n.opt_outs == {"opt_out": {"2026-03-02": 1}}
    assert n.consent_given == {"marketing": {"2026-03-01": 1}} and n.consent_withdrawn == {"inbound_keyword": {"2026-03-04": 1}}
    from safebot.console.pages import report_page

    html = report_page(a, bot_name="b")
    assert "Message undeliverable" in html and "555 0134" not in html  # the platform's detail text is never shown


def test_safebot_report_command(tmp_path: Path) -> None:
    import shutil

    bot_dir = tmp_path / "bot"
    shutil.copytree(ROOT / "examples" / "bank", bot_dir, ignore=shutil.ignore_patterns(".safebot", "__pycache__"))
    run = [sys.executable, "-m", "safebot.cli", "report", str(bot_dir), "-o", str(tmp_path / "r.html")]
    r = subprocess.run(run, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "no store" in r.stderr
    store = SqlStore.for_bot_dir(bot_dir)
    _fill(store, "2026-03-01", 4)
    store.close()
    r = subprocess.run([*run, "--since", "2026-03-01", "--until", "2026-03-01"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "r.html").read_text()
    assert "<svg" in html and "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    r = subprocess.run([*run, "--since", "March"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "YYYY-MM-DD" in r.stderr and "Traceback" not in r.stderr
