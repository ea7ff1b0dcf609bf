"""The console's own tables: sign-in sessions and the report's roll-up of old rows.

They live on a metadata of their own and are created on first use of the console
(:func:`ensure_tables`), so a store that never serves the console never has them. Neither
holds customer data: sessions hold a SHA-256 of a random token and the key's id and name;
the roll-up holds counts per day and per entity type, reason, handler or recognizer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

if TYPE_CHECKING:  # pragma: no cover
    from safebot.stores import SqlStore

__all__ = ["ConsoleBase", "RollupRow", "SessionRow", "WatermarkRow", "ensure_tables"]


class ConsoleBase(DeclarativeBase):
    pass


class SessionRow(ConsoleBase):
    """A signed-in browser: the cookie carries the token, the store only its hash."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    key_name: Mapped[str] = mapped_column(String(64))
    #: a second random value for the sign-out form (CSRF), kept as sent
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(String(40))
    #: seconds since the epoch
    expires_at: Mapped[float] = mapped_column(Float)


class RollupRow(ConsoleBase):
    """Counts of audit and transcript rows up to the watermarks (see ``rollup``)."""

    __tablename__ = "console_rollup"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    a: Mapped[str] = mapped_column(String(128), primary_key=True)
    b: Mapped[str] = mapped_column(String(128), primary_key=True)
    c: Mapped[str] = mapped_column(String(128), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class WatermarkRow(ConsoleBase):
    """Up to which row id a table is counted in the roll-up, and how many rows that was
    (a different count later means rows were deleted, by retention: the roll-up is redone)."""

    __tablename__ = "console_watermarks"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    upto: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer)


def ensure_tables(store: SqlStore) -> None:
    """Create the console's tables if missing (two processes may race: the loser's error is
    the table existing already)."""
    for table in ConsoleBase.metadata.sorted_tables:
        try:
            table.create(store.write_engine, checkfirst=True)
        except DBAPIError:
            table.create(store.write_engine, checkfirst=True)
