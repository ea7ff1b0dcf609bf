"""safebot audit verify|export|checkpoint|public-key on a bot directory."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safebot.audit.bot import open_bot_store
from safebot.audit.testing import alter
from safebot.cli import app
from safebot.redaction.audit import AuditRecord


@pytest.fixture
def bot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MASTER", "AUDIT"):
        monkeypatch.setenv(f"SAFEBOT_{name}_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    bot = tmp_path / "bot"
    bot.mkdir()
    (bot / "bot.yaml").write_text("name: audit cli\n")
    with open_bot_store(bot) as b, b.store.unit_of_work() as uow:
        for day in (1, 2, 3):
            uow.audit(AuditRecord("redacted", "ph", entity_type="US_SSN", destination="analytics",
                                  conversation_id="c-1", time=f"2025-01-0{day}T12:00:00.000+00:00"))
    return bot


def test_verify_checkpoint_and_tampering(bot_dir: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", str(bot_dir)])
    assert ok.exit_code == 0 and "3 records (positions 1..3)" in ok.stdout and "not yet signed" in ok.stdout
    assert runner.invoke(app, ["audit", "checkpoint", str(bot_dir)]).stdout.strip() == "signed through position 3"
    signed = json.loads(runner.invoke(app, ["audit", "verify", str(bot_dir), "--json"]).stdout)
    assert signed["ok"] and signed["signed_through"] == 3 and signed["checkpoints"] == 1
    public = runner.invoke(app, ["audit", "public-key", str(bot_dir)]).stdout.strip()
    with open_bot_store(bot_dir) as b, b.store.write_engine.begin() as conn:
        alter(conn, 2)
    bad = runner.invoke(app, ["audit", "verify", str(bot_dir), "--public-key", public])
    assert bad.exit_code == 1 and "position 2: altered" in bad.stdout
    other = runner.invoke(app, ["audit", "verify", str(bot_dir), "--public-key", "ab" * 32])
    assert other.exit_code == 1 and "position 4: signature" in other.stdout


def test_export_by_time(bot_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.jsonl"
    result = CliRunner().invoke(app, ["audit", "export", str(bot_dir), "--since", "2025-01-02", "--until", "2025-01-03", "-o", str(out)])
    assert result.exit_code == 0, result.output
    [line] = out.read_text().splitlines()
    record = json.loads(line)
    assert record["position"] == 2 and record["entity_type"] == "US_SSN" and len(record["hash"]) == 64
    assert set(record) <= {"position", "time", "event", "entity_type", "recognizer", "score", "destination", "treatment",
                           "conversation_id", "handler", "reason", "policy_hash", "detail", "prev_hash", "hash"}
    bad = CliRunner().invoke(app, ["audit", "export", str(bot_dir), "--format", "csv"])
    assert bad.exit_code == 2


def test_not_a_bot(tmp_path: Path) -> None:
    from safebot.cli import main

    with pytest.raises(SystemExit) as info:
        main(["audit", "verify", str(tmp_path)])
    assert info.value.code == 2
