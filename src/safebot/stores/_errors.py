"""Mapping database failures to :class:`~safebot.errors.StoreError` without leaking values.

SQLAlchemy's exception text holds the statement and, unless hidden, its bound parameters;
PostgreSQL's own message adds a ``DETAIL: Key (...)=(...)`` line with the values. Only the
exception's type name survives into ``StoreError``, and the original is detached entirely
(not just hidden with ``from None``), so nothing that walks ``__context__`` can find it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from sqlalchemy.exc import SQLAlchemyError

from safebot.errors import StoreError, VersionConflict

__all__ = ["VersionConflict", "mapped_errors", "raise_detached"]




def raise_detached(err: BaseException) -> NoReturn:
    """Raise ``err`` with no ``__cause__`` and no ``__context__`` (the one being handled)."""
    try:
        raise err from None
    except BaseException as raised:
        raised.__context__ = None
        raise


@contextmanager
def mapped_errors() -> Iterator[None]:
    """Turn any SQLAlchemy/DBAPI error into ``StoreError('store operation failed (Type)')``.

    Other exceptions (a TypeError for a raw string, a handler's own error) pass unchanged.
    """
    try:
        yield
    except SQLAlchemyError as exc:
        raise_detached(StoreError(f"store operation failed ({type(exc).__name__})"))
