"""The /v1 chat API against a real server: replies, transcripts, keys, ownership, bad input,
limits, metrics and the access log."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from serve_harness import Served

CARD = "4539 1488 0343 6467"
EMAIL = "agnieszka.wisniewska@example.org"


@contextmanager
def another_server(served: Served, **settings: Any) -> Iterator[str]:
    """A second app on the same bot and store, with its own limits."""
    from safebot.serve import ServeSettings, create_app
    from safebot.serve.testing import ServerThread

    config = ServeSettings(**settings)
    with ServerThread(create_app(served.bot, config, environ={}), config) as server:
        yield server.url


def transcript_rows(served: Served, conversation: str) -> list[dict[str, Any]]:
    return list(served.bot.store.transcript(served.bot.conversation_ref(f"rest:{conversation}")))


def test_health_and_ready_need_no_key(served: Served) -> None:
    assert httpx.get(f"{served.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{served.url}/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "models": True, "store": True, "whatsapp": "ready"}


def test_a_turn_returns_the_customer_rendering_and_the_transcript_is_stored_redacted(served: Served) -> None:
    r = served.post("rt-1", f"please freeze my card {CARD}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"conversation_id", "replies", "intent", "confidence"}
    assert body["conversation_id"] == "rt-1"
    assert body["intent"] == "freeze_card"
    assert body["replies"] == ["Card ****6467 is now frozen."]  # the policy's customer treatment
    assert 0 < body["confidence"] <= 1

    with served.client() as c:
        t = c.get("/v1/conversations/rt-1")
    assert t.status_code == 200
    turns = t.json()["turns"]
    assert [turn["turn"] for turn in turns] == [1]
    events = turns[0]["events"]
    user = next(e for e in events if e["kind"] == "user")
    bot = next(e for e in events if e["kind"] == "bot")
    assert user["text"] == "please freeze my card <CREDIT_CARD_1>"
    assert user["entities"] == ["CREDIT_CARD"]
    assert bot["text"] == "Card <CREDIT_CARD_1> is now frozen."
    # exactly what the store holds, nothing else
    stored = [(row["kind"], row["text"]) for row in transcript_rows(served, "rt-1")]
    assert [(e["kind"], e["text"]) for e in events] == stored


def test_turns_accumulate_turn_by_turn(served: Served) -> None:
    for text in ("hello", "show me the menu", "freeze my card"):
        assert served.post("rt-turns", text).status_code == 200
    with served.client() as c:
        turns = c.get("/v1/conversations/rt-turns").json()["turns"]
    assert [t["turn"] for t in turns] == [1, 2, 3]
    assert [next(e["text"] for e in t["events"] if e["kind"] == "user") for t in turns] == [
        "hello", "show me the menu", "freeze my card"]


@pytest.mark.parametrize("header", [
    None,
    "Bearer",
    "Basic YWxpY2U6c2VjcmV0",
    "Bearer sbk_0000000000000000_" + "A" * 43,      # well-formed, unknown
    "Bearer not-a-key",
    "WRONG_SECRET",                                   # alice's id with another secret
    "REVOKED",
])
def test_missing_wrong_or_revoked_keys_get_401_and_nothing_is_processed(served: Served, header: str | None) -> None:
    if header == "WRONG_SECRET":
        key_id = served.keys["alice"].split("_")[1]
        header = f"Bearer sbk_{key_id}_{'B' * 43}"
    elif header == "REVOKED":
        header = f"Bearer {served.keys['revoked']}"
    headers = {"Authorization": header} if header else {}
    before = served.bot.store.conversations()
    r = httpx.post(f"{served.url}/v1/conversations/rt-401/messages", json={"text": f"card {CARD}"}, headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"]["code"] == "unauthorized"
    assert CARD not in r.text
    assert served.bot.store.conversations() == before
    assert httpx.get(f"{served.url}/v1/conversations/rt-401", headers=headers).status_code == 401


def test_another_key_gets_404_and_never_the_transcript(served: Served) -> None:
    assert served.post("rt-owned", f"freeze card {CARD}", key="alice").status_code == 200
    rows = transcript_rows(served, "rt-owned")
    with served.client("bob") as bob:
        got = bob.get("/v1/conversations/rt-owned")
        posted = bob.post("/v1/conversations/rt-owned/messages", json={"text": "hello"})
        missing = bob.get("/v1/conversations/rt-never-started")
    for r in (got, posted, missing):
        assert r.status_code == 404
        assert r.json() == {"error": {"code": "not_found", "message": "conversation not found"}}
    assert "CREDIT_CARD" not in got.text
    assert transcript_rows(served, "rt-owned") == rows  # bob's message was not processed


def test_roles_other_than_customer_are_refused_on_v1(served: Served) -> None:
    for name in ("metrics", "compliance"):
        with served.client(name) as c:
            r = c.post("/v1/conversations/rt-role/messages", json={"text": "hello"})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
    with served.client("alice") as c:
        assert c.get("/metrics").status_code == 403
    assert httpx.get(f"{served.url}/metrics").status_code == 401


BAD_BODIES = [
    (b'{"text": "my card is 4539 1488 0343 6467"', "body is not valid JSON"),
    (b'{"message": "my card is 4539 1488 0343 6467"}', None),
    (b'{"text": 4539148803436467}', None),
    (b'["my card is 4539 1488 0343 6467"]', None),
    (b'{"text": "hi", "4539 1488 0343 6467": "agnieszka.wisniewska@example.org"}', None),
    (b'{"text": ""}', None),
    (json.dumps({"text": "x" * 5000 + " 4539 1488 0343 6467"}).encode(), "at most 4096 characters"),
    (b"\xff\xfe not json 4539 1488 0343 6467", None),
]


@pytest.mark.parametrize(("body", "says"), BAD_BODIES)
def test_malformed_or_wrong_bodies_get_a_safe_422(served: Served, body: bytes, says: str | None) -> None:
    with served.client() as c:
        r = c.post("/v1/conversations/rt-422/messages", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_request"
    if says:
        assert says in err["message"]
    for needle in ("4539", "1488", "agnieszka", "wisniewska", "xxxx"):
        assert needle not in r.text
    assert served.bot.store.conversations().count(served.bot.conversation_ref("rest:rt-422")) == 0


def test_bad_conversation_ids_are_refused(served: Served) -> None:
    with served.client() as c:
        r = c.post("/v1/conversations/" + "a" * 200 + "/messages", json={"text": "hi"})
        assert r.status_code == 422
        assert "a" * 20 not in r.text
        assert c.post("/v1/conversations/%20leading/messages", json={"text": "hi"}).status_code == 422


def test_body_over_the_limit_is_refused_unread_or_cut_off(served: Served) -> None:
    big = json.dumps({"text": "y" * 40_000}).encode()
    with served.client() as c:
        declared = c.post("/v1/conversations/rt-413/messages", content=big, headers={"content-type": "application/json"})

        def chunks() -> Iterator[bytes]:
            for _ in range(40):
                yield b"y" * 1000

        streamed = c.post("/v1/conversations/rt-413/messages", content=chunks(), headers={"content-type": "application/json"})
    for r in (declared, streamed):
        assert r.status_code == 413
        assert r.json()["error"]["message"] == "request body is larger than 32768 bytes"


def test_a_slow_request_head_is_cut_off(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.server.port), timeout=5) as s:
        s.sendall(b"POST /v1/conversations/slow/messages HTTP/1.1\r\nHost: x\r\n")  # never finished
        started = time.monotonic()
        s.settimeout(5)
        data = s.recv(100)  # the server closes it (header_timeout=1s in this suite)
    assert data == b""
    assert time.monotonic() - started < 4


def test_a_slow_request_body_gets_408(served: Served) -> None:
    head = (f"POST /v1/conversations/slow/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {served.keys['alice']}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", served.server.port), timeout=5) as s:
        s.sendall(head + b'{"text": "')
        s.settimeout(5)
        reply = s.recv(1000)
    assert reply.startswith(b"HTTP/1.1 408")


def test_rate_limit_answers_429_with_retry_after(served: Served) -> None:
    with another_server(served, rate_limit_per_minute=6, rate_limit_burst=2) as url:
        headers = {"Authorization": f"Bearer {served.keys['carol']}"}
        codes = [httpx.post(f"{url}/v1/conversations/rt-429/messages", json={"text": "hello"}, headers=headers)
                 for _ in range(3)]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].json()["error"]["code"] == "rate_limited"
    assert 1 <= int(codes[2].headers["retry-after"]) <= 10


def test_past_the_turn_limit_the_server_answers_503(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setenv("SERVEBANK_SLEEP", "1.5")
    with another_server(served, max_concurrent_turns=1) as url:
        headers = {"Authorization": f"Bearer {served.keys['carol']}"}
        first: list[httpx.Response] = []
        t = threading.Thread(target=lambda: first.append(httpx.post(
            f"{url}/v1/conversations/rt-503a/messages", json={"text": "run the slow check"}, headers=headers, timeout=30)))
        t.start()
        time.sleep(0.5)
        second = httpx.post(f"{url}/v1/conversations/rt-503b/messages", json={"text": "hello"}, headers=headers)
        t.join()
    assert second.status_code == 503
    assert second.headers["retry-after"] == "1"
    assert second.json()["error"]["code"] == "overloaded"
    assert first[0].status_code == 200
    assert transcript_rows(served, "rt-503b") == []


def test_metrics_count_turns_findings_and_requests_without_customer_data(served: Served) -> None:
    served.post("rt-metrics", f"freeze my card {CARD}")
    text = served.metrics()
    assert re.search(r'safebot_turns_total\{channel="rest",outcome="ok"\} [1-9]', text)
    assert re.search(r'safebot_findings_total\{entity_type="CREDIT_CARD"\} [1-9]', text)
    assert re.search(r"safebot_turn_seconds_bucket\{channel=\"rest\",le=\"\+Inf\"\} [1-9]", text)
    assert 'route="/v1/conversations/{conversation_id}/messages"' in text
    assert "safebot_blocked_messages_total" in text
    assert "rt-metrics" not in text and "4539" not in text
    labels = set(re.findall(r'(\w+)="([^"]*)"', text))
    assert all(not v.startswith("rt-") for _, v in labels)


def test_one_access_log_line_per_request_with_the_route_template_only(served: Served) -> None:
    marker = f"rt-log-{time.monotonic_ns()}"
    before = len(served.logs.lines)
    served.post(marker, f"freeze my card {CARD}")
    httpx.get(f"{served.url}/ready?token=query-secret-123")
    lines = [line for line in served.logs.lines[before:] if "safebot.serve.access" in line]
    assert len(lines) == 2
    assert re.fullmatch(r"INFO safebot\.serve\.access POST /v1/conversations/\{conversation_id\}/messages 200 "
                        r"[0-9.]+ms key=[0-9a-f]{16}", lines[0])
    assert re.fullmatch(r"INFO safebot\.serve\.access GET /ready 200 [0-9.]+ms key=-", lines[1])
    everything = "\n".join(served.logs.lines[before:])
    assert marker not in everything and "query-secret" not in everything and "4539" not in everything


def test_unknown_routes_and_methods_get_json_errors(served: Served) -> None:
    r = httpx.get(f"{served.url}/v2/nothing/4539148803436467")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert "4539" not in r.text
    assert httpx.delete(f"{served.url}/health").status_code == 405


def test_openapi_describes_the_contract(served: Served) -> None:
    doc = httpx.get(f"{served.url}/openapi.json").json()
    post = doc["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]
    assert {"401", "404", "413", "422", "429", "503"} <= set(post["responses"])
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    schema = doc["components"]["schemas"]["MessageIn"]
    assert schema["properties"]["text"]["maxLength"] == 4096
    assert schema["additionalProperties"] is False
