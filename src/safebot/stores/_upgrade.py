"""Bring a store made by an older safebot up to the tables this one expects.

``create_all`` creates missing tables but never touches an existing one, so a column added
since (``notify_deliveries.status_at``, say) would surface only as an SQL error in the middle
of a send. At start, under the same lock as ``create_all``, every table is compared with the
schema: a missing *nullable* column is added (``ALTER TABLE ... ADD COLUMN``: no rewrite and
no default to fill on SQLite or PostgreSQL, as safe as creating a table); a missing column
that may not be null stops the store with the statement to run. A missing index is only
reported: building one locks a large table against writes, which an operator should choose.

>>> from sqlalchemy import create_engine
>>> from safebot.stores._base import Base
>>> engine = create_engine("sqlite://")
>>> with engine.begin() as conn:
...     Base.metadata.create_all(conn)
...     upgrade(conn, schema=None)
[]
"""

from __future__ import annotations

import logging

from sqlalchemy import Column, Connection, Table, inspect, text
from sqlalchemy.schema import CreateColumn, CreateIndex

from safebot.errors import StoreError
from safebot.stores._base import Base

__all__ = ["upgrade"]

log = logging.getLogger("safebot.store")


def upgrade(conn: Connection, *, schema: str | None) -> list[str]:
    """Add the nullable columns the store's tables lack; returns them as ``table.column``.

    Raises :class:`StoreError` naming the statement to run for a missing column that may not
    be null. Logs a warning for each missing index, with the statement that builds it."""
    tables = {name: t for name, t in Base.metadata.tables.items() if t.schema is None}
    present, indexes = _present(conn, schema)
    added: list[str] = []
    for name, table in tables.items():
        if name not in present:
            continue  # create_all made it just now (or another process will)
        for column in table.columns:
            if column.name in present[name]:
                continue
            statement = _add_column(conn, table, column, schema)
            if not column.nullable:
                raise StoreError(f"the store was made by an older safebot: table {name} lacks column "
                                 f"{column.name}; run: {statement}")
            conn.execute(text(statement))
            added.append(f"{name}.{column.name}")
        for index in table.indexes:
            if index.name is not None and index.name not in indexes:
                ddl = str(CreateIndex(index).compile(dialect=conn.dialect))
                log.warning("the store's table %s lacks index %s (made by an older safebot); to build it: %s",
                            name, index.name, ddl)
    if added:
        log.warning("added %d column(s) a newer safebot needs: %s", len(added), ", ".join(added))
    return added


def _present(conn: Connection, schema: str | None) -> tuple[dict[str, set[str]], set[str]]:
    """The columns of every table, and the names of every index, in one query each (this runs
    at every store start; SQLAlchemy's reflection costs several times as much)."""
    if conn.dialect.name == "sqlite":
        cols = conn.execute(text("SELECT m.name, p.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p "
                                 "WHERE m.type = 'table'")).all()
        names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars()
    elif conn.dialect.name == "postgresql":
        where = {"s": schema} if schema is not None else {}
        which = ":s" if schema is not None else "current_schema()"
        cols = conn.execute(text("SELECT c.relname, a.attname FROM pg_attribute AS a "
                                 "JOIN pg_class AS c ON a.attrelid = c.oid JOIN pg_namespace AS n ON c.relnamespace = n.oid "
                                 f"WHERE n.nspname = {which} AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
                                 "AND NOT a.attisdropped"), where).all()
        names = conn.execute(text(f"SELECT indexname FROM pg_indexes WHERE schemaname = {which}"), where).scalars()
    else:
        inspector = inspect(conn)
        present = {key[1]: {c["name"] for c in found} for key, found in inspector.get_multi_columns(schema=schema).items()}
        return present, {i["name"] for found in inspector.get_multi_indexes(schema=schema).values() for i in found
                         if i["name"]}
    out: dict[str, set[str]] = {}
    for table, column in cols:
        out.setdefault(str(table), set()).add(str(column))
    return out, {str(n) for n in names}


def _add_column(conn: Connection, table: Table, column: Column[object], schema: str | None) -> str:
    quote = conn.dialect.identifier_preparer.quote
    target = quote(table.name) if schema is None else f"{quote(schema)}.{quote(table.name)}"
    return f"ALTER TABLE {target} ADD COLUMN {CreateColumn(column).compile(dialect=conn.dialect)}"
