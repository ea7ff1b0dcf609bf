"""Verification finds every kind of tampering at its position, and keeps going after one."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import insert, update

from safebot.audit.chain import write_checkpoint
from safebot.audit.signing import AuditSigner
from safebot.audit.testing import (
    alter,
    alter_and_rehash,
    delete_and_renumber,
    delete_record,
    forge_insert,
    random_tampering,
    swap,
)
from safebot.audit.verify import verify_chain
from safebot.redaction.audit import AuditRecord
from safebot.stores import SqlStore
from safebot.stores._schema import AuditChainRow, AuditRow


def fill(store: SqlStore, n: int) -> None:
    with store.unit_of_work() as uow:
        for i in range(n):
            uow.audit(AuditRecord("redacted", "ph", entity_type="EMAIL_ADDRESS", recognizer="EmailRecognizer",
                                  score=0.9, destination="analytics", treatment="hash", conversation_id=f"c-{i % 7}"))


def found(store: SqlStore, signer: AuditSigner) -> set[tuple[str, int | None]]:
    report = verify_chain(store, signer.verifier)
    assert not report.ok
    return {(p.kind, p.position) for p in report.problems}


CASES = [
    ("alter a field", lambda c: alter(c, 5)),
    ("alter and rehash", lambda c: alter_and_rehash(c, 5)),
    ("alter the last record and rehash", lambda c: alter_and_rehash(c, 25)),
    ("alter a checkpoint", lambda c: alter(c, 11)),
    ("delete", lambda c: delete_record(c, 5)),
    ("delete the first", lambda c: delete_record(c, 1)),
    ("delete the last", lambda c: delete_record(c, 25)),
    ("delete a checkpoint", lambda c: delete_record(c, 11)),
    ("delete and renumber", lambda c: delete_and_renumber(c, 5)),
    ("insert a forged record", lambda c: forge_insert(c, 5)),
    ("insert a forged record before a checkpoint", lambda c: forge_insert(c, 10)),
    ("swap neighbours", lambda c: swap(c, 5, 6)),
    ("swap far apart", lambda c: swap(c, 3, 20)),
]


@pytest.mark.parametrize(("name", "tamper"), CASES, ids=[c[0] for c in CASES])
def test_each_tampering_is_found_at_its_position(store: SqlStore, signer: AuditSigner, name: str, tamper) -> None:  # type: ignore[no-untyped-def]
    fill(store, 24)  # positions 1..25, a checkpoint at 11 (checkpoint_every=10)
    assert verify_chain(store, signer.verifier).ok
    with store.write_engine.begin() as conn:
        kind, position = tamper(conn)
    assert (kind, position) in found(store, signer)


def test_swaps_are_reported_at_both_ends(store: SqlStore, signer: AuditSigner) -> None:
    fill(store, 30)
    with store.write_engine.begin() as conn:
        swap(conn, 3, 28)
    assert {("reordered", 3), ("reordered", 28)} <= found(store, signer)


def test_one_insertion_is_one_problem(store: SqlStore, signer: AuditSigner) -> None:
    fill(store, 40)
    with store.write_engine.begin() as conn:
        forge_insert(conn, 7)
        delete_and_renumber(conn, 30)
    report = verify_chain(store, signer.verifier)
    assert [(p.kind, p.position) for p in report.problems] == [("inserted", 7), ("deleted", 30)]
    assert report.checkpoints == 4  # at 11, 22, 33, 44: still checked at the positions they were signed at


def test_a_second_record_at_a_position(store: SqlStore, signer: AuditSigner) -> None:
    if store.backend != "postgresql":
        pytest.skip("SQLite cannot drop the unique constraint on seq without rebuilding the table")
    fill(store, 12)
    with store.write_engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL search_path TO " + store.engine.get_execution_options()["schema_translate_map"][None])
        conn.exec_driver_sql("ALTER TABLE audit DROP CONSTRAINT audit_seq_key")
        forge_insert(conn, 5, renumber=False)
    assert ("inserted", 5) in found(store, signer)


def test_an_unplaced_record(store: SqlStore, signer: AuditSigner) -> None:
    fill(store, 12)
    with store.write_engine.begin() as conn:
        conn.execute(insert(AuditRow).values(event="redacted", policy_hash="p", time="2025-01-01T00:00:00+00:00"))
    assert ("inserted", None) in found(store, signer)


def test_records_after_the_head(store: SqlStore, signer: AuditSigner) -> None:
    fill(store, 5)
    with store.write_engine.begin() as conn:
        conn.execute(update(AuditChainRow).values(head_seq=3))
    assert ("inserted", 4) in found(store, signer)


def test_many_tamperings_in_one_walk(store: SqlStore, signer: AuditSigner) -> None:
    fill(store, 400)
    rng = random.Random(7)
    expected = []
    with store.write_engine.begin() as conn:
        for lo in range(10, 380, 40):  # far enough apart not to touch each other
            name, kind, position = random_tampering(conn, rng, lo, lo + 5)
            if name == "swap_far":
                continue  # its other end may land anywhere; covered above
            expected.append((kind, position))
    problems = found(store, signer)
    assert expected and all(e in problems for e in expected), (expected, problems)


def test_verifying_up_to_a_position(store: SqlStore, signer: AuditSigner) -> None:
    fill(store, 30)
    write_checkpoint(store, signer)
    with store.write_engine.begin() as conn:
        alter(conn, 25)
    assert verify_chain(store, signer.verifier, upto=20).ok
    assert not verify_chain(store, signer.verifier).ok


@pytest.mark.slow
def test_parallel_ranges_find_the_same(store: SqlStore, signer: AuditSigner) -> None:
    fill(store, 24_000)
    clean = verify_chain(store, signer.verifier, workers=2)
    assert clean.ok, clean.problems
    assert (clean.records, clean.checkpoints) == (lambda r: (r.records, r.checkpoints))(verify_chain(store, signer.verifier))
    seam = clean.records // 2  # where the two ranges meet
    with store.write_engine.begin() as conn:
        expected = {alter(conn, 100), alter_and_rehash(conn, seam), delete_record(conn, seam + 1000),
                    forge_insert(conn, seam + 3000), swap(conn, 20_000, 20_001)}
    serial = {(p.kind, p.position) for p in verify_chain(store, signer.verifier).problems}
    parallel = {(p.kind, p.position) for p in verify_chain(store, signer.verifier, workers=2).problems}
    assert expected <= serial, (expected, serial)
    assert parallel == serial
