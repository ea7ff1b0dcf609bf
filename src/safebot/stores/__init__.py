"""Persistence: one SQLAlchemy 2 schema on SQLite (embedded default) or PostgreSQL.

>>> from safebot.stores import SqlStore
>>> store = SqlStore.for_bot_dir("examples/bank")        # doctest: +SKIP
>>> with store.unit_of_work() as uow:                      # doctest: +SKIP
...     uow.append(event)                                  # a RedactedEvent for "transcript"
...     uow.save_tracker("c1", state, expected_version=3)

Everything a turn writes goes through one :class:`UnitOfWork` and commits together.
Database failures raise :class:`~safebot.errors.StoreError` whose message never holds SQL
or values; a lost optimistic-concurrency race raises :class:`VersionConflict` (a StoreError).
"""

from __future__ import annotations

from safebot.errors import StoreError
from safebot.stores._errors import VersionConflict
from safebot.stores._uow import UnitOfWork
from safebot.stores.sql import SqlStore

__all__ = ["SqlStore", "StoreError", "UnitOfWork", "VersionConflict"]
