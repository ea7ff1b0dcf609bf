"""A recording fake of the Graph API messages endpoint: a real HTTP server on loopback.

Tests point ``graph_base_url`` at it and assert exactly what the platform would receive.
It answers like the Cloud API (``{"messaging_product", "contacts", "messages": [{"id"}]}``)
with wamids shaped like Meta's (base64 that embeds the recipient's number, so a test can
check none is stored or logged), and can be told to fail the next requests (429, 5xx, Meta
error codes such as 131056).

>>> with FakeGraph() as graph:                                      # doctest: +SKIP
...     ...  # bot.yaml: graph_base_url: {graph.url}
...     graph.sent[0].json["text"]["body"]
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["FakeGraph", "GraphRequest", "meta_wamid"]


def meta_wamid(phone: str) -> str:
    """A message id shaped like Meta's: ``wamid.`` + base64 of a record holding the number."""
    digits = phone.lstrip("+").encode()
    record = b"\x18" + bytes([len(digits)]) + digits + b"\x15\x02\x00\x11\x18\x12" + secrets.token_hex(9).upper().encode() + b"\x00"
    return "wamid." + base64.b64encode(record).decode()


@dataclass(frozen=True)
class GraphRequest:
    """One request the fake received, as the platform would see it."""

    path: str
    headers: dict[str, str]
    raw: bytes
    json: Any
    #: the wamid it answered with (None for a scripted failure)
    message_id: str | None
    time: float = field(default_factory=time.monotonic)


class FakeGraph:
    """``with FakeGraph() as g:`` serves on ``g.url`` until the block ends."""

    def __init__(self, *, access_token: str | None = None) -> None:
        self.access_token = access_token
        self.requests: list[GraphRequest] = []
        self._failures: list[tuple[int, Any, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-graph", daemon=True)
        #: seconds to wait before answering (a slow platform)
        self.delay = 0.0

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def sent(self) -> list[GraphRequest]:
        """Requests answered with a message id (what reached the customer), in order."""
        with self._lock:
            return [r for r in self.requests if r.message_id is not None]

    def fail_next(self, status: int, body: Any = None, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` and ``body`` (JSON)."""
        with self._lock:
            self._failures += [(status, body, dict(headers or {}))] * times

    def meta_error(self, code: int, status: int = 400, *, times: int = 1) -> None:
        """Fail with Meta's error shape and ``code`` (130429, 131056, 131047...)."""
        self.fail_next(status, {"error": {"message": f"(#{code}) error", "type": "OAuthException", "code": code,
                                          "error_data": {"messaging_product": "whatsapp", "details": "error"},
                                          "fbtrace_id": "AbCdEf"}}, times=times)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[GraphRequest]:
        """Block until ``count`` messages were sent (or fail the test with AssertionError)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sent = self.sent
            if len(sent) >= count:
                return sent
            time.sleep(0.02)
        raise AssertionError(f"the fake Graph API got {len(self.sent)} messages, expected {count}")

    def log_text(self) -> str:
        """Everything it received, as text (for leak scans)."""
        with self._lock:
            return "\n".join(r.raw.decode("utf-8", "replace") + "\n" + json.dumps(r.headers) for r in self.requests)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the fake keeps its own record

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                if fake.delay:
                    time.sleep(fake.delay)
                with fake._lock:
                    failure = fake._failures.pop(0) if fake._failures else None
                status: int = 200
                answer: Any = None
                extra: dict[str, str] = {}
                message_id: str | None = None
                auth = self.headers.get("authorization", "")
                if fake.access_token is not None and auth != f"Bearer {fake.access_token}":
                    status, answer = 401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
                elif failure is not None:
                    status, answer, extra = failure
                elif not isinstance(body, dict) or body.get("messaging_product") != "whatsapp" or "to" not in body:
                    status, answer = 400, {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100}}
                else:
                    message_id = meta_wamid(str(body["to"]))
                    answer = {"messaging_product": "whatsapp", "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                              "messages": [{"id": message_id}]}
                with fake._lock:
                    fake.requests.append(GraphRequest(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      raw, body, message_id))
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        return Handler
