"""Analytics exporters: events rendered for the ``analytics`` destination, sent outside.

An exporter never raises into a turn because the outside world is down: the webhook keeps
failed events for :meth:`WebhookExporter.retry` (in memory, or in the store's outbox when
given one) and logs only the failure's type, never the event.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from safebot.errors import StoreError
from safebot.events import RedactedEvent
from safebot.redaction.policy import Destination
from safebot.sinks._base import checked

if TYPE_CHECKING:  # the store (SQLAlchemy) loads only when a store is used
    from safebot.stores.sql import SqlStore

__all__ = ["JsonlExporter", "WebhookExporter"]

log = logging.getLogger("safebot.sinks")


def _dumps(payload: Mapping[str, object]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class JsonlExporter:
    """Appends one JSON object per event to a file (created with mode 0600), flushed per event.

    >>> exporter = JsonlExporter(tmp_path / "events.jsonl")     # doctest: +SKIP
    >>> exporter.emit(analytics_event)                           # doctest: +SKIP
    """

    destination: Destination = "analytics"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # 0600 from the start (not chmod after): there is no moment when others can read it.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def emit(self, event: RedactedEvent) -> None:
        event = checked(event, self.destination)
        line = _dumps(event.to_json()) + "\n"
        with self._lock:
            if self._file.closed:
                raise ValueError("exporter is closed")
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __repr__(self) -> str:
        return f"JsonlExporter({str(self.path)!r})"


class WebhookExporter:
    """POSTs each analytics event as JSON to ``url``; failures are kept for :meth:`retry`.

    With ``store``, a failed event goes to the store's outbox (target ``name``) and survives a
    restart; without, it waits in memory (at most ``max_pending``, oldest dropped first).

    >>> exporter = WebhookExporter("https://analytics.example/ingest", timeout=2.0)  # doctest: +SKIP
    >>> exporter.emit(analytics_event)        # never raises for a network failure  # doctest: +SKIP
    >>> exporter.retry()                      # events delivered now                # doctest: +SKIP
    """

    destination: Destination = "analytics"

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 2.0,
        client: httpx.Client | None = None,
        store: SqlStore | None = None,
        name: str = "webhook",
        max_pending: int = 1000,
    ) -> None:
        self._url = url
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._own_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._store = store
        self.name = name
        self._pending: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_pending)
        self._lock = threading.Lock()
        #: failed delivery attempts so far
        self.failures = 0
        #: events dropped because the in-memory retry list was full
        self.dropped = 0
        #: why the last attempt failed: an exception type name or "HTTP <status>", never text
        self.last_error: str | None = None

    def __repr__(self) -> str:
        # Not the URL or headers: either can hold a credential.
        return f"WebhookExporter(name={self.name!r}, pending={len(self._pending)})"

    # -- Sink ------------------------------------------------------------------------------
    def emit(self, event: RedactedEvent) -> None:
        """Send now; on failure keep the event for :meth:`retry`. Never raises for delivery."""
        self.deliver(event)

    def deliver(self, event: RedactedEvent) -> bool:
        """As :meth:`emit`, returning whether the event was delivered now."""
        event = checked(event, self.destination)
        payload = event.to_json()
        if self._post(payload):
            return True
        self._keep(event, payload)
        return False

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    # -- retries ---------------------------------------------------------------------------
    @property
    def pending(self) -> list[dict[str, Any]]:
        """Payloads waiting in memory for a retry (the store's outbox is not included)."""
        with self._lock:
            return list(self._pending)

    def retry(self, limit: int = 100) -> int:
        """Re-send kept events, oldest first; stops at the first failure. Returns how many went."""
        sent = 0
        while sent < limit:
            with self._lock:
                if not self._pending:
                    break
                payload = self._pending[0]
            if not self._post(payload):
                return sent
            with self._lock:
                if self._pending and self._pending[0] is payload:
                    self._pending.popleft()
            sent += 1
        if self._store is not None and sent < limit:
            sent += self._retry_outbox(self._store, limit - sent)
        return sent

    def _retry_outbox(self, store: SqlStore, limit: int) -> int:
        sent: list[int] = []
        try:
            for row in store.outbox_pending(limit, target=self.name):
                if not self._post(row["payload"]):
                    store.mark_failed([row["id"]])
                    break
                sent.append(row["id"])
        except StoreError:
            log.warning("analytics webhook %r: outbox unavailable during retry", self.name)
        finally:
            try:
                store.mark_sent(sent)
            except StoreError:  # delivered but not marked: sent again later (at-least-once)
                log.warning("analytics webhook %r: could not mark events sent", self.name)
        return len(sent)

    # -- internals -------------------------------------------------------------------------
    def _post(self, payload: Mapping[str, Any]) -> bool:
        try:
            response = self._client.post(
                self._url,
                content=_dumps(payload).encode("utf-8"),
                headers={"content-type": "application/json", **self._headers},
                timeout=self._timeout,
            )
        except Exception as exc:  # noqa: BLE001 - no network failure may reach the turn
            return self._failed(type(exc).__name__)
        if response.status_code >= 300:
            return self._failed(f"HTTP {response.status_code}")
        return True

    def _failed(self, reason: str) -> bool:
        self.failures += 1
        self.last_error = reason
        log.warning("analytics webhook %r delivery failed (%s); event kept for retry", self.name, reason)
        return False

    def _keep(self, event: RedactedEvent, payload: dict[str, Any]) -> None:
        if self._store is not None:
            try:
                with self._store.unit_of_work() as uow:
                    uow.outbox_add(event, target=self.name)
                return
            except StoreError:
                log.warning("analytics webhook %r: outbox unavailable; keeping event in memory", self.name)
        with self._lock:
            if self._pending.maxlen is not None and len(self._pending) == self._pending.maxlen:
                self.dropped += 1
            self._pending.append(payload)
