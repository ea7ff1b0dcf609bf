"""Which API key started a REST conversation (OWASP API1: another key gets 404).

The first message claims the conversation with an atomic insert; the owner never changes,
so answers are cached in memory (bounded).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

import anyio.to_thread
from sqlalchemy import select

from safebot.stores._errors import mapped_errors
from safebot.stores._schema import now
from safebot.stores._serving_schema import ApiConversationRow
from safebot.stores._uow import insert_ignore

if TYPE_CHECKING:  # pragma: no cover
    from safebot.stores import SqlStore

__all__ = ["Owners"]


class Owners:
    """``await owners.claim(ref, key_id)`` -> the owner's key id (``key_id`` if it was free)."""

    def __init__(self, store: SqlStore, *, cache_size: int = 10_000) -> None:
        self._store = store
        self._cache: OrderedDict[str, str] = OrderedDict()
        self._size = cache_size

    async def owner(self, ref: str) -> str | None:
        cached = self._cached(ref)
        if cached is not None:
            return cached
        owner = await anyio.to_thread.run_sync(self._read, ref)
        if owner is not None:
            self._remember(ref, owner)
        return owner

    async def claim(self, ref: str, key_id: str) -> str:
        owner = await self.owner(ref)
        if owner is None:
            owner = await anyio.to_thread.run_sync(self._claim, ref, key_id)
            self._remember(ref, owner)
        return owner

    def _cached(self, ref: str) -> str | None:
        owner = self._cache.get(ref)
        if owner is not None:
            self._cache.move_to_end(ref)
        return owner

    def _remember(self, ref: str, owner: str) -> None:
        self._cache[ref] = owner
        self._cache.move_to_end(ref)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)

    def _read(self, ref: str) -> str | None:
        with mapped_errors(), self._store.engine.connect() as conn:
            return conn.execute(
                select(ApiConversationRow.key_id).where(ApiConversationRow.conversation_ref == ref)
            ).scalar_one_or_none()

    def _claim(self, ref: str, key_id: str) -> str:
        with mapped_errors(), self._store.write_engine.begin() as conn:
            insert_ignore(conn, ApiConversationRow.__table__,  # type: ignore[arg-type]
                          {"conversation_ref": ref, "key_id": key_id, "created_at": now()})
            return str(conn.execute(
                select(ApiConversationRow.key_id).where(ApiConversationRow.conversation_ref == ref)
            ).scalar_one())
