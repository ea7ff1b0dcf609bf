"""The embedded SQLite store: bot-dir layout, pragmas, and what the bytes on disk hold."""

from __future__ import annotations

import base64
import os
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from store_helpers import CARD, CARD_DIGITS, TOKEN, event, put_card

from safebot.errors import ConfigError
from safebot.redaction.audit import AuditRecord
from safebot.sensitive import Sensitive
from safebot.stores import SqlStore, VersionConflict
from safebot.stores._schema import DataKeyRow
from safebot.stores.vault import MASTER_KEY_ENV, KeyRing

PLANTED = [CARD, CARD_DIGITS, "4111-1111-1111-1111", "1111 1111 1111"]


def state_bytes(bot_dir: Path) -> bytes:
    """Every byte safebot wrote under BOT_DIR/.safebot/ except the master key file."""
    out = b""
    for p in sorted((bot_dir / ".safebot").iterdir()):
        if p.name != "master.key":
            out += p.read_bytes()
    return out


def encodings(value: str) -> list[bytes]:
    return [value.encode("utf-8"), value.encode("utf-16-le"), value.encode("utf-16-be")]


def test_for_bot_dir_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    store = SqlStore.for_bot_dir(tmp_path)
    try:
        state = tmp_path / ".safebot"
        assert stat.S_IMODE(state.stat().st_mode) == 0o700
        assert stat.S_IMODE((state / "master.key").stat().st_mode) == 0o600
        assert stat.S_IMODE((state / "safebot.sqlite3").stat().st_mode) == 0o600
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        put_card(store)
    finally:
        store.close()
    # A second run finds the same tables and the same master key: the value still decrypts.
    again = SqlStore.for_bot_dir(tmp_path)
    try:
        with again.unit_of_work() as uow:
            assert uow.vault_get("c1", TOKEN) == Sensitive(CARD)
    finally:
        again.close()


def test_for_bot_dir_uses_env_key_and_makes_no_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, base64.b64encode(os.urandom(32)).decode())
    SqlStore.for_bot_dir(tmp_path).close()
    assert not (tmp_path / ".safebot" / "master.key").exists()


def test_for_bot_dir_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bot directory not found"):
        SqlStore.for_bot_dir(tmp_path / "missing", keyring=KeyRing.generate())


def test_for_bot_dir_other_url(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.db"
    SqlStore.for_bot_dir(tmp_path, url=f"sqlite:///{other}", keyring=KeyRing.generate()).close()
    assert other.exists() and not (tmp_path / ".safebot" / "safebot.sqlite3").exists()


def test_planted_value_never_in_the_file_bytes(sqlite_store: SqlStore, tmp_path: Path) -> None:
    put_card(sqlite_store)
    with sqlite_store.unit_of_work() as uow:
        uow.append(event())
        uow.save_tracker("c1", {"slots": {"card": TOKEN}}, None)
        uow.audit(AuditRecord("redacted", "p", entity_type="CREDIT_CARD", conversation_id="c1"))
        uow.vault_get("c1", TOKEN)
    # Before the checkpoint the new pages live in the -wal file; after it, in the main file.
    for phase in ("wal", "checkpointed"):
        if phase == "checkpointed":
            sqlite_store.checkpoint()
        data = state_bytes(tmp_path)
        assert len(data) > 0
        for planted in PLANTED:
            for encoded in encodings(planted):
                assert encoded not in data, f"{planted!r} found on disk ({phase})"
    assert b"<CREDIT_CARD_1>" in state_bytes(tmp_path)  # the redacted transcript is there


def test_forgotten_key_is_gone_from_the_file(sqlite_store: SqlStore, tmp_path: Path) -> None:
    put_card(sqlite_store, key_id="customer:shred-me")
    sqlite_store.checkpoint()
    with sqlite_store._engine.connect() as conn:
        wrapped = conn.execute(select(DataKeyRow.wrapped)).scalar_one()
    assert wrapped in state_bytes(tmp_path)
    assert sqlite_store.forget("customer:shred-me") == 1
    # secure_delete zeroes the row and forget() truncates the WAL: no copy of the file can
    # bring the key back.
    assert wrapped not in state_bytes(tmp_path)
    with sqlite_store.unit_of_work() as uow:
        assert uow.vault_get("c1", TOKEN) is None


def test_in_memory_store_reads_during_a_unit_of_work() -> None:
    store = SqlStore("sqlite://", keyring=KeyRing.generate())
    try:
        put_card(store)
        with store.unit_of_work() as uow:
            uow.append(event())
            assert store.transcript("c1") == []  # another connection: not yet committed
        assert len(store.transcript("c1")) == 1
    finally:
        store.close()


def test_concurrent_turns_on_one_file(sqlite_store: SqlStore) -> None:
    """Read-modify-write turns from several threads: none fails with 'database is locked'
    (units of work take the write lock up front) and no tracker update is lost."""
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for turn in range(8):
                while True:
                    try:
                        with sqlite_store.unit_of_work() as uow:
                            state = uow.get_tracker("c1") or {"count": 0}
                            uow.append(event(cid="c1", turn=turn, data={"worker": n}))
                            uow.save_tracker("c1", {"count": state["count"] + 1}, uow.tracker_version("c1"))
                        break
                    except VersionConflict:
                        continue
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sqlite_store.unit_of_work() as uow:
        assert uow.get_tracker("c1") == {"count": 32}
    assert len(sqlite_store.transcript("c1")) == 32
