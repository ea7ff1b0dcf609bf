"""Retention: each class deleted by its own period, counts in the audit trail, the chain still
verifies from its signed anchor (and tampering with the anchor is caught)."""

from __future__ import annotations

import datetime as _dt
import json
import secrets
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from safebot.audit.bot import BotStore, open_bot_store
from safebot.audit.testing import delete_record
from safebot.audit.verify import verify_chain
from safebot.cli import app
from safebot.engine.config import load_bot_config
from safebot.errors import ConfigError
from safebot.events import RedactedEvent
from safebot.redaction.audit import AuditRecord
from safebot.redaction.types import _mint
from safebot.retention.durations import parse_duration
from safebot.retention.run import run_retention
from safebot.sensitive import Sensitive
from safebot.stores._schema import AuditChainRow, AuditRow, ConsentRow, TranscriptRow, VaultRow

NOW = _dt.datetime(2030, 6, 1, tzinfo=_dt.UTC)


def at(days_ago: float) -> str:
    return (NOW - _dt.timedelta(days=days_ago)).isoformat(timespec="milliseconds")


def make_bot(tmp_path: Path, retention: str) -> Path:
    bot = tmp_path / "bot"
    bot.mkdir()
    (bot / "bot.yaml").write_text("name: t\n" + textwrap.dedent(retention))
    return bot


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEBOT_MASTER_KEY", __import__("base64").b64encode(secrets.token_bytes(32)).decode())
    monkeypatch.setenv("SAFEBOT_AUDIT_KEY", __import__("base64").b64encode(secrets.token_bytes(32)).decode())


def seed(bot: BotStore) -> None:
    """Rows of every class at 400, 100 and 5 days old."""
    for i, age in enumerate((400, 100, 5)):
        cid = f"c{i}"
        with bot.store.unit_of_work() as uow:
            uow.ensure_conversation(cid, "console")
            text = _mint("card <CREDIT_CARD_1>", "transcript", "ph")
            uow.append(RedactedEvent("user", cid, 1, "transcript", text, {}, channel="console", time=at(age)))
            fp = uow.fingerprint(f"conversation:{cid}", "CREDIT_CARD", Sensitive("4111111111111111"))
            uow.vault_put(cid, "<CREDIT_CARD_1>", "CREDIT_CARD", Sensitive("4111 1111 1111 1111"), fp, f"conversation:{cid}")
            uow.consent(cid, "transcript", True)
            uow.consent(cid, "transcript", False)
            for _ in range(10):
                uow.audit(AuditRecord("redacted", "ph", entity_type="CREDIT_CARD", conversation_id=cid, time=at(age)))
        with bot.store.write_engine.begin() as conn:
            conn.execute(update(VaultRow).where(VaultRow.conversation_id == cid).values(created_at=at(age)))
            conn.execute(update(ConsentRow).where(ConsentRow.conversation_id == cid).values(time=at(age)))


def count(bot: BotStore, table: type) -> int:
    with bot.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_each_class_by_its_own_period_and_the_chain_survives(tmp_path: Path, keys: None) -> None:
    path = make_bot(tmp_path, """\
        retention:
          transcripts: 30d
          vault: 200d
          consent: 1y
          audit: 50d
    """)
    with open_bot_store(path) as bot:
        seed(bot)
        report = run_retention(bot, now=NOW)
        assert report.deleted == {"transcripts": 2, "vault": 1, "consent": 1, "audit": 20}
        assert report.skipped == {"deliveries": "no retention period configured (kept)"}
        assert (count(bot, TranscriptRow), count(bot, VaultRow), count(bot, AuditRow)) == (1, 2, 12)  # + retention, checkpoint
        # the decision still in force is kept however old; the superseded grant of c0 went
        assert count(bot, ConsentRow) == 5
        check = verify_chain(bot.store, bot.signer.verifier)  # type: ignore[union-attr]
        assert check.ok, check.problems
        assert (check.anchor, check.first, check.signed_through, check.unsigned_tail) == (20, 21, 31, 1)
        [record] = [r for r in bot.store.audit_log() if r["event"] == "retention"]
        assert record["seq"] == report.audit_position == 31
        assert record["detail"] == {"transcripts": 2, "vault": 1, "consent": 1, "audit": 20, "anchor": 20,
                                    "anchor_key": bot.signer.key_id}  # type: ignore[union-attr]
        # a second run deletes nothing more and the chain goes on verifying
        again = run_retention(bot, now=NOW)
        assert again.deleted == {"transcripts": 0, "vault": 0, "consent": 0, "audit": 0} and again.anchor is None
        assert verify_chain(bot.store, bot.signer.verifier).ok  # type: ignore[union-attr]


