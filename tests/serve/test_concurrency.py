"""Slow turns do not block the server; one conversation runs one turn at a time in arrival
order; different conversations run in parallel. The servebank ``slow`` handler records when
each turn ran (``SERVEBANK_LOG``)."""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from serve_harness import Served


def read_log(path: Path, event: str = "end") -> list[dict[str, float]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [line for line in lines if line["event"] == event]


def wait_started(path: Path, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(read_log(path, "start")) < count:
        assert time.monotonic() < deadline, "the slow turns did not start"
        time.sleep(0.01)


def post_later(served: Served, conversation: str, text: str, delay: float, out: dict[str, httpx.Response]) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        out[text] = served.post(conversation, text)

    t = threading.Thread(target=run)
    t.start()
    return t


@pytest.fixture
def turn_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "turns.jsonl"
    monkeypatch.setenv("SERVEBANK_LOG", str(path))
    monkeypatch.setenv("SERVEBANK_SLEEP", "0.8")
    return path


def test_health_answers_while_slow_turns_run(served: Served, turn_log: Path) -> None:
    out: dict[str, httpx.Response] = {}
    threads = [post_later(served, f"cc-busy-{i}", f"run the slow check m{i}", 0.0, out) for i in range(3)]
    wait_started(turn_log, 3)  # the three turns are sleeping in their handler now
    health = httpx.get(f"{served.url}/health", timeout=5)
    health_done = time.time()
    for t in threads:
        t.join()
    assert health.status_code == 200
    turns = read_log(turn_log)
    assert len(turns) == 3
    # /health was answered while every one of the turns was still running
    assert all(t["start"] < health_done < t["end"] for t in turns)
    assert all(r.status_code == 200 for r in out.values())


def test_one_conversation_runs_one_turn_at_a_time_in_arrival_order(served: Served, turn_log: Path) -> None:
    # Four connections opened first, then the requests written from one thread 0.15 s apart:
    # the order they reach the server is the order they are sent (no client thread races).
    socks = [socket.create_connection(("127.0.0.1", served.server.port), timeout=60) for _ in range(4)]
    for i, s in enumerate(socks, start=1):
        body = json.dumps({"text": f"slow check m{i}"}).encode()
        s.sendall((f"POST /v1/conversations/cc-order/messages HTTP/1.1\r\nHost: x\r\n"
                   f"Authorization: Bearer {served.keys['alice']}\r\nContent-Type: application/json\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
        time.sleep(0.15)
    statuses = []
    for s in socks:
        with s:
            statuses.append(s.recv(100).split(b" ")[1])
    turns = read_log(turn_log)
    assert [t["token"] for t in turns] == [1, 2, 3, 4]
    for earlier, later in itertools.pairwise(turns):
        assert earlier["end"] <= later["start"]  # never two at once
    assert statuses == [b"200"] * 4
    with served.client() as c:
        stored = c.get("/v1/conversations/cc-order").json()["turns"]
    assert [next(e["text"] for e in t["events"] if e["kind"] == "user") for t in stored] == [
        f"slow check m{i}" for i in range(1, 5)]


def test_different_conversations_run_in_parallel(served: Served, turn_log: Path) -> None:
    out: dict[str, httpx.Response] = {}
    threads = [post_later(served, f"cc-par-{i}", f"run the slow check m{i}", 0.0, out) for i in range(3)]
    for t in threads:
        t.join()
    turns = read_log(turn_log)
    assert len(turns) == 3
    # they overlapped: each started before the others ended
    assert max(t["start"] for t in turns) < min(t["end"] for t in turns)
