"""Live report counts in well under a second on a large store: old rows counted once.

The console's report page adds the roll-up (counts of every audit and transcript row up to a
watermark id, per day and key, in ``console_rollup``) to a scan of the rows after the
watermarks (a primary-key range: cheap). A background fold moves the watermarks forward
when many rows have arrived. Both tables are append-only (the audit trail is hash-chained,
the transcript is written once per event), so a counted row never changes; retention may
delete old rows, which the row count kept with each watermark reveals: the roll-up is then
ignored and rebuilt. The result is exactly what :func:`~safebot.console.activity.collect`
counts over the whole store.

Ids are not commit-ordered on PostgreSQL (two turns commit in either order), so a fold only
reaches rows written more than :data:`SETTLE_SECONDS` ago; anything newer is always scanned.

>>> keeper = RollupKeeper(store)                        # doctest: +SKIP
>>> activity = keeper.activity(Period())                 # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import logging
import threading
from collections import Counter

from sqlalchemy import Connection, delete, func, insert, select, update

from safebot.console._tables import RollupRow, WatermarkRow, ensure_tables
from safebot.console.activity import Activity, Counts, IdRange, Period, build, notifications, scan
from safebot.stores import SqlStore
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import AuditRow, TranscriptRow

__all__ = ["FOLD_AT", "SETTLE_SECONDS", "RollupKeeper"]

log = logging.getLogger("safebot.console")

#: fold when this many rows lie past a watermark
FOLD_AT = 5_000
#: rows younger than this are never folded (a transaction that took an id may still commit)
SETTLE_SECONDS = 300

_SOURCES: dict[str, type[AuditRow] | type[TranscriptRow]] = {"audit": AuditRow, "transcript": TranscriptRow}


class RollupKeeper:
    """Counts for the live report: roll-up + fresh rows, folded in the background."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        ensure_tables(store)
        self._folding = threading.Lock()
        self._thread: threading.Thread | None = None

    # -- reading --------------------------------------------------------------------------------
    def activity(self, period: Period) -> Activity:
        """The report's numbers for ``period`` (the same as ``collect``, faster)."""
        with mapped_errors(), self.store.engine.connect() as conn:
            marks = self._valid_marks(conn)
            counts: Counts = Counter()
            if marks:
                counts.update(self._rolled(conn, period))
            audit_upto = marks.get("audit", (0, 0))[0]
            transcript_upto = marks.get("transcript", (0, 0))[0]
            counts.update(scan(conn, period, IdRange(audit_upto), IdRange(transcript_upto)))
            behind = self._behind(conn, audit_upto, transcript_upto)
            notes = notifications(conn, period)
        if behind >= FOLD_AT or not marks:
            self.fold_soon()
        return build(counts, period, notes)

    def _valid_marks(self, conn: Connection) -> dict[str, tuple[int, int]]:
        """source -> (upto, rows), or {} when the roll-up is missing or no longer matches."""
        marks = {r.source: (int(r.upto), int(r.rows)) for r in conn.execute(select(WatermarkRow.source, WatermarkRow.upto, WatermarkRow.rows))}
        if set(marks) != set(_SOURCES):
            return {}
        for source, row in _SOURCES.items():
            upto, rows = marks[source]
            total = conn.execute(select(func.count()).select_from(row)).scalar_one()
            above = conn.execute(select(func.count()).where(row.id > upto)).scalar_one()
            if total - above != rows:
                log.info("console roll-up out of date (rows were deleted); rebuilding")
                return {}
        return marks

    @staticmethod
    def _rolled(conn: Connection, period: Period) -> Counts:
        r = RollupRow
        stmt = select(r.kind, r.day, r.a, r.b, r.c, r.n)
        if period.since is not None:
            stmt = stmt.where(r.day >= period.since.isoformat())
        if period.until is not None:
            stmt = stmt.where(r.day <= period.until.isoformat())
        return Counter({(k, d, a, b, c): int(n) for k, d, a, b, c, n in conn.execute(stmt)})

    @staticmethod
    def _behind(conn: Connection, audit_upto: int, transcript_upto: int) -> int:
        a = conn.execute(select(func.count()).where(AuditRow.id > audit_upto)).scalar_one()
        t = conn.execute(select(func.count()).where(TranscriptRow.id > transcript_upto)).scalar_one()
        return int(max(a, t))

    # -- folding --------------------------------------------------------------------------------
    def fold_soon(self) -> None:
        """Fold in a background thread (at most one at a time in this process)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._fold_quietly, name="safebot-console-rollup", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _fold_quietly(self) -> None:
        try:
            self.fold()
        except Exception as exc:  # noqa: BLE001 - a failed fold only costs speed; pages stay exact
            log.warning("console roll-up fold failed (%s)", type(exc).__name__)

    def fold(self, *, now: _dt.datetime | None = None) -> bool:
        """Count the settled rows past the watermarks into the roll-up; True if it moved.

        Another process folding at the same time loses nothing: the watermarks are updated
        only from the version this fold read, else this fold's counts are thrown away.
        """
        if not self._folding.acquire(blocking=False):
            return False
        try:
            return self._fold(now or _dt.datetime.now(_dt.UTC))
        finally:
            self._folding.release()

    def _fold(self, now: _dt.datetime) -> bool:
        settled = (now - _dt.timedelta(seconds=SETTLE_SECONDS)).isoformat()
        with mapped_errors(), self.store.engine.connect() as conn:
            marks = self._valid_marks(conn)
            versions = {r.source: int(r.version) for r in conn.execute(select(WatermarkRow.source, WatermarkRow.version))}
            start = {s: marks.get(s, (0, 0)) for s in _SOURCES}
            target: dict[str, int] = {}
            for source, row in _SOURCES.items():
                # The last id of a settled row (rows are appended in time order, give or take
                # a transaction's length; younger ones wait for the next fold).
                last = conn.execute(select(func.max(row.id)).where(row.time < settled)).scalar_one()
                target[source] = max(start[source][0], int(last or 0))
            if marks and all(target[s] == start[s][0] for s in _SOURCES):
                return False
            delta = scan(
                conn, Period(),
                IdRange(start["audit"][0], target["audit"]), IdRange(start["transcript"][0], target["transcript"]),
            )
            rows = {
                s: int(conn.execute(select(func.count()).where(row.id <= target[s])).scalar_one())
                for s, row in _SOURCES.items()
            }
            base: Counts = self._rolled(conn, Period()) if marks else Counter()
        base.update(delta)
        with mapped_errors(), self.store.write_engine.begin() as conn:
            now_versions = {r.source: int(r.version) for r in conn.execute(select(WatermarkRow.source, WatermarkRow.version))}
            if now_versions != versions:
                return False  # another process folded first; its roll-up stands
            conn.execute(delete(RollupRow))
            items = [{"kind": k, "day": d, "a": a, "b": b, "c": c, "n": n} for (k, d, a, b, c), n in base.items() if n]
            for i in range(0, len(items), 5000):
                conn.execute(insert(RollupRow), items[i : i + 5000])
            for source in _SOURCES:
                values = {"upto": target[source], "rows": rows[source], "version": versions.get(source, 0) + 1}
                if source in versions:
                    conn.execute(update(WatermarkRow).where(WatermarkRow.source == source).values(**values))
                else:
                    conn.execute(insert(WatermarkRow).values(source=source, **values))
        log.info("console roll-up folded to audit %d, transcript %d", target["audit"], target["transcript"])
        return True
