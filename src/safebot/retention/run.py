"""Applying retention: delete what is older than its class allows, record the counts, keep the
audit chain verifiable.

Audit records go oldest first, and only a prefix of the chain that still verifies. In one short
transaction under the chain-head lock the anchor moves to the last record to go (its position
and hash, signed with the audit key) and a ``retention`` record with the counts per class is
appended; then the records up to the anchor are deleted in batches. ``verify_chain`` starts at
the signed anchor, so the chain stays whole: the first remaining record links to the anchor's
hash, and an anchor nobody signed, or records cut beyond it, are reported.

>>> report = run_retention(bot)                  # doctest: +SKIP
>>> report.deleted                               # doctest: +SKIP
{'transcripts': 120, 'vault': 4, 'deliveries': 0, 'consent': 0, 'audit': 5000}
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Table, delete, func, select, text, update

from safebot.audit.chain import append_records, lock_head, read_head
from safebot.audit.signing import AuditSigner, anchor_message
from safebot.audit.verify import verify_chain
from safebot.redaction.audit import AuditRecord
from safebot.retention.registry import CLASSES, DataClass
from safebot.stores._base import Base
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import AuditChainRow, AuditRow

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine.config import BotConfig
    from safebot.stores.sql import SqlStore

__all__ = ["RetentionReport", "run_retention"]

log = logging.getLogger("safebot.retention")

#: rows deleted per transaction: short transactions, so serving goes on meanwhile
BATCH = 5000
_LOCK_ID = 8431207713  # PostgreSQL advisory lock: one retention run at a time across processes


class _BotLike(Protocol):
    bot_dir: Path
    config: BotConfig
    store: SqlStore


@dataclass
class RetentionReport:
    """What one run did: rows deleted per class (never values), what was skipped and why."""

    time: str
    deleted: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    #: the chain's new start (position of the last audit record deleted), if it moved
    anchor: int | None = None
    #: position of the ``retention`` audit record this run wrote
    audit_position: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "deleted": self.deleted, "skipped": self.skipped, "anchor": self.anchor,
                "audit_position": self.audit_position}


def _iso(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.UTC).isoformat(timespec="microseconds")


def _signer(bot: Any) -> AuditSigner:
    signer = getattr(bot, "signer", None) or bot.store.audit_signer
    if signer is None:
        from safebot.audit.bot import bot_keys

        signer = AuditSigner(bot_keys(Path(bot.bot_dir), bot.config).key("audit"))
    return signer  # type: ignore[no-any-return]


def run_retention(bot: _BotLike, *, now: _dt.datetime | None = None) -> RetentionReport:
    """Apply ``bot.config.retention``; the counts go into the audit trail as a ``retention`` record.

    ``bot`` is an engine ``Bot`` or a :class:`~safebot.audit.bot.BotStore` (anything with
    ``bot_dir``, ``config`` and ``store``). Safe to call from several processes: on PostgreSQL
    one run at a time goes ahead, the others return at once with everything skipped.
    """
    moment = now or _dt.datetime.now(_dt.UTC)
    report = RetentionReport(time=_iso(moment))
    periods = bot.config.retention
    store = bot.store
    with _one_at_a_time(store) as ours:
        if not ours:
            report.skipped = {c.name: "another retention run holds the lock" for c in CLASSES}
            return report
        for dc in CLASSES:
            period = getattr(periods, dc.name, None)
            if period is None:
                report.skipped[dc.name] = "no retention period configured (kept)"
                continue
            cutoff = _iso(moment - _dt.timedelta(seconds=period))
            if dc.name == "audit":
                continue  # last: its record carries every count
            count, missing = _delete_class(store, dc, cutoff)
            report.deleted[dc.name] = count
            if missing and len(missing) == len(dc.tables):
                report.skipped[dc.name] = "not stored by this installation"
                del report.deleted[dc.name]
        signer = _signer(bot)
        audit_period = getattr(periods, "audit", None)
        audit_cutoff = None if audit_period is None else _iso(moment - _dt.timedelta(seconds=audit_period))
        _retire_audit(store, signer, audit_cutoff, report)
    if store.backend == "sqlite" and any(report.deleted.values()):
        store.checkpoint()  # deleted rows out of the WAL too (secure_delete zeroes their pages)
    return report


class _one_at_a_time:
    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._conn: Any = None

    def __enter__(self) -> bool:
        if self._store.backend != "postgresql":
            return True
        with mapped_errors():
            self._conn = self._store.engine.connect()
            got = self._conn.execute(text(f"SELECT pg_try_advisory_lock({_LOCK_ID})")).scalar_one()
            self._conn.commit()
        return bool(got)

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text(f"SELECT pg_advisory_unlock({_LOCK_ID})"))
                self._conn.commit()
            finally:
                self._conn.close()


def _delete_class(store: SqlStore, dc: DataClass, cutoff: str) -> tuple[int, list[str]]:
    total, missing = 0, []
    for rule in dc.tables:
        table = Base.metadata.tables.get(rule.table)
        if table is None:
            missing.append(rule.table)
            continue
        total += _delete_older(store, table, rule.column, cutoff, rule.where)
    return total, missing


def _delete_older(store: SqlStore, table: Table, column: str, cutoff: str, where: Any) -> int:
    pk = next(iter(table.primary_key.columns))
    col = table.c[column]
    condition = col.is_not(None) & (col < cutoff)
    if where is not None:
        condition = condition & where(table)
    total = 0
    while True:
        with mapped_errors(), store.write_engine.begin() as conn:
            ids = conn.execute(select(pk).where(condition).limit(BATCH)).scalars().all()
            if not ids:
                return total
            conn.execute(delete(table).where(pk.in_(ids)))
        total += len(ids)


def _retire_audit(store: SqlStore, signer: AuditSigner, cutoff: str | None, report: RetentionReport) -> None:
    t = AuditRow.__table__.c
    upto = None
    if cutoff is not None:
        with mapped_errors(), store.engine.connect() as conn:
            head = read_head(conn)
            anchor = head.anchor_seq if head else 0
            first_kept = conn.execute(
                select(func.min(t.seq)).where(t.seq > anchor, t.time >= cutoff)
            ).scalar_one_or_none()
            last = head.seq if head else 0
        upto = (int(first_kept) - 1) if first_kept is not None else last
        if upto <= anchor:
            upto = None
    expected_hash = None
    if upto is not None:
        # Never delete evidence of tampering: the part to go must verify first.
        check = verify_chain(store, signer.verifier, upto=upto)
        if not check.ok:
            report.skipped["audit"] = f"the chain does not verify up to position {upto} ({len(check.problems)} problem(s)); nothing deleted"
            upto = None
        else:
            with mapped_errors(), store.engine.connect() as conn:
                expected_hash = conn.execute(select(t.hash).where(t.seq == upto)).scalar_one()
    with mapped_errors(), store.write_engine.begin() as conn:
        head = lock_head(conn)
        detail: dict[str, int | str | None] = {k: v for k, v in report.deleted.items()}
        if upto is not None and expected_hash is not None:
            detail["audit"] = upto - head.anchor_seq
            stamp = report.time
            conn.execute(update(AuditChainRow).where(AuditChainRow.id == 1).values(
                anchor_seq=upto, anchor_hash=expected_hash, anchor_time=stamp,
                anchor_signature=signer.sign(anchor_message(upto, expected_hash, stamp)),
            ))
            detail["anchor"] = upto
            detail["anchor_key"] = signer.key_id
            report.anchor = upto
            report.deleted["audit"] = int(detail["audit"] or 0)
        elif cutoff is not None and "audit" not in report.skipped:
            report.deleted["audit"] = 0
            detail["audit"] = 0
        record = AuditRecord("retention", "", time=report.time[:23] + "+00:00", detail=detail)
        # the record, then a checkpoint signing the chain up to it
        append_records(conn, [record], signer, every=0, checkpoint=True)
        report.audit_position = head.seq + 1
    if report.anchor is not None:
        while True:  # the anchored prefix, in short transactions
            with mapped_errors(), store.write_engine.begin() as conn:
                ids = conn.execute(select(t.id).where(t.seq <= report.anchor).limit(BATCH)).scalars().all()
                if not ids:
                    break
                conn.execute(delete(AuditRow).where(t.id.in_(ids)))
