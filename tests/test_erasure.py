"""Erasure: keys shredded across every conversation the customer reaches, contacts and consent
gone (a suppression keeps the fact), a signed receipt, and nothing left in the SQLite file or WAL."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from typer.testing import CliRunner

from safebot.audit.bot import BotStore, open_bot_store
from safebot.audit.signing import AuditSigner
from safebot.audit.verify import verify_chain
from safebot.cli import app
from safebot.erasure import _signable, forget_customer, keyed_ref, verify_receipt
from safebot.sensitive import Sensitive
from safebot.stores._base import Base
from safebot.stores._schema import DataKeyRow, ValueIndexRow
from safebot.stores.conversations import data_key_id

CARD = "4111 1111 1111 1111"
IBAN = "GB82 WEST 1234 5698 7654 32"


@pytest.fixture
def bot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("MASTER", "AUDIT", "IDS"):
        monkeypatch.setenv(f"SAFEBOT_{name}_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    bot = tmp_path / "bot"
    bot.mkdir()
    (bot / "bot.yaml").write_text("name: erasure test\n")
    return bot


def vault(bot: BotStore, cid: str, token: str, entity: str, value: str, customer: str | None = None) -> None:
    with bot.store.unit_of_work() as uow:
        uow.ensure_conversation(cid, "console", customer)
        kid = data_key_id(cid)
        fp = uow.fingerprint(kid, entity, Sensitive(value.replace(" ", "")))
        uow.vault_put(cid, token, entity, Sensitive(value), fp, kid)
        uow.consent(cid, "transcript", True)


def db_bytes(bot_dir: Path) -> bytes:
    base = bot_dir / ".safebot" / "safebot.sqlite3"
    wal = base.with_name(base.name + "-wal")
    return base.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def wrapped_keys(bot: BotStore, ids: list[str]) -> list[bytes]:
    with bot.store.engine.connect() as conn:
        return list(conn.execute(select(DataKeyRow.wrapped).where(DataKeyRow.key_id.in_(ids))).scalars())


def test_forget_shreds_every_reached_conversation_and_leaves_no_bytes(bot_dir: Path) -> None:
    with open_bot_store(bot_dir) as bot:
        vault(bot, "c-verified", "<CREDIT_CARD_1>", "CREDIT_CARD", CARD, customer="customer:CUST-42")
        vault(bot, "c-anonymous", "<CREDIT_CARD_1>", "CREDIT_CARD", CARD)  # same card, never verified
        vault(bot, "c-anonymous", "<IBAN_CODE_1>", "IBAN_CODE", IBAN)
        vault(bot, "c-someone-else", "<CREDIT_CARD_1>", "CREDIT_CARD", "5555 5555 5555 4444", customer="customer:OTHER")
        notify = "notify_contacts" in Base.metadata.tables
        if notify:
            ids = bot.keys.key("ids")  # type: ignore[union-attr]
            with bot.store.write_engine.begin() as conn:
                conn.execute(insert(Base.metadata.tables["notify_contacts"]).values(
                    ref="c-verified", channel="whatsapp", address=b"\x00" * 40, customer_ref=keyed_ref(ids, "CUST-42", "notify-customer")))
                conn.execute(insert(Base.metadata.tables["notify_consents"]).values(
                    contact_ref="c-verified", channel="whatsapp", purpose="fraud_alerts", lawful_basis="consent", method="app"))
        ours = [data_key_id("c-verified"), data_key_id("c-anonymous")]
        secret_keys = wrapped_keys(bot, ours)
        assert len(secret_keys) == 2
        before = db_bytes(bot_dir)
        assert all(k in before for k in secret_keys)  # the test could fail: the key bytes are on disk now
        assert CARD.encode() not in before and IBAN.encode() not in before

        receipt = forget_customer(bot, "CUST-42")

        assert receipt["conversations"] == 2
        classes = receipt["classes"]
        assert (classes["vault_values"], classes["data_keys"], classes["value_index"], classes["consent_decisions"]) == (3, 2, 3, 3)
        assert classes["conversations_unlinked"] == 1
        if notify:
            assert (classes["contacts"], classes["consent_records"], classes["suppressions_added"]) == (1, 1, 2)
        assert len(receipt["key_ids"]) == 2 and all(len(k) == 32 for k in receipt["key_ids"])
        assert "c-verified" not in json.dumps(receipt) and "CUST-42" not in json.dumps(receipt)
        assert verify_receipt(receipt, bot.signer.verifier) == []  # type: ignore[union-attr]

        after = db_bytes(bot_dir)
        wal = bot_dir / ".safebot" / "safebot.sqlite3-wal"
        assert not wal.exists() or wal.stat().st_size == 0
        for k in secret_keys:
            assert k not in after and k[12:] not in after  # nor the ciphertext part alone
        assert CARD.encode() not in after and IBAN.encode() not in after
        assert wrapped_keys(bot, ours) == []
        with bot.store.unit_of_work() as uow:
            assert uow.vault_get("c-verified", "<CREDIT_CARD_1>") is None
            assert uow.vault_get("c-anonymous", "<IBAN_CODE_1>") is None
            assert uow.vault_get("c-someone-else", "<CREDIT_CARD_1>") is not None  # another customer's stays
        with bot.store.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(ValueIndexRow)).scalar_one() == 1
        report = verify_chain(bot.store, bot.signer.verifier)  # type: ignore[union-attr]
        assert report.ok
        [record] = [r for r in bot.store.audit_log() if r["event"] == "erasure"]
        assert record["seq"] == receipt["audit_position"] and record["hash"] == receipt["audit_record_hash"]
        assert record["detail"]["vault_values"] == 3 and record["detail"]["customer"] == receipt["customer"]


def test_receipts_that_were_altered_or_signed_by_another_key_fail(bot_dir: Path) -> None:
    with open_bot_store(bot_dir) as bot:
        vault(bot, "c1", "<CREDIT_CARD_1>", "CREDIT_CARD", CARD, customer="customer:7")
        receipt = forget_customer(bot, "7")
        verifier = bot.signer.verifier  # type: ignore[union-attr]
    altered = {**receipt, "classes": {**receipt["classes"], "vault_values": 0}}
    assert verify_receipt(altered, verifier) == ["the signature does not verify (the receipt was altered or forged)"]
    forger = AuditSigner(secrets.token_bytes(32))
    forged = {**receipt, "public_key": forger.verifier.public_key_hex, "key": forger.key_id}
    forged["signature"] = forger.sign(_signable(forged))
    assert forger.verifier.verify(_signable(forged), forged["signature"])  # self-consistent...
    assert "signed with another key than this bot's audit key" in verify_receipt(forged, verifier)  # ...and refused


def test_cli_forget_and_verify_receipt(bot_dir: Path, tmp_path: Path) -> None:
    with open_bot_store(bot_dir) as bot:
        vault(bot, "c1", "<CREDIT_CARD_1>", "CREDIT_CARD", CARD, customer="customer:C-9")
    runner = CliRunner()
    out = tmp_path / "receipt.json"
    result = runner.invoke(app, ["forget", str(bot_dir), "C-9", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["classes"]["vault_values"] == 1
    ok = runner.invoke(app, ["forget", str(bot_dir), "--verify-receipt", str(out)])
    assert ok.exit_code == 0 and ok.stdout.startswith("valid: erasure of c-")
    pub = runner.invoke(app, ["audit", "public-key", str(bot_dir)]).stdout.strip()
    assert runner.invoke(app, ["forget", str(bot_dir), "--verify-receipt", str(out), "--public-key", pub]).exit_code == 0
    data = json.loads(out.read_text())
    data["erased_at"] = "2020-01-01T00:00:00.000+00:00"
    out.write_text(json.dumps(data))
    bad = runner.invoke(app, ["forget", str(bot_dir), "--verify-receipt", str(out)])
    assert bad.exit_code == 1 and "invalid: the signature does not verify" in bad.stdout
    nothing = runner.invoke(app, ["forget", str(bot_dir), "nobody"])
    assert nothing.exit_code == 0 and json.loads(nothing.stdout)["conversations"] == 0


def test_keyed_ref_is_the_redactors(bot_dir: Path) -> None:
    from safebot.redaction import Redactor
    from safebot.redaction.policy import policy_from_dict

    ids = secrets.token_bytes(32)
    policy = policy_from_dict({"name": "p", "entities": {}})
    redactor = Redactor(policy, hmac_key=b"k", ids_key=ids, detector=object())  # type: ignore[arg-type]
    assert keyed_ref(ids, "CUST-42", "notify-customer") == redactor.conversation_ref("CUST-42", namespace="notify-customer")


def test_forget_and_retention_on_postgresql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as _dt
    import uuid

    psycopg = pytest.importorskip("psycopg")
    url = __import__("os").environ.get("SAFEBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.Error:
        pytest.skip("PostgreSQL is not reachable")
    from safebot.redaction.audit import AuditRecord
    from safebot.retention.run import run_retention

    for name in ("MASTER", "AUDIT", "IDS"):
        monkeypatch.setenv(f"SAFEBOT_{name}_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    schema = f"safebot_erasure_{uuid.uuid4().hex[:10]}"
    bot_dir = tmp_path / "pgbot"
    bot_dir.mkdir()
    (bot_dir / "bot.yaml").write_text(f"name: pg\nstore:\n  url: {url}\n  schema: {schema}\nretention:\n  audit: 30d\n")
    try:
        with open_bot_store(bot_dir) as bot:
            assert bot.store.backend == "postgresql"
            vault(bot, "c1", "<CREDIT_CARD_1>", "CREDIT_CARD", CARD, customer="customer:PG-1")
            old = (_dt.datetime.now(_dt.UTC) - _dt.timedelta(days=60)).isoformat(timespec="milliseconds")
            with bot.store.unit_of_work() as uow:
                for _ in range(5):
                    uow.audit(AuditRecord("redacted", "ph", entity_type="CREDIT_CARD", time=old))
            receipt = forget_customer(bot, "PG-1")
            assert receipt["classes"]["data_keys"] == 1 and receipt["storage"].startswith("postgresql: dead row versions vacuumed")
            assert verify_receipt(receipt, bot.signer.verifier) == []  # type: ignore[union-attr]
            report = run_retention(bot)
            assert report.deleted["audit"] == 5 and report.anchor == 5
            check = verify_chain(bot.store, bot.signer.verifier)  # type: ignore[union-attr]
            assert check.ok and check.anchor == 5 and check.records == 3  # the erasure and retention records, a checkpoint
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
