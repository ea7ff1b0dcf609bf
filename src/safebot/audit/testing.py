"""Tampering with an audit chain the way someone with write access to the database would:
for the tests and ``bench/audit.py``, to prove that ``verify_chain`` finds each kind.

Each function changes one record (or the order of two) with plain SQL and returns what
verification must report: ``(kind, position)``.

>>> with store.write_engine.begin() as conn:                 # doctest: +SKIP
...     expected = alter(conn, 17)
>>> expected in {(p.kind, p.position) for p in verify_chain(store, verifier).problems}  # doctest: +SKIP
True
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, String, delete, insert, select, type_coerce, update

from safebot.audit.canonical import record_hash
from safebot.stores._schema import AuditChainRow, AuditRow

__all__ = ["TAMPERINGS", "alter", "alter_and_rehash", "delete_and_renumber", "delete_record", "forge_insert", "random_tampering", "swap"]

Tampering = Callable[..., tuple[str, int]]
_t = AuditRow.__table__.c


def _fields(conn: Connection, seq: int) -> Any:
    cols = (_t.seq, _t.event, _t.policy_hash, _t.entity_type, _t.recognizer, _t.score, _t.destination,
            _t.treatment, _t.conversation_id, _t.handler, _t.reason, _t.time, type_coerce(_t.detail, String),
            _t.prev_hash, _t.hash)
    return conn.execute(select(*cols).where(_t.seq == seq)).one()


def alter(conn: Connection, seq: int) -> tuple[str, int]:
    """Change a field, leave the hash: the record no longer matches it."""
    conn.execute(update(AuditRow).where(AuditRow.seq == seq).values(entity_type="TAMPERED", score=0.01))
    return "altered", seq


def alter_and_rehash(conn: Connection, seq: int) -> tuple[str, int]:
    """Change a field and recompute the record's own hash (the algorithm is public): the next
    record's link to it breaks."""
    row = _fields(conn, seq)
    values = (row[0], row[1], row[2], "TAMPERED", *row[4:13])
    conn.execute(update(AuditRow).where(AuditRow.seq == seq).values(entity_type="TAMPERED", hash=record_hash(row[13], values)))
    return "altered", seq


def delete_record(conn: Connection, seq: int) -> tuple[str, int]:
    conn.execute(delete(AuditRow).where(AuditRow.seq == seq))
    return "deleted", seq


def forge_insert(conn: Connection, seq: int, *, renumber: bool = True) -> tuple[str, int]:
    """A forged record at position ``seq``, linked and hashed correctly (no key is needed for
    that). The unique position forces the forger to renumber every record after it, and the
    chain head, as they would; ``renumber=False`` models a forger who dropped the constraint
    (PostgreSQL only) and added a second record at the position."""
    row = _fields(conn, seq)
    values = (row[0], row[1], row[2], "FORGED", *row[4:13])
    if renumber:
        # two steps: a unique column cannot take seq + 1 while the next row still has it
        conn.execute(update(AuditRow).where(AuditRow.seq >= seq).values(seq=-(AuditRow.seq + 1)))
        conn.execute(update(AuditRow).where(AuditRow.seq < 0).values(seq=-AuditRow.seq))
        conn.execute(update(AuditChainRow).values(head_seq=AuditChainRow.head_seq + 1))
    conn.execute(insert(AuditRow).values(
        seq=seq, event=row[1], policy_hash=row[2], entity_type="FORGED", recognizer=row[4], score=row[5],
        destination=row[6], treatment=row[7], conversation_id=row[8], handler=row[9], reason=row[10], time=row[11],
        prev_hash=row[13], hash=record_hash(row[13], values),
    ))
    return "inserted", seq


def delete_and_renumber(conn: Connection, seq: int) -> tuple[str, int]:
    """Delete a record and close the gap (every later record moved down, the head too)."""
    conn.execute(delete(AuditRow).where(AuditRow.seq == seq))
    conn.execute(update(AuditRow).where(AuditRow.seq > seq).values(seq=-(AuditRow.seq - 1)))
    conn.execute(update(AuditRow).where(AuditRow.seq < 0).values(seq=-AuditRow.seq))
    conn.execute(update(AuditChainRow).values(head_seq=AuditChainRow.head_seq - 1))
    return "deleted", seq


def swap(conn: Connection, i: int, j: int) -> tuple[str, int]:
    """Exchange the positions of two records (a reordering)."""
    conn.execute(update(AuditRow).where(AuditRow.seq == i).values(seq=-1))
    conn.execute(update(AuditRow).where(AuditRow.seq == j).values(seq=i))
    conn.execute(update(AuditRow).where(AuditRow.seq == -1).values(seq=j))
    return "reordered", min(i, j)


TAMPERINGS: dict[str, Tampering] = {
    "alter": alter, "alter_and_rehash": alter_and_rehash, "delete": delete_record,
    "delete_and_renumber": delete_and_renumber, "insert": forge_insert,
    "swap_adjacent": lambda conn, seq: swap(conn, seq, seq + 1),
    "swap_far": lambda conn, seq, far: swap(conn, seq, far),
}


def random_tampering(conn: Connection, rng: random.Random, lo: int, hi: int) -> tuple[str, str, int]:
    """One random single-record tampering at a random position in ``lo..hi``: (name, kind, position)."""
    name = rng.choice(sorted(TAMPERINGS))
    seq = rng.randint(lo, hi - 1)
    if name == "swap_far":
        far = seq
        while far == seq:
            far = rng.randint(lo, hi)
        kind, pos = swap(conn, seq, far)
    else:
        kind, pos = TAMPERINGS[name](conn, seq)
    return name, kind, pos
