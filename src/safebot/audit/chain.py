"""Appending to the audit chain: one writer at a time, inside the writer's own transaction.

Every append locks the chain-head row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite write
transactions are serial already), numbers its records after the head, hashes each over the one
before, inserts them in one statement and moves the head. The unit of work calls this as the
last statement before its commit, so the lock is held for a few inserts and the commit, and a
holder never waits for another lock (no deadlock can involve it).

A signed checkpoint record follows every ``every``-th record when the store has the audit key
(:class:`~safebot.audit.signing.AuditSigner`), and on demand (:func:`write_checkpoint`).

>>> with store.write_engine.begin() as conn:                     # doctest: +SKIP
...     append_records(conn, [record], signer, every=1000)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Table, insert, select, update

from safebot.audit.canonical import GENESIS, record_hash, record_values
from safebot.audit.signing import AuditSigner, checkpoint_message
from safebot.redaction.audit import AuditRecord
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import AuditChainRow, AuditRow
from safebot.stores._uow import insert_ignore

if TYPE_CHECKING:  # pragma: no cover
    from safebot.stores.sql import SqlStore

__all__ = ["CHECKPOINT_EVERY", "ChainHead", "append_records", "lock_head", "read_head", "write_checkpoint"]

#: a signed checkpoint after every this many records (when the writer has the audit key)
CHECKPOINT_EVERY = 1000


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str
    anchor_seq: int = 0
    anchor_hash: str | None = None
    anchor_signature: str | None = None
    anchor_time: str | None = None


_HEAD_COLUMNS = (
    AuditChainRow.head_seq, AuditChainRow.head_hash, AuditChainRow.anchor_seq, AuditChainRow.anchor_hash,
    AuditChainRow.anchor_signature, AuditChainRow.anchor_time,
)


def _head(row: Any) -> ChainHead:
    return ChainHead(int(row[0]), row[1], int(row[2] or 0), row[3], row[4], row[5])


def read_head(conn: Connection) -> ChainHead | None:
    """The chain head as this transaction sees it (no lock); None if nothing was ever written."""
    row = conn.execute(select(*_HEAD_COLUMNS).where(AuditChainRow.id == 1)).first()
    return None if row is None else _head(row)


def lock_head(conn: Connection) -> ChainHead:
    """The chain head, locked until this transaction ends (created on first use)."""
    stmt = select(*_HEAD_COLUMNS).where(AuditChainRow.id == 1).with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        # Two first writers race here on PostgreSQL: the loser's insert waits for the winner's
        # commit and does nothing; its SELECT ... FOR UPDATE then waits for the winner's lock.
        insert_ignore(conn, AuditChainRow.__table__, {"id": 1, "head_seq": 0, "head_hash": GENESIS, "anchor_seq": 0})  # type: ignore[arg-type]
        row = conn.execute(stmt).first()
    assert row is not None
    return _head(row)


def _row(seq: int, prev: str, record: AuditRecord) -> tuple[dict[str, Any], str]:
    values = record_values(seq, record)
    digest = record_hash(prev, values)
    return {
        "seq": seq, "event": record.event, "policy_hash": record.policy_hash, "entity_type": record.entity_type,
        "recognizer": record.recognizer, "score": values[5], "destination": record.destination,
        "treatment": record.treatment, "conversation_id": record.conversation_id, "handler": record.handler,
        "reason": record.reason, "time": record.time, "detail": None if record.detail is None else dict(record.detail),
        "prev_hash": prev, "hash": digest,
    }, digest


def checkpoint_record(seq: int, prev: str, signer: AuditSigner) -> AuditRecord:
    """The checkpoint that signs position ``seq - 1`` (hash ``prev``)."""
    return AuditRecord(
        "checkpoint", "", detail={"covers": seq - 1, "key": signer.key_id,
                                   "signature": signer.sign(checkpoint_message(seq - 1, prev))},
    )


def append_records(
    conn: Connection,
    records: Sequence[AuditRecord],
    signer: AuditSigner | None = None,
    *,
    every: int = CHECKPOINT_EVERY,
    checkpoint: bool = False,
) -> int:
    """Chain ``records`` after the head (and a checkpoint when due); returns the new head position.

    Call it last in the transaction: the head stays locked until the commit.
    """
    head = lock_head(conn)
    seq, prev = head.seq, head.hash
    rows: list[dict[str, Any]] = []
    for record in records:
        seq += 1
        row, prev = _row(seq, prev, record)
        rows.append(row)
        if signer is not None and every > 0 and seq % every == 0:
            seq += 1
            row, prev = _row(seq, prev, checkpoint_record(seq, prev, signer))
            rows.append(row)
    if checkpoint and signer is not None and (not rows or rows[-1]["event"] != "checkpoint"):
        seq += 1
        row, prev = _row(seq, prev, checkpoint_record(seq, prev, signer))
        rows.append(row)
    if not rows:
        return seq
    # Core executemany (one prepared statement), not the ORM's bulk path: appends are hot.
    conn.execute(insert(cast(Table, AuditRow.__table__)), rows)
    conn.execute(update(AuditChainRow).where(AuditChainRow.id == 1).values(head_seq=seq, head_hash=prev))
    return seq


def write_checkpoint(store: SqlStore, signer: AuditSigner) -> int:
    """Sign the chain as it is now (a checkpoint record); returns the position it covers.

    Nothing is written when the last record already is a checkpoint.
    """
    with mapped_errors(), store.write_engine.begin() as conn:
        head = lock_head(conn)
        last = conn.execute(select(AuditRow.event).where(AuditRow.seq == head.seq)).scalar_one_or_none()
        if head.seq == 0 or last == "checkpoint":
            return head.seq - (1 if last == "checkpoint" else 0)
        append_records(conn, [], signer, checkpoint=True)
        return head.seq
