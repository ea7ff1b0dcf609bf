"""Fixtures for the scale-out tests: the real PostgreSQL (127.0.0.1:5432) and Redis
(127.0.0.1:6379) of this machine, a fresh schema per test (dropped after it), skipped with
the reason when either server is not reachable."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PG_URL = os.environ.get("SAFEBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SAFEBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _unreachable() -> str | None:
    try:
        import psycopg
        import redis
    except ImportError as exc:
        return f"{exc.name} is not installed"
    try:
        psycopg.connect(PG_URL, connect_timeout=2).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is not reachable ({type(exc).__name__})"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is not reachable ({type(exc).__name__})"
    return None


@pytest.fixture(scope="session")
def servers() -> None:
    problem = _unreachable()
    if problem:
        pytest.skip(problem)


@pytest.fixture
def pg_schema(servers: None) -> Iterator[str]:
    import psycopg

    name = f"safebot_scale_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def store_block(schema: str, *, ttl: float = 1, redis_url: str | None = REDIS_URL) -> str:
    lines = f"store:\n  url: {PG_URL}\n  schema: {schema}\n  lease_ttl_s: {ttl}\n"
    return lines + (f"  redis_url: {redis_url}\n" if redis_url else "")


@pytest.fixture
def pausebot(tmp_path: Path, pg_schema: str) -> Path:
    """A private copy of pausebot on its own PostgreSQL schema, leases in Redis (1 s ttl)."""
    target = tmp_path / "pausebot"
    shutil.copytree(HERE / "pausebot", target, ignore=shutil.ignore_patterns(".safebot", "__pycache__"))
    with (target / "bot.yaml").open("a") as fh:
        fh.write(store_block(pg_schema))
    return target
