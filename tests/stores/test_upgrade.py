"""A store made by an older safebot: missing nullable columns are added at start, a missing
column that may not be null stops the store with the statement to run, a missing index is
reported. Each case on SQLite and on a PostgreSQL schema of its own."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import PG_URL
from sqlalchemy import create_engine, inspect, text

from safebot.errors import StoreError
from safebot.stores import SqlStore
from safebot.stores.vault import KeyRing


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None, Any]]:
    """(url, schema, engine) of a store made by this safebot, to be aged by the test."""
    if request.param == "sqlite":
        url, schema = f"sqlite:///{tmp_path / 'old.sqlite3'}", None
        engine = create_engine(url)
    else:
        if request.getfixturevalue("pg_unreachable"):
            pytest.skip("PostgreSQL is not reachable")
        url, schema = PG_URL, f"safebot_upgrade_{uuid.uuid4().hex[:10]}"
        engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    SqlStore(url, keyring=KeyRing.generate(), schema=schema).close()
    yield url, schema, engine
    if schema is not None:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _table(schema: str | None, name: str) -> str:
    return name if schema is None else f'"{schema}"."{name}"'


def _columns(engine: Any, schema: str | None, table: str) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns(table, schema=schema)}


def test_a_missing_nullable_column_is_added_at_start(old_store: tuple[str, str | None, Any],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    url, schema, engine = old_store
    index = "ix_notify_deliveries_reported" if schema is None else f'"{schema}".ix_notify_deliveries_reported'
    with engine.begin() as conn:  # as the table was before the sweeper needed them (issue 10)
        conn.execute(text(f"DROP INDEX {index}"))
        conn.execute(text(f"ALTER TABLE {_table(schema, 'notify_deliveries')} DROP COLUMN status_at"))
    assert "status_at" not in _columns(engine, schema, "notify_deliveries")
    with caplog.at_level(logging.WARNING, logger="safebot.store"):
        SqlStore(url, keyring=KeyRing.generate(), schema=schema).close()
    assert "status_at" in _columns(engine, schema, "notify_deliveries")
    assert "notify_deliveries.status_at" in caplog.text
    assert "lacks index ix_notify_deliveries_reported" in caplog.text  # reported, not built
    with caplog.at_level(logging.WARNING, logger="safebot.store"):
        caplog.clear()
        SqlStore(url, keyring=KeyRing.generate(), schema=schema).close()  # nothing left to do
    assert "added" not in caplog.text and "lacks index ix_notify_deliveries_reported" in caplog.text


def test_a_missing_column_that_may_not_be_null_stops_the_store_with_the_statement(
        old_store: tuple[str, str | None, Any]) -> None:
    url, schema, engine = old_store
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {_table(schema, 'notify_deliveries')} DROP COLUMN channel"))
    with pytest.raises(StoreError) as err:
        SqlStore(url, keyring=KeyRing.generate(), schema=schema)
    message = str(err.value)
    assert "notify_deliveries" in message and "channel" in message and "ADD COLUMN channel VARCHAR(16)" in message
    assert "channel" not in _columns(engine, schema, "notify_deliveries")  # nothing was done behind its back


def test_a_missing_index_is_reported_with_the_statement_that_builds_it(
        old_store: tuple[str, str | None, Any], caplog: pytest.LogCaptureFixture) -> None:
    url, schema, engine = old_store
    index = "ix_notify_deliveries_state" if schema is None else f'"{schema}".ix_notify_deliveries_state'
    with engine.begin() as conn:
        conn.execute(text(f"DROP INDEX {index}"))
    with caplog.at_level(logging.WARNING, logger="safebot.store"):
        SqlStore(url, keyring=KeyRing.generate(), schema=schema).close()
    assert "lacks index ix_notify_deliveries_state" in caplog.text and "CREATE INDEX" in caplog.text
