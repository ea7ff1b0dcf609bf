"""Data classes and the tables that hold them: what ``retention`` deletes, by which column.

A data class is a name in bot.yaml's ``retention:`` block and the tables whose rows belong to
it, each with the ISO-time column that ages a row (a row whose column is NULL is not due: a
delivery still on its way, a consent not withdrawn). Tables are named, not imported: a table
that this installation does not have (a feature's schema module not loaded) is skipped, so the
notification tables (issue 10) plug in by name and later features add their own entries here.

The audit trail is a class too, but deleting from it moves the chain's signed anchor
(safebot.retention.run), so it is not a plain table entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Table, func, select

__all__ = ["CLASSES", "DataClass", "TableRule", "data_class"]


@dataclass(frozen=True)
class TableRule:
    table: str
    #: ISO-8601 UTC time column; rows older than the cut-off are deleted
    column: str
    #: an extra condition (only rows in a final state, say)
    where: Callable[[Table], ColumnElement[bool]] | None = None


@dataclass(frozen=True)
class DataClass:
    name: str
    description: str
    tables: tuple[TableRule, ...] = field(default_factory=tuple)


def _final(states: tuple[str, ...]) -> Callable[[Table], ColumnElement[bool]]:
    return lambda t: t.c.state.in_(states)


def _superseded(t: Table) -> ColumnElement[bool]:
    # A decision still in force is evidence however old: only those a later one replaced go.
    latest = select(func.max(t.c.id)).group_by(t.c.conversation_id, t.c.kind)
    return t.c.id.not_in(latest)


CLASSES: tuple[DataClass, ...] = (
    DataClass("transcripts", "the redacted transcript (events by time)", (TableRule("transcript", "time"),)),
    DataClass("vault", "encrypted values a handler may need (by when they were vaulted)", (TableRule("vault", "created_at"),)),
    DataClass("deliveries", "delivery records of replies and notifications, once final", (
        TableRule("whatsapp_deliveries", "updated_at"),
        # done/accepted rows no longer hold a payload; keeping them a while de-duplicates redeliveries
        TableRule("whatsapp_inbound", "done_at", _final(("done", "failed", "dropped"))),
        TableRule("whatsapp_outbound", "accepted_at", _final(("accepted", "failed"))),
        # issue 10's tables, when installed
        TableRule("notify_deliveries", "finished_at"),
        TableRule("notify_reply_links", "created_at"),
    )),
    DataClass("consent", "consent evidence no longer in force: superseded decisions, withdrawn consents", (
        TableRule("consent", "time", _superseded),
        TableRule("notify_consents", "revoked_at"),
    )),
    DataClass("audit", "the audit trail (the chain's signed anchor moves; see run.py)"),
)


def data_class(name: str) -> DataClass:
    for c in CLASSES:
        if c.name == name:
            return c
    raise KeyError(name)