def test_an_anchor_moved_without_the_key_is_caught(tmp_path: Path, keys: None) -> None:
    path = make_bot(tmp_path, "retention:\n  audit: 50d\n")
    with open_bot_store(path) as bot:
        seed(bot)
        run_retention(bot, now=NOW)
        with bot.store.write_engine.begin() as conn:  # cut more records and move the anchor to hide it
            delete_record(conn, 21)
            h = conn.execute(select(AuditRow.hash).where(AuditRow.seq == 22)).scalar_one()
            conn.execute(delete_stmt := AuditRow.__table__.delete().where(AuditRow.seq == 22))
            conn.execute(update(AuditChainRow).values(anchor_seq=22, anchor_hash=h))
        assert delete_stmt is not None
        problems = [(p.kind, p.position) for p in verify_chain(bot.store, bot.signer.verifier).problems]  # type: ignore[union-attr]
        assert problems == [("anchor", 22)]


def test_retention_refuses_to_delete_a_tampered_prefix(tmp_path: Path, keys: None) -> None:
    path = make_bot(tmp_path, "retention:\n  audit: 50d\n")
    with open_bot_store(path) as bot:
        seed(bot)
        with bot.store.write_engine.begin() as conn:
            delete_record(conn, 5)
        report = run_retention(bot, now=NOW)
        assert "audit" not in report.deleted and "does not verify" in report.skipped["audit"]
        assert count(bot, AuditRow) == 31  # 29 left + the retention record and its checkpoint
        assert [(p.kind, p.position) for p in verify_chain(bot.store, bot.signer.verifier).problems] == [("deleted", 5)]  # type: ignore[union-attr]


def test_cli_run(tmp_path: Path, keys: None) -> None:
    path = make_bot(tmp_path, "retention:\n  transcripts: 30d\n  audit: 7y\n")
    with open_bot_store(path) as bot, bot.store.unit_of_work() as uow:
        old = (_dt.datetime.now(_dt.UTC) - _dt.timedelta(days=40)).isoformat(timespec="milliseconds")
        uow.append(RedactedEvent("user", "c1", 1, "transcript", _mint("hi", "transcript", "ph"), {}, channel="console", time=old))
    result = CliRunner().invoke(app, ["retention", "run", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["deleted"] == {"transcripts": 1, "audit": 0} and out["audit_position"] == 1  # then a checkpoint at 2
    text = CliRunner().invoke(app, ["retention", "run", str(path)])
    assert "transcripts: 0 deleted (older than 30d)" in text.stdout and "vault: no retention period" in text.stdout


def test_config_errors_name_the_line(tmp_path: Path) -> None:
    path = make_bot(tmp_path, "retention:\n  transcript: 30d\n")
    with pytest.raises(ConfigError, match=r"bot\.yaml:3"):
        load_bot_config(path)
    (path / "bot.yaml").write_text("name: t\nretention:\n  audit: soon\n")
    with pytest.raises(ConfigError, match=r"retention\.audit"):
        load_bot_config(path)


@pytest.mark.parametrize(("text", "seconds"), [("90d", 90 * 86400), ("12w", 84 * 86400), ("7y", 7 * 365 * 86400), ("36h", 36 * 3600), (30, 30 * 86400)])
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0d", "-1d", "soon", "1m", True, "d"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_notification_tables_plug_in_by_name(tmp_path: Path, keys: None) -> None:
    from sqlalchemy import insert

    from safebot.stores._base import Base

    if "notify_deliveries" not in Base.metadata.tables:
        pytest.skip("the notification tables (issue 10) are not installed")
    deliveries, consents = Base.metadata.tables["notify_deliveries"], Base.metadata.tables["notify_consents"]
    path = make_bot(tmp_path, "retention:\n  deliveries: 180d\n  consent: 5y\n")
    with open_bot_store(path) as bot:
        with bot.store.write_engine.begin() as conn:
            for i, finished in enumerate((at(200), at(10), None)):  # old and final, recent, still on its way
                conn.execute(insert(deliveries).values(
                    notification_id="n1", key_ref=f"k{i}", contact_ref="c-1", channel="whatsapp", template="t",
                    category="utility", purpose="alerts", lawful_basis="consent", state="delivered" if finished else "queued",
                    rank=4 if finished else 1, finished_at=finished))
            for revoked in (at(6 * 365), at(100), None):  # withdrawn long ago, withdrawn lately, in force
                conn.execute(insert(consents).values(
                    contact_ref="c-1", channel="whatsapp", purpose="alerts", lawful_basis="consent", method="app",
                    captured_at=at(7 * 365), revoked_at=revoked))
        report = run_retention(bot, now=NOW)
        assert report.deleted["deliveries"] == 1 and report.deleted["consent"] == 1
        assert (count(bot, deliveries), count(bot, consents)) == (2, 2)
