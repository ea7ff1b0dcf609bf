"""Walking the audit chain: every deleted, altered, inserted or reordered record, by position.

One pass in position order does the work: a record is good when its position is the next one,
its ``prev_hash`` is the stored hash of the record before and its own hash matches its fields.
Anything else is classified on the spot (a gap is a deletion, a repeated position an insertion,
a hash that matches the fields only at another position a reordering) and the walk goes on, so
one tampering never hides the next. Only when a record fails and the nearby positions do not
explain it does a second pass look up where its predecessor is now (a record moved far away).

Checkpoint records are checked against the public key, the retention anchor too, and the
chain-head row tells whether records were cut off the end.

>>> report = verify_chain(store, verifier)             # doctest: +SKIP
>>> print(report.summary())                           # doctest: +SKIP
1204 records (positions 1..1204), 1 signed checkpoint(s), signed through 1000: OK
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, Engine, String, func, select, type_coerce

from safebot.audit.canonical import GENESIS, record_hash
from safebot.audit.chain import ChainHead, read_head
from safebot.audit.signing import AuditVerifier, anchor_message, checkpoint_message
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import AuditRow

if TYPE_CHECKING:  # pragma: no cover
    from safebot.stores.sql import SqlStore

__all__ = ["Problem", "ProblemKind", "VerifyReport", "verify_chain"]

ProblemKind = Literal["deleted", "altered", "inserted", "reordered", "signature", "anchor", "head"]

#: positions around a failing record tried as the one it was written at (a short move)
_NEARBY = 32
#: how far a far-moved record's predecessor may have been renumbered
_FAR_WINDOW = 256
#: a damaged chain is reported in full up to this many problems, then only counted
_MAX_PROBLEMS = 10_000


@dataclass(frozen=True)
class Problem:
    """One finding: what, at which position (``None`` when the record has none), and why."""

    kind: ProblemKind
    position: int | None
    message: str

    def __str__(self) -> str:
        where = f"position {self.position}" if self.position is not None else "no position"
        return f"{where}: {self.kind}: {self.message}"

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "position": self.position, "message": self.message}


@dataclass
class VerifyReport:
    records: int = 0
    first: int | None = None
    last: int | None = None
    anchor: int = 0
    checkpoints: int = 0
    #: the last position a valid signature (checkpoint or anchor) vouches for
    signed_through: int = 0
    head: int = 0
    #: records at or before the anchor, outside the chain (a retention run still deleting them)
    below_anchor: int = 0
    signatures_checked: bool = True
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unsigned_tail(self) -> int:
        """Records after the last signature: hash-chained, not yet signed."""
        return max(0, (self.last or 0) - self.signed_through)

    def add(self, kind: ProblemKind, position: int | None, message: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(Problem(kind, position, message))
        else:
            self.more_problems += 1

    def summary(self) -> str:
        span = f"positions {self.first}..{self.last}" if self.records else "no records"
        signed = (f"{self.checkpoints} signed checkpoint(s), signed through {self.signed_through}"
                  if self.signatures_checked else "signatures not checked (no key)")
        anchor = f", anchored at {self.anchor} by retention" if self.anchor else ""
        state = "OK" if self.ok else f"{len(self.problems) + self.more_problems} problem(s)"
        return f"{self.records} records ({span}){anchor}, {signed}: {state}"

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok, "records": self.records, "first": self.first, "last": self.last, "anchor": self.anchor,
            "head": self.head, "checkpoints": self.checkpoints, "signed_through": self.signed_through,
            "unsigned_tail": self.unsigned_tail, "signatures_checked": self.signatures_checked,
            "problems": [p.to_json() for p in self.problems], "more_problems": self.more_problems,
        }


_t = AuditRow.__table__.c
_COLUMNS = (
    _t.id, _t.seq, _t.prev_hash, _t.hash, _t.event, _t.policy_hash, _t.entity_type, _t.recognizer, _t.score,
    _t.destination, _t.treatment, _t.conversation_id, _t.handler, _t.reason, _t.time,
    # the JSON text exactly as stored: that is what the hash covers
    type_coerce(_t.detail, String),
)


def _score(value: Any) -> Any:
    # The canonical form has a float (a tampered text value hashes as itself and fails).
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _values(seq: int, row: Any) -> tuple[Any, ...]:
    return (seq, row[4], row[5], row[6], row[7], _score(row[8]), *row[9:16])


def _rows(conn: Connection, upto: int | None, after: int) -> Iterator[Any]:
    stmt = select(*_COLUMNS).where(_t.seq > after)
    if upto is not None:
        stmt = stmt.where(_t.seq <= upto)
    stmt = stmt.order_by(_t.seq, _t.id)
    if conn.dialect.name != "sqlite":
        result = conn.execution_options(stream_results=True, yield_per=20_000).execute(stmt)
        for part in result.partitions():
            yield from part
        return
    # SQLite: the DB-API cursor directly (no schema mapping there). A million rows through
    # SQLAlchemy's result machinery cost more than hashing them.
    compiled = stmt.compile(dialect=conn.dialect)
    params = compiled.construct_params()
    raw = conn.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        cursor.execute(str(compiled), [params[k] for k in compiled.positiontup or ()])
        while batch := cursor.fetchmany(20_000):
            yield from batch
    finally:
        cursor.close()


def verify_chain(
    store: SqlStore | Engine,
    verifier: AuditVerifier | None,
    *,
    upto: int | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
) -> VerifyReport:
    """Walk the chain (up to position ``upto``) and report every problem found.

    ``verifier`` checks checkpoint and anchor signatures; with ``None`` they are not checked
    (the report says so). With ``workers > 1`` the positions are split into that many ranges
    walked by forked processes (POSIX only) and their seams checked here: for long chains on
    a machine with cores to spare. Records appended meanwhile are beyond the head read first,
    so they do not disturb the walk.
    """
    engine = store if isinstance(store, Engine) else store.engine
    report = VerifyReport(signatures_checked=verifier is not None)
    with mapped_errors(), engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # head row and records from one snapshot, whatever commits meanwhile
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        head = read_head(conn)
        # SQLite: the first read above opened the transaction, so both reads share a snapshot.
        unplaced = conn.execute(select(_t.id).where(_t.seq.is_(None)).order_by(_t.id)).scalars().all()
        start = _start(conn, head, verifier, report)
        stop = upto if upto is not None else (head.seq if head is not None else None)
        if workers > 1 and stop is not None and stop - start.expected > 10_000 * workers and hasattr(os, "fork"):
            pending = _walk_parallel(engine, start, stop, verifier, report, workers)
        else:
            end = _walk(conn, start, upto, verifier, report, progress)
            pending = end.pending
            _merge(end, report)
            _head_check(head, end, upto, report)
        if pending:
            _explain_far_moves(conn, pending, report)
    for row_id in unplaced:
        report.add("inserted", None, f"record id {row_id} has no chain position (written outside the chain)")
    report.problems.sort(key=lambda p: (p.position if p.position is not None else -1))
    return report


class _Peekable:
    def __init__(self, rows: Iterator[Any]) -> None:
        self._rows = rows
        self._next: Any = None
        self._has = False

    def __iter__(self) -> _Peekable:
        return self

    def __next__(self) -> Any:
        if self._has:
            self._has = False
            return self._next
        return next(self._rows)

    def peek(self) -> Any:
        if not self._has:
            self._next = next(self._rows, None)
            self._has = True
        return self._next


@dataclass
class _State:
    """Where a walk stands: the next position, the hash it must link to, the renumbering offset."""

    expected: int
    prev: str | None  # None: take the first record's link on trust (a range walked in parallel)
    offset: int = 0
    last_ok: bool = True
    last_id: int = -1
    records: int = 0
    first: int | None = None
    last: int | None = None
    checkpoints: int = 0
    signed_through: int = 0
    head: ChainHead | None = None
    first_prev: str | None = None
    pending: list[tuple[int, str, tuple[Any, ...], str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _start(conn: Connection, head: ChainHead | None, verifier: AuditVerifier | None, report: VerifyReport) -> _State:
    anchor_seq, prev = 0, GENESIS
    if head is None:
        exists = conn.execute(select(func.count()).select_from(AuditRow.__table__)).scalar_one()
        if exists:
            report.add("head", None, "the chain-head row is missing (checked from position 1)")
    else:
        report.head = head.seq
        if head.anchor_seq:
            anchor_seq, prev = head.anchor_seq, head.anchor_hash or ""
            report.anchor = anchor_seq
            if verifier is not None:
                message = anchor_message(anchor_seq, prev, head.anchor_time or "")
                if verifier.verify(message, head.anchor_signature):
                    report.signed_through = anchor_seq
                else:
                    report.add("anchor", anchor_seq, "the retention anchor's signature does not verify")
    # Records at or before the anchor are outside the chain: retention is deleting them.
    report.below_anchor = conn.execute(
        select(func.count()).select_from(AuditRow.__table__).where(_t.seq <= anchor_seq)
    ).scalar_one() if anchor_seq else 0
    return _State(expected=anchor_seq + 1, prev=prev, head=head)


def _walk(
    conn: Connection, state: _State, upto: int | None, verifier: AuditVerifier | None, report: VerifyReport,
    progress: Callable[[int], None] | None = None, *, stop: int | None = None,
) -> _State:
    """Walk positions from ``state.expected`` (up to ``upto``; a range stops after ``stop`` but
    may look one record further); problems go to ``report``."""
    expected, prev, offset, last_ok, last_id = state.expected, state.prev, state.offset, state.last_ok, state.last_id
    walked = 0
    limit = upto if stop is None else stop + 1
    rows = _Peekable(_rows(conn, limit, expected - 1))
    for row in rows:
        row_id, seq, prev_hash, stored = row[0], int(row[1]), row[2], row[3]
        if stop is not None and seq > stop:
            break
        walked += 1
        if progress is not None and walked % 100_000 == 0:
            progress(walked)
        if prev is None:  # the first record of a parallel range: its link is checked at the seam
            prev, state.first_prev = prev_hash, prev_hash
            offset = _initial_offset(prev_hash, row, stored, seq)
        values = _values(seq - offset, row)
        if seq == expected and prev_hash == prev and record_hash(prev_hash, values) == stored:
            if row_id <= last_id:
                report.add("reordered", seq, "stored out of order (its row id is lower than its predecessor's)")
            if row[4] == "checkpoint":
                _checkpoint(seq - offset, prev, row[15], verifier, state)
            state.records += 1
            state.first = seq if state.first is None else state.first
            state.last = seq
            prev, expected, last_id, last_ok = stored, seq + 1, row_id, True
            continue
        # -- something is wrong here: say what ------------------------------------------------
        if seq < expected:
            report.add("inserted", seq, "a second record at this position")
            continue
        if seq > expected:
            span = f"{expected}" if seq == expected + 1 else f"{expected}..{seq - 1}"
            report.add("deleted", expected, f"record(s) at position {span} are missing")
            last_ok = False  # the link to the missing record cannot hold
        self_ok = record_hash(prev_hash, values) == stored
        if not self_ok:
            written = _nearby_position(prev_hash, values, stored, seq - offset)
            if written is None:
                state.pending.append((seq, prev_hash, values, stored))
            else:
                shift = (seq - offset) - written
                nxt = rows.peek()
                # Does the record after it follow on from this one, at the same shift? Then the
                # records were renumbered (one inserted or deleted before this), not moved.
                renumbered = (
                    nxt is not None and int(nxt[1]) == seq + 1 and nxt[2] == stored
                    and record_hash(nxt[2], _values(seq + 1 - offset - shift, nxt)) == nxt[3]
                )
                if renumbered and shift > 0:
                    first = seq - shift
                    span = f"{first}" if shift == 1 else f"{first}..{seq - 1}"
                    report.add("inserted", first, f"record(s) at position {span} were added (the rest renumbered)")
                    offset += shift
                    self_ok = True
                elif renumbered and shift < 0:
                    report.add("deleted", seq, f"{-shift} record(s) before this one are missing (the rest renumbered)")
                    offset += shift
                    self_ok = True
                else:
                    report.add("reordered", seq, f"this record was written at position {written}")
        elif prev_hash != prev and last_ok:
            report.add("altered", seq - 1, "its hash was rewritten: the next record no longer links to it")
        state.records += 1
        state.first = seq if state.first is None else state.first
        state.last = seq
        prev, expected, last_id, last_ok = stored, seq + 1, row_id, self_ok
    state.expected, state.prev, state.offset, state.last_ok, state.last_id = expected, prev, offset, last_ok, last_id
    return state


def _initial_offset(prev_hash: str, row: Any, stored: str, seq: int) -> int:
    """The renumbering offset a parallel range starts with (a record inserted or deleted before
    it shifted the positions): the one at which its first record's hash holds."""
    for k in _around(_FAR_WINDOW):
        if record_hash(prev_hash, _values(seq - k, row)) == stored:
            return k
    return 0


