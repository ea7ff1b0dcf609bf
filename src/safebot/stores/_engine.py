"""Engine set-up per backend: SQLite pragmas and transaction mode, PostgreSQL driver and schema."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from safebot.errors import ConfigError

__all__ = ["BUSY_TIMEOUT_MS", "WRITE_OPTION", "is_memory_url", "make_engine", "normalise_url", "private_sqlite_file"]

BUSY_TIMEOUT_MS = 5000
#: execution option that makes SQLite open the transaction with BEGIN IMMEDIATE
WRITE_OPTION = "safebot_write"


def normalise_url(url: str) -> URL:
    """``postgres://`` and ``postgresql://`` use psycopg 3 (the driver safebot pins)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_memory_url(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def make_engine(url: str, *, schema: str | None = None) -> Engine:
    parsed = normalise_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {
        # Never put bound values (which could be customer data) into logs or exceptions.
        "hide_parameters": True,
        "pool_pre_ping": backend != "sqlite",
    }
    if backend == "sqlite":
        if schema is not None:
            raise ConfigError("a store schema is only supported on PostgreSQL")
        # Pooled connections move between threads, one thread at a time.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
    else:
        engine = create_engine(parsed, **kwargs)
    if schema is not None:
        engine = engine.execution_options(schema_translate_map={None: schema})
    return engine


def private_sqlite_file() -> tuple[str, Callable[[], None]]:
    """A URL for a fresh SQLite file in a private temp dir, and the function that removes it.

    ``sqlite://`` (in-memory) is served this way: a memory database is one connection, so a
    read during an open unit of work would share (and end) the writer's transaction.
    """
    directory = tempfile.mkdtemp(prefix="safebot-")
    return f"sqlite:///{directory}/memory.sqlite3", partial(shutil.rmtree, directory, ignore_errors=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module, so BEGIN is ours (below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
        cur.execute("PRAGMA synchronous=NORMAL")  # durable enough with WAL, much faster
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros: a forgotten data key must not survive in
        # a free page of the file (crypto-shredding would then be undone by a file copy).
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A unit of work takes the write lock up front: a deferred transaction that reads and
        # then writes can fail at once with SQLITE_BUSY instead of waiting for busy_timeout.
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
