"""The declarative base and the column types every table module shares.

Table modules (``_schema`` for the core, ``_serving_schema`` for the serving channels, and the
modules of later features) import from here, never from each other; ``sql.py`` imports them
all before it creates the tables.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from sqlalchemy import BigInteger, Integer, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

__all__ = ["Base", "BigId", "JSONText", "now", "stamp_at"]


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer, "sqlite")


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds")


def stamp_at(epoch: float) -> str:
    """``epoch`` written as :func:`now` writes times, so stored stamps compare as text."""
    return _dt.datetime.fromtimestamp(epoch, _dt.UTC).isoformat(timespec="microseconds")


class JSONText(TypeDecorator[Any]):
    """JSON stored as text. ``json.dumps`` refuses a ``Sensitive`` value, which is the point."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    pass
