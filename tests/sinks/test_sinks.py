"""Sinks: only redacted events for their destination; JSONL, webhook, logging, capture, store."""

from __future__ import annotations

import json
import logging
import socket
import stat
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from safebot.events import RedactedEvent
from safebot.redaction.types import Finding, _mint
from safebot.sinks import CapturingSink, JsonlExporter, LoggingSink, TranscriptSink, WebhookExporter
from safebot.stores import SqlStore
from safebot.stores.vault import KeyRing

CARD = "4111 1111 1111 1111"


def event(destination: str = "analytics", text: str | None = "card <CREDIT_CARD_h:9f3a>", turn: int = 1) -> RedactedEvent:
    rendered = None
    if text is not None:
        rendered = _mint(text, destination, "p", findings=(Finding("CREDIT_CARD", 5, 24, 0.99, "card"),))  # type: ignore[arg-type]
    return RedactedEvent("user", "c1", turn, destination, rendered, {"intent": "pay"}, channel="console")  # type: ignore[arg-type]


# -- a real HTTP server on 127.0.0.1 ---------------------------------------------------------
class Receiver:
    """A local HTTP endpoint that records what was POSTed and answers with ``status``."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], Any]] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append((dict(self.headers), json.loads(body)))
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ingest"
        # A short poll interval so shutdown() returns quickly.
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    @property
    def payloads(self) -> list[Any]:
        return [body for _, body in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def closed_url() -> str:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/ingest"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    s = SqlStore(f"sqlite:///{tmp_path / 'db.sqlite3'}", keyring=KeyRing.generate())
    yield s
    s.close()


# -- every sink: the type and destination checks --------------------------------------------
SinkFactory = Callable[[Path, SqlStore], Any]
SINKS: dict[str, SinkFactory] = {
    "capturing-transcript": lambda p, s: CapturingSink("transcript"),
    "capturing-analytics": lambda p, s: CapturingSink("analytics"),
    "jsonl": lambda p, s: JsonlExporter(p / "events.jsonl"),
    "webhook": lambda p, s: WebhookExporter("http://127.0.0.1:9/x", client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(204)))),
    "logging": lambda p, s: LoggingSink(),
    "transcript": lambda p, s: TranscriptSink(s),
}


@pytest.mark.parametrize("name", SINKS)
@pytest.mark.parametrize("bad", [CARD, f"my card is {CARD}".encode(), {"text": CARD}, None], ids=["str", "bytes", "dict", "none"])
def test_sinks_refuse_anything_but_a_redacted_event(name: str, bad: object, tmp_path: Path, store: SqlStore) -> None:
    sink = SINKS[name](tmp_path, store)
    with pytest.raises(TypeError) as info:
        sink.emit(bad)
    assert CARD not in str(info.value)
    sink.close()


@pytest.mark.parametrize("name", SINKS)
def test_sinks_refuse_another_destinations_rendering(name: str, tmp_path: Path, store: SqlStore) -> None:
    sink = SINKS[name](tmp_path, store)
    for destination in ("customer", "transcript", "analytics", "agent", "nlu"):
        if destination == sink.destination:
            sink.emit(event(destination))
        else:
            with pytest.raises(TypeError, match="rendered for"):
                sink.emit(event(destination))
    sink.close()


# -- JSONL ----------------------------------------------------------------------------------
def test_jsonl_exporter(tmp_path: Path) -> None:
    path = tmp_path / "out" / "events.jsonl"
    exporter = JsonlExporter(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    exporter.emit(event(turn=1))
    # Flushed per event: a reader sees it before close.
    assert json.loads(path.read_text()) == event(turn=1).to_json() | {"time": json.loads(path.read_text())["time"]}
    exporter.emit(event(text=None, turn=2))
    exporter.close()
    again = JsonlExporter(path)  # append mode: a restart keeps earlier lines
    again.emit(event(text="Zoë paid <CREDIT_CARD_h:1>", turn=3))
    again.close()
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [line["turn"] for line in lines] == [1, 2, 3]
    assert lines[0]["text"] == "card <CREDIT_CARD_h:9f3a>" and lines[0]["entities"] == ["CREDIT_CARD"]
    assert lines[0]["data"] == {"intent": "pay"}
    assert "text" not in lines[1]
    assert lines[2]["text"] == "Zoë paid <CREDIT_CARD_h:1>"
    with pytest.raises(ValueError, match="closed"):
        again.emit(event())


# -- webhook --------------------------------------------------------------------------------
def test_webhook_posts_the_event(receiver: Receiver) -> None:
    exporter = WebhookExporter(receiver.url, headers={"authorization": "Bearer t0ken"})
    assert exporter.deliver(event()) is True
    exporter.emit(event(turn=2))
    exporter.close()
    assert [p["turn"] for p in receiver.payloads] == [1, 2]
    headers, body = receiver.requests[0]
    assert body == event().to_json() | {"time": body["time"]}
    assert headers["authorization"] == "Bearer t0ken"
    assert headers["content-type"] == "application/json"
    assert exporter.pending == [] and exporter.failures == 0


def test_webhook_failure_never_raises_and_keeps_the_event(
    closed_url: str, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = WebhookExporter(closed_url, timeout=1.0)
    with caplog.at_level(logging.DEBUG):
        exporter.emit(event(text="card <CREDIT_CARD_h:9f3a> from Zoë"))
        assert exporter.deliver(event(turn=2)) is False
    assert [p["turn"] for p in exporter.pending] == [1, 2]
    assert exporter.failures == 2 and exporter.last_error == "ConnectError"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ConnectError" in logged and "kept for retry" in logged
    assert "Zoë" not in logged and "CREDIT_CARD" not in logged and closed_url not in logged
    # The endpoint comes back (here: point the exporter at a live one): retry delivers in order.
    exporter._url = receiver.url
    assert exporter.retry() == 2
    assert [p["turn"] for p in receiver.payloads] == [1, 2]
    assert exporter.pending == [] and exporter.retry() == 0
    exporter.close()


def test_webhook_http_error_is_a_failure(receiver: Receiver) -> None:
    receiver.status = 503
    exporter = WebhookExporter(receiver.url)
    exporter.emit(event())
    assert exporter.last_error == "HTTP 503" and len(exporter.pending) == 1
    assert exporter.retry() == 0 and len(exporter.pending) == 1  # still down: kept
    receiver.status = 200
    assert exporter.retry() == 1 and exporter.pending == []
    assert len(receiver.payloads) == 3
    exporter.close()


def test_webhook_memory_retry_list_is_bounded(closed_url: str) -> None:
    exporter = WebhookExporter(closed_url, max_pending=2)
    for turn in range(1, 5):
        exporter.emit(event(turn=turn))
    assert [p["turn"] for p in exporter.pending] == [3, 4] and exporter.dropped == 2
    exporter.close()


def test_webhook_failure_goes_to_the_store_outbox(closed_url: str, receiver: Receiver, store: SqlStore) -> None:
    exporter = WebhookExporter(closed_url, store=store, name="bi-webhook")
    exporter.emit(event(turn=1))
    exporter.emit(event(turn=2))
    assert exporter.pending == []  # durable instead of in memory
    queued = store.outbox_pending(target="bi-webhook")
    assert [q["payload"]["turn"] for q in queued] == [1, 2]
    assert exporter.retry() == 0  # still down
    assert store.outbox_pending(target="bi-webhook")[0]["attempts"] == 1
    exporter._url = receiver.url
    assert exporter.retry() == 2
    assert [p["turn"] for p in receiver.payloads] == [1, 2]
    assert store.outbox_pending() == []
    exporter.close()


def test_webhook_repr_hides_url_and_headers() -> None:
    exporter = WebhookExporter("https://user:pw@example.invalid/x?token=s3cret", headers={"x-key": "k3y"})
    assert "s3cret" not in repr(exporter) and "pw" not in repr(exporter) and "k3y" not in repr(exporter)
    exporter.close()


# -- logging, capturing, transcript ---------------------------------------------------------
def test_logging_sink(caplog: pytest.LogCaptureFixture) -> None:
    sink = LoggingSink("safebot.events.test")
    with caplog.at_level(logging.INFO, logger="safebot.events.test"):
        sink.emit(event("transcript", "card <CREDIT_CARD_1>"))
    [record] = caplog.records
    assert record.levelno == logging.INFO and record.name == "safebot.events.test"
    assert json.loads(record.getMessage())["text"] == "card <CREDIT_CARD_1>"


def test_capturing_sink() -> None:
    sink = CapturingSink("transcript")
    sink.emit(event("transcript", "hi <PERSON_1>"))
    sink.emit(event("transcript", None))
    sink.emit(event("transcript", "bye"))
    assert sink.texts() == ["hi <PERSON_1>", "bye"]
    assert len(sink.events) == 3
    sink.clear()
    assert sink.events == []
    sink.close()
    assert sink.closed


def test_transcript_sink_writes_through_the_store(store: SqlStore) -> None:
    sink = TranscriptSink(store)
    sink.emit(event("transcript", "card <CREDIT_CARD_1>"))
    sink.close()
    [row] = store.transcript("c1")
    assert row["text"] == "card <CREDIT_CARD_1>" and row["entities"] == ["CREDIT_CARD"]