def _head_check(head: ChainHead | None, state: _State, upto: int | None, report: VerifyReport) -> None:
    if head is None or upto is not None:
        return
    last = state.expected - 1
    if head.seq > last:
        span = f"{last + 1}" if head.seq == last + 1 else f"{last + 1}..{head.seq}"
        report.add("deleted", last + 1, f"record(s) at position {span}, the end of the chain, are missing")
    elif head.seq < last:
        report.add("inserted", head.seq + 1, f"record(s) after the recorded head ({head.seq})")
    elif head.seq and head.hash != state.prev:
        report.add("altered", last, "the last record does not match the chain head")


# -- parallel ranges -------------------------------------------------------------------------------
_fork_engine: Engine | None = None


def _walk_range(args: tuple[int, int, str | None, bool]) -> tuple[_State, VerifyReport]:
    lo, hi, public_key, _first = args
    assert _fork_engine is not None
    verifier = AuditVerifier.from_hex(public_key) if public_key else None
    report = VerifyReport()
    state = _State(expected=lo + 1, prev=None)
    with _fork_engine.connect() as conn:
        _walk(conn, state, None, verifier, report, stop=hi)
    state.head = None
    return state, report


def _walk_parallel(
    engine: Engine, start: _State, stop: int, verifier: AuditVerifier | None, report: VerifyReport, workers: int,
) -> list[tuple[int, str, tuple[Any, ...], str]]:
    import concurrent.futures
    import multiprocessing

    global _fork_engine
    bounds = [start.expected - 1 + (stop - start.expected + 1) * i // workers for i in range(workers + 1)]
    ranges = [(bounds[i], bounds[i + 1], verifier.public_key_hex if verifier else None, i == 0) for i in range(workers)]
    _fork_engine = engine
    engine.dispose(close=False)  # the children open their own connections
    try:
        ctx = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            results = list(pool.map(_walk_range, ranges))
    finally:
        _fork_engine = None
    pending: list[tuple[int, str, tuple[Any, ...], str]] = []
    before: _State | None = None
    for (state, part), (lo, _hi, _pk, _first) in zip(results, ranges, strict=True):
        for p in part.problems:
            report.add(p.kind, p.position, p.message)
        pending += state.pending
        if before is None:
            # the first range must link to the anchor (or genesis)
            if state.first_prev is not None and state.first == lo + 1 and state.first_prev != start.prev and state.offset == 0:
                report.add("altered", lo, "the first record does not link to the chain's start")
        elif (state.first is not None and before.last is not None and state.first == before.expected
              and state.first_prev != before.prev and before.last_ok):
            report.add("altered", before.last, "its hash was rewritten: the next record no longer links to it")
        before = state if state.last is not None else before
        _merge(state, report)
    if before is not None:
        _head_check(start.head, before, None, report)
    return pending


def _merge(state: _State, report: VerifyReport) -> None:
    report.records += state.records
    report.first = state.first if report.first is None else report.first
    report.last = state.last if state.last is not None else report.last
    report.checkpoints += state.checkpoints
    report.signed_through = max(report.signed_through, state.signed_through)
    for p in state.problems:
        report.add(p.kind, p.position, p.message)


def _checkpoint(seq: int, prev: str, detail: str | None, verifier: AuditVerifier | None, report: _State) -> None:
    if verifier is None:
        return
    try:
        data = json.loads(detail or "null")
    except ValueError:
        data = None
    covers = data.get("covers") if isinstance(data, dict) else None
    if covers != seq - 1 or not verifier.verify(checkpoint_message(seq - 1, prev), data.get("signature")):
        report.problems.append(Problem("signature", seq, "the checkpoint's signature does not verify with this public key"))
        return
    report.checkpoints += 1
    report.signed_through = seq - 1


def _nearby_position(prev_hash: str, values: tuple[Any, ...], stored: str, seq: int) -> int | None:
    """The position near ``seq`` at which the record's hash does hold (it was written there)."""
    for delta in _around(_NEARBY):
        if delta and seq + delta > 0 and record_hash(prev_hash, (seq + delta, *values[1:])) == stored:
            return seq + delta
    return None


def _explain_far_moves(conn: Connection, pending: list[tuple[int, str, tuple[Any, ...], str]], report: VerifyReport) -> None:
    """Second pass, only for failures the walk could not explain: where is each one's
    predecessor now? If the record hashes right just after it, the record was moved."""
    wanted = {p[1] for p in pending}
    where: dict[str, int] = {}
    stmt = select(_t.hash, _t.seq).where(_t.seq.is_not(None))
    for part in conn.execution_options(stream_results=True, yield_per=50_000).execute(stmt).partitions():
        for digest, seq in part:
            if digest in wanted:
                where[digest] = int(seq)
    for seq, prev_hash, values, stored in pending:
        origin = where.get(prev_hash)
        written = None
        if origin is not None:
            # its predecessor may itself have been renumbered since: try the positions around
            written = next((origin + 1 + k for k in _around(_FAR_WINDOW)
                            if record_hash(prev_hash, (origin + 1 + k, *values[1:])) == stored), None)
        if written is not None:
            report.add("reordered", seq, f"this record was written at position {written}")
        else:
            report.add("altered", seq, "its fields do not match its hash")


def _around(n: int) -> Iterator[int]:
    yield 0
    for k in range(1, n + 1):
        yield k
        yield -k
