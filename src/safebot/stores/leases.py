"""Conversation leases in the store: cross-process ordering without holding a transaction.

A lease is one row per conversation: taken with one conditional upsert (free, or expired),
renewed while the turn runs, released at the end. Waiting is polling with a short backoff,
so a turn never holds a database write lock while it waits or while its handler runs.

>>> leases = StoreLeases(store)                    # doctest: +SKIP
>>> token = await leases.acquire("c-1f2e")         # doctest: +SKIP
>>> await leases.release("c-1f2e", token)          # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite

from safebot.errors import LockTimeout
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import LeaseRow

if TYPE_CHECKING:  # pragma: no cover
    from safebot.stores.sql import SqlStore

__all__ = ["StoreLeases"]


class StoreLeases:
    """Leases on the store's ``conversation_leases`` table (SQLite or PostgreSQL).

    ``ttl``: how long a lease lives without renewal (a crashed holder frees it after this);
    ``wait``: how long :meth:`acquire` waits before :class:`~safebot.errors.LockTimeout`.
    """

    def __init__(self, store: SqlStore, *, ttl: float = 30.0, wait: float = 30.0) -> None:
        self._store = store
        self._ttl = ttl
        self._wait = wait
        self._holder = secrets.token_hex(8)
        self._renewers: dict[tuple[str, int], asyncio.Task[None]] = {}

    def __repr__(self) -> str:
        return f"StoreLeases(ttl={self._ttl})"

    async def acquire(self, key: str) -> int:
        deadline = time.monotonic() + self._wait
        delay = 0.005
        while True:
            token = await anyio.to_thread.run_sync(self.try_acquire, key)
            if token is not None:
                self._renewers[(key, token)] = asyncio.ensure_future(self._renew(key, token))
                return token
            if time.monotonic() >= deadline:
                raise LockTimeout("the conversation is busy; try again shortly")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)

    async def release(self, key: str, token: int) -> None:
        renewer = self._renewers.pop((key, token), None)
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        await anyio.to_thread.run_sync(self.release_sync, key, token)

    # -- one statement each ----------------------------------------------------------------
    def try_acquire(self, key: str) -> int | None:
        """Take the lease if it is free or lapsed; its new fence, or None if someone holds it."""
        now = time.time()
        values: dict[str, Any] = {"conversation_id": key, "holder": self._holder, "fence": 1, "expires_at": now + self._ttl}
        table = LeaseRow.__table__
        dialect = self._store.backend
        ins: Any = (sqlite if dialect == "sqlite" else postgresql).insert(table).values(**values)
        stmt = ins.on_conflict_do_update(
            index_elements=[table.c.conversation_id],
            set_={"holder": self._holder, "fence": table.c.fence + 1, "expires_at": now + self._ttl},
            where=table.c.expires_at < now,
        ).returning(table.c.fence)
        with mapped_errors(), self._store.write_engine.begin() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else int(row[0])

    def release_sync(self, key: str, token: int) -> None:
        with mapped_errors(), self._store.write_engine.begin() as conn:
            conn.execute(
                delete(LeaseRow).where(
                    LeaseRow.conversation_id == key, LeaseRow.holder == self._holder, LeaseRow.fence == token
                )
            )

    def renew_sync(self, key: str, token: int) -> bool:
        with mapped_errors(), self._store.write_engine.begin() as conn:
            row = conn.execute(
                update(LeaseRow)
                .where(LeaseRow.conversation_id == key, LeaseRow.holder == self._holder, LeaseRow.fence == token)
                .values(expires_at=time.time() + self._ttl)
                .returning(LeaseRow.fence)
            ).first()
        return row is not None

    async def _renew(self, key: str, token: int) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                if not await anyio.to_thread.run_sync(self.renew_sync, key, token):
                    return  # lost it: the fenced write will refuse this turn
            except Exception:  # noqa: BLE001 - a failed renewal only shortens the lease
                continue
