"""The chain as written: positions, hashes, checkpoints, and what a rolled-back turn leaves."""

from __future__ import annotations

import itertools
import json

import pytest

from safebot.audit.canonical import GENESIS, check_detail, detail_text, record_hash
from safebot.audit.chain import read_head, write_checkpoint
from safebot.audit.signing import AuditSigner, checkpoint_message
from safebot.audit.verify import verify_chain
from safebot.redaction.audit import AuditRecord
from safebot.stores import SqlStore
from safebot.stores._base import JSONText


def records(n: int, cid: str = "c-1") -> list[AuditRecord]:
    return [AuditRecord("redacted", "ph", entity_type="CREDIT_CARD", recognizer="CardRecognizer", score=0.5 + i / 1000,
                        destination="transcript", treatment="placeholder", conversation_id=cid) for i in range(n)]


def write(store: SqlStore, batches: list[int]) -> None:
    for n in batches:
        with store.unit_of_work() as uow:
            for r in records(n):
                uow.audit(r)


def test_positions_hashes_and_checkpoints(store: SqlStore, signer: AuditSigner) -> None:
    write(store, [3, 4, 5])  # 12 records, a checkpoint after position 10 (checkpoint_every=10)
    rows = store.audit_log()
    assert [r["seq"] for r in rows] == list(range(1, 14))
    assert rows[0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(rows))
    [cp] = [r for r in rows if r["event"] == "checkpoint"]
    assert cp["seq"] == 11 and cp["detail"]["covers"] == 10 and cp["detail"]["key"] == signer.key_id
    assert signer.verifier.verify(checkpoint_message(10, rows[9]["hash"]), cp["detail"]["signature"])
    report = verify_chain(store, signer.verifier)
    assert report.ok, report.problems
    assert (report.records, report.checkpoints, report.signed_through, report.unsigned_tail) == (13, 1, 10, 3)
    with store.engine.connect() as conn:
        head = read_head(conn)
    assert head is not None and (head.seq, head.hash) == (13, rows[-1]["hash"])


def test_hash_covers_every_field_and_the_position() -> None:
    base = (1, "redacted", "p", "CREDIT_CARD", "r", 0.9, "transcript", "placeholder", "c", None, None, "t", None)
    seen = {record_hash(GENESIS, base)}
    for i in range(len(base)):
        changed = list(base)
        changed[i] = 2 if i == 0 else (0.8 if i == 5 else "x")
        seen.add(record_hash(GENESIS, tuple(changed)))
    seen.add(record_hash("1" * 64, base))
    assert len(seen) == len(base) + 2
    # the hash tells 1 from 1.0, which is why record_values stores every score as a float
    assert record_hash(GENESIS, (*base[:5], 1, *base[6:])) != record_hash(GENESIS, (*base[:5], 1.0, *base[6:]))


def test_detail_text_is_what_the_store_writes() -> None:
    detail = {"transcripts": 3, "b": "x:y", "a": None}
    assert detail_text(detail) == JSONText().process_bind_param(detail, None)  # type: ignore[arg-type]
    assert json.loads(detail_text(detail) or "") == detail


@pytest.mark.parametrize("detail", [
    {"note": "card 4111 1111 1111 1111"}, {"Bad Key": 1}, {"x": 1.5}, {"x": True}, {"x": "a" * 200}, {"x": ["a"]},
])
def test_detail_refuses_anything_like_text(detail: dict[str, object]) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        check_detail(detail)
    assert "4111" not in str(info.value)


def test_a_rolled_back_turn_leaves_no_record_and_no_gap(store: SqlStore, signer: AuditSigner) -> None:
    write(store, [2])
    with pytest.raises(RuntimeError), store.unit_of_work() as uow:
        uow.audit(records(1)[0])
        raise RuntimeError("handler failed")
    write(store, [2])
    assert [r["seq"] for r in store.audit_log()] == [1, 2, 3, 4]
    assert verify_chain(store, signer.verifier).ok


def test_checkpoint_on_demand(store: SqlStore, signer: AuditSigner) -> None:
    assert write_checkpoint(store, signer) == 0  # nothing to sign yet
    write(store, [3])
    assert write_checkpoint(store, signer) == 3
    assert write_checkpoint(store, signer) == 3  # the last record is already a checkpoint
    report = verify_chain(store, signer.verifier)
    assert report.ok and report.signed_through == 3 and report.unsigned_tail == 1


def test_another_key_does_not_verify(store: SqlStore, signer: AuditSigner) -> None:
    write(store, [12])
    report = verify_chain(store, AuditSigner(bytes(32)).verifier)
    assert [(p.kind, p.position) for p in report.problems] == [("signature", 11)]
    unchecked = verify_chain(store, None)
    assert unchecked.ok and not unchecked.signatures_checked


def test_a_store_without_the_audit_key_still_chains(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from safebot.stores.vault import KeyRing

    s = SqlStore(f"sqlite:///{tmp_path / 'x.sqlite3'}", keyring=KeyRing.generate(), checkpoint_every=2)
    try:
        write(s, [5])
        assert [r["event"] for r in s.audit_log()] == ["redacted"] * 5
        assert verify_chain(s, None).ok
    finally:
        s.close()
