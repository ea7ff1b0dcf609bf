"""A ``store`` fixture that runs every store test on SQLite and on PostgreSQL.

PostgreSQL tests use a fresh schema per test session (dropped at the end) and empty its
tables after each test, so concurrent runs never collide and DDL runs once; they are skipped,
with the reason, if the server is not reachable.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safebot.stores import SqlStore
from safebot.stores.vault import KeyRing

PG_URL = os.environ.get("SAFEBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_unreachable() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        psycopg.connect(PG_URL, connect_timeout=2).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is not reachable ({type(exc).__name__})"
    return None


@pytest.fixture(scope="session")
def pg_unreachable() -> str | None:
    return _pg_unreachable()


@pytest.fixture(scope="session")
def pg_schema(pg_unreachable: str | None) -> Iterator[tuple[str, Any]]:
    """A fresh schema name and an admin connection; the schema is dropped at the end."""
    if pg_unreachable:
        pytest.skip(pg_unreachable)
    import psycopg

    name = f"safebot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        yield name, admin
        admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _empty_schema(schema: str, admin: Any) -> None:
    from safebot.stores._schema import Base

    # DELETE, children first: much cheaper than TRUNCATE on tables this small.
    for table in reversed(Base.metadata.sorted_tables):
        admin.execute(f'DELETE FROM "{schema}"."{table.name}"')


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    keyring = KeyRing.generate()
    if request.param == "sqlite":
        s = SqlStore(f"sqlite:///{tmp_path / 'safebot.sqlite3'}", keyring=keyring)
    else:
        schema, admin = request.getfixturevalue("pg_schema")
        s = SqlStore(PG_URL, keyring=keyring, schema=schema)
        request.addfinalizer(lambda: _empty_schema(schema, admin))
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    s = SqlStore.for_bot_dir(tmp_path, keyring=KeyRing.generate())
    yield s
    s.close()
