"""Sinks that stay in the process: the transcript store adapter, the logger, the test capture."""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING

from safebot.events import RedactedEvent
from safebot.redaction.policy import Destination
from safebot.sinks._base import checked

if TYPE_CHECKING:  # the store (SQLAlchemy) loads only when a store is used
    from safebot.stores.sql import SqlStore

__all__ = ["CapturingSink", "LoggingSink", "TranscriptSink"]


class TranscriptSink:
    """Writes transcript events through a store, one transaction per event.

    The engine writes inside the turn's unit of work (``uow.append``); this sink is for tests
    and tools that emit events outside a turn.

    >>> sink = TranscriptSink(store)            # doctest: +SKIP
    >>> sink.emit(event)                         # doctest: +SKIP
    """

    destination: Destination = "transcript"

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def emit(self, event: RedactedEvent) -> None:
        event = checked(event, self.destination)
        with self._store.unit_of_work() as uow:
            uow.append(event)

    def close(self) -> None:
        """The store belongs to the caller; closing the sink leaves it open."""


class LoggingSink:
    """Logs each transcript event as one JSON line at INFO on ``logger_name``.

    >>> sink = LoggingSink()
    >>> sink.destination
    'transcript'
    """

    destination: Destination = "transcript"

    def __init__(self, logger_name: str = "safebot.events") -> None:
        self._log = logging.getLogger(logger_name)

    def emit(self, event: RedactedEvent) -> None:
        event = checked(event, self.destination)
        if self._log.isEnabledFor(logging.INFO):
            self._log.info("%s", json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":")))

    def close(self) -> None:
        pass


class CapturingSink:
    """Keeps events in ``.events``, for tests (like structlog's ``capture_logs``).

    >>> sink = CapturingSink("transcript")
    >>> sink.emit(RedactedEvent("user", "c1", 1, "transcript", redactor.redact("hi Mary")))  # doctest: +SKIP
    >>> sink.texts()                                                                          # doctest: +SKIP
    ['hi <PERSON_1>']
    """

    def __init__(self, destination: Destination) -> None:
        self.destination: Destination = destination
        self.events: list[RedactedEvent] = []
        self.closed = False
        self._lock = threading.Lock()

    def emit(self, event: RedactedEvent) -> None:
        event = checked(event, self.destination)
        with self._lock:
            self.events.append(event)

    def texts(self) -> list[str]:
        """The redacted text of every event that has text, in order."""
        return [e.text.text for e in self.events if e.text is not None]

    def clear(self) -> None:
        with self._lock:
            self.events.clear()

    def close(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return f"CapturingSink({self.destination!r}, {len(self.events)} events)"
