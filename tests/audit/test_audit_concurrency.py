"""Concurrent writers make one valid chain: threads on SQLite, processes on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import PG_URL

from safebot.audit.signing import AuditSigner
from safebot.audit.verify import verify_chain
from safebot.redaction.audit import AuditRecord
from safebot.stores import SqlStore
from safebot.stores.vault import KeyRing


def expected_records(writers: int, units: int) -> int:
    return writers * sum(1 + i % 3 for i in range(units))


def checkpoints_for(records: int, every: int) -> int:
    """A checkpoint follows each position that is a multiple of ``every`` (they take positions too)."""
    position = count = 0
    for _ in range(records):
        position += 1
        if position % every == 0:
            position += 1
            count += 1
    return count


def test_threads_on_sqlite(tmp_path: Path, audit_key: bytes, signer: AuditSigner) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 's.sqlite3'}", keyring=KeyRing.generate(), audit_key=audit_key, checkpoint_every=25)
    errors: list[BaseException] = []

    def work(w: int) -> None:
        try:
            for i in range(40):
                with store.unit_of_work() as uow:
                    for k in range(1 + i % 3):
                        uow.audit(AuditRecord("redacted", "ph", entity_type="PERSON", conversation_id=f"t{w}-{i}", handler=str(k)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors
        report = verify_chain(store, signer.verifier)
        assert report.ok, report.problems
        n = expected_records(6, 40)
        c = checkpoints_for(n, 25)
        assert (report.records, report.checkpoints) == (n + c, c)
        # each unit's records are contiguous: appended under one lock
        rows = [r for r in store.audit_log() if r["event"] == "redacted"]
        by_unit: dict[str, list[int]] = {}
        for r in rows:
            by_unit.setdefault(r["conversation_id"], []).append(r["seq"])
        assert all(max(s) - min(s) + 1 - len(s) <= 1 for s in by_unit.values())  # at most a checkpoint between
    finally:
        store.close()


@pytest.mark.slow
def test_processes_on_postgresql(audit_pg_schema: tuple[str, Any], audit_key: bytes, signer: AuditSigner) -> None:
    schema, _admin = audit_pg_schema
    store = SqlStore(PG_URL, keyring=KeyRing.generate(), schema=schema, audit_key=audit_key)  # creates the tables
    try:
        writer = str(Path(__file__).with_name("_chain_writer.py"))
        procs = [subprocess.Popen([sys.executable, writer, PG_URL, schema, audit_key.hex(), str(w), "40"])
                 for w in range(3)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
        report = verify_chain(store, signer.verifier)
        assert report.ok, report.problems
        n = expected_records(3, 40)
        c = checkpoints_for(n, 25)
        assert (report.records, report.checkpoints) == (n + c, c)
    finally:
        store.close()
