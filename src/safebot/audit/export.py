"""Audit records for a regulator: JSON lines, one record each, in chain order.

Each line has the record's position, hash and predecessor's hash as well as its fields, so the
recipient can re-check the chain over the exported range (canonical form: safebot.audit.canonical).
Records hold types, recognizers, scores, destinations, treatments, hashed conversation ids and
the policy hash: never a value or message text.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import TYPE_CHECKING, TextIO

from sqlalchemy import func, select

from safebot.errors import ConfigError
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import AuditChainRow, AuditRow

if TYPE_CHECKING:  # pragma: no cover
    from safebot.stores.sql import SqlStore

__all__ = ["export_records", "parse_time"]

_FIELDS = (
    "seq", "time", "event", "entity_type", "recognizer", "score", "destination", "treatment",
    "conversation_id", "handler", "reason", "policy_hash", "detail", "prev_hash", "hash",
)


def parse_time(value: str, option: str) -> str:
    """``2025-01-31`` or an ISO-8601 time (UTC if no offset) as the store's UTC string."""
    try:
        parsed = _dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{option} must be a date (2025-01-31) or an ISO-8601 time, not {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.UTC)
    return parsed.astimezone(_dt.UTC).isoformat(timespec="microseconds")


def export_records(store: SqlStore, out: TextIO, *, since: str | None = None, until: str | None = None) -> int:
    """Write records with ``since <= time < until`` (store-format UTC strings) as JSON lines.

    Returns how many were written.

    >>> export_records(store, sys.stdout, since=parse_time("2025-01-01", "--since"))   # doctest: +SKIP
    """
    t = AuditRow.__table__.c
    anchor = select(AuditChainRow.anchor_seq).where(AuditChainRow.id == 1).scalar_subquery()
    # only the chain: records at or before the retention anchor are on their way out
    stmt = select(*(t[name] for name in _FIELDS)).where(t.seq > func.coalesce(anchor, 0))
    if since is not None:
        stmt = stmt.where(t.time >= since)
    if until is not None:
        stmt = stmt.where(t.time < until)
    count = 0
    with mapped_errors(), store.engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=10_000).execute(stmt.order_by(t.seq))
        for part in result.partitions():
            for row in part:
                record = {k: v for k, v in zip(_FIELDS, row, strict=True) if v is not None}
                record["position"] = record.pop("seq")
                out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
    return count
