"""Redacting archives at scale on Apache Spark (issue 11 item 6): ``safebot redact-archive``.

>>> from safebot.archive import redact_archive
>>> redact_archive("policy.yaml", "chats.jsonl", "chats-redacted/").values     # doctest: +SKIP
120000

pyspark is imported only when a job runs.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from safebot.archive.spark import ArchiveReport, redact_archive

__all__ = ["ArchiveReport", "redact_archive"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("safebot.archive.spark"), name)
    raise AttributeError(f"module 'safebot.archive' has no attribute {name!r}")
