"""``store`` on SQLite and PostgreSQL (a fresh schema per session), with a signing audit key."""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safebot.audit.signing import AuditSigner
from safebot.stores import SqlStore
from safebot.stores.vault import KeyRing

PG_URL = os.environ.get("SAFEBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pg_unreachable() -> str | None:
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
def audit_pg_schema() -> Iterator[tuple[str, Any]]:
    reason = pg_unreachable()
    if reason:
        pytest.skip(reason)
    import psycopg

    name = f"safebot_audit_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        yield name, admin
        admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _empty_if_created(schema: str, admin: Any) -> None:
    exists = admin.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)).fetchone()
    if exists:
        tables = {r[0] for r in admin.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))}
        from safebot.stores._schema import Base

        for table in reversed(Base.metadata.sorted_tables):
            if table.name in tables:
                admin.execute(f'DELETE FROM "{schema}"."{table.name}"')


def _empty(schema: str, admin: Any) -> None:
    from safebot.stores._schema import Base

    for table in reversed(Base.metadata.sorted_tables):
        admin.execute(f'DELETE FROM "{schema}"."{table.name}"')


@pytest.fixture
def audit_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def signer(audit_key: bytes) -> AuditSigner:
    return AuditSigner(audit_key)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, audit_key: bytes) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        s = SqlStore(f"sqlite:///{tmp_path / 'safebot.sqlite3'}", keyring=KeyRing.generate(), audit_key=audit_key,
                     checkpoint_every=10)
    else:
        schema, admin = request.getfixturevalue("audit_pg_schema")
        # The schema is shared by the session: start empty whatever ran before (a test that
        # used it without this fixture, or one that was interrupted).
        _empty_if_created(schema, admin)
        s = SqlStore(PG_URL, keyring=KeyRing.generate(), schema=schema, audit_key=audit_key, checkpoint_every=10)
        request.addfinalizer(lambda: _empty(schema, admin))
    yield s
    s.close()
