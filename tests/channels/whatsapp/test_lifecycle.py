"""``safebot serve`` as real processes on one store:

1. process A acknowledges a message and is killed (SIGKILL) before it ran: process B, started
   on the same store, processes it (nothing is lost after the 200);
2. B gets SIGTERM while a WhatsApp turn and a REST turn run: both finish, the REST client gets
   its reply, the WhatsApp reply reaches the platform, and B exits 0.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import meta_payloads as meta
import pytest
from serve_harness import ACCESS_TOKEN, SECRETS, ServeProcess, make_bot_dir, sign
from wa_helpers import new_sender, wamid

from safebot.channels.whatsapp.testing import FakeGraph


def deliver(url: str, sender: str, text: str) -> int:
    body = meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(sender), text, sender)])]))
    return httpx.post(f"{url}/webhooks/whatsapp", content=body, headers={"x-hub-signature-256": sign(body)},
                      timeout=30).status_code


def started(log: Path, token: int) -> bool:
    lines = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    return any(x["event"] == "start" and x["token"] == token for x in lines)


def wait_until(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_killed_process_loses_nothing_and_sigterm_lets_running_turns_finish(tmp_path: Path) -> None:
    from safebot.serve.auth import create_key
    from safebot.stores import SqlStore

    log = tmp_path / "turns.jsonl"
    with FakeGraph(access_token=ACCESS_TOKEN) as graph:
        bot_dir = make_bot_dir(tmp_path / "bot", graph.url)
        store = SqlStore.for_bot_dir(bot_dir)
        key = create_key(store, "app")[1].reveal()
        store.close()
        env = {**os.environ, **SECRETS, "SERVEBANK_LOG": str(log), "SAFEBOT_SERVE_WHATSAPP_PARALLEL": "1",
               "SAFEBOT_SERVE_WHATSAPP_LEASE_SECONDS": "1", "SAFEBOT_SERVE_WHATSAPP_POLL_SECONDS": "0.2",
               "SAFEBOT_SERVE_SHUTDOWN_TIMEOUT": "3"}

        # A: its one worker is busy with a long turn; the next message is stored, acknowledged, not run
        a = ServeProcess(bot_dir, {**env, "SERVEBANK_SLEEP": "60"})
        busy, waiting = new_sender(), new_sender()
        assert deliver(a.url, busy, "run the slow check m1") == 200
        wait_until(lambda: started(log, 1))
        assert deliver(a.url, waiting, "hello") == 200
        a.proc.kill()
        a.wait()
        assert [r for r in graph.sent if r.json["to"] == waiting] == []

        # B on the same store: the acknowledged message is processed
        b = ServeProcess(bot_dir, {**env, "SERVEBANK_SLEEP": "1.5", "SAFEBOT_SERVE_WHATSAPP_PARALLEL": "4"})
        wait_until(lambda: any(r.json["to"] == waiting for r in graph.sent), timeout=30)
        [reply] = [r for r in graph.sent if r.json["to"] == waiting]
        assert reply.json["text"]["body"] == "Hi! How can I help?"

        # SIGTERM while a WhatsApp turn and a REST turn run
        late = new_sender()
        assert deliver(b.url, late, "slow check m2") == 200
        result: dict[str, httpx.Response] = {}
        rest = threading.Thread(target=lambda: result.update(r=httpx.post(
            f"{b.url}/v1/conversations/term-1/messages", json={"text": "run the slow check m3"},
            headers={"Authorization": f"Bearer {key}"}, timeout=60)))
        rest.start()
        wait_until(lambda: started(log, 2) and started(log, 3))
        b.proc.send_signal(signal.SIGTERM)
        rest.join(60)
        rc = b.wait()
        assert result["r"].status_code == 200, result["r"].text
        assert result["r"].json()["replies"] == ["Done with the slow check."]
        assert [r.json["text"]["body"] for r in graph.sent if r.json["to"] == late] == ["Done with the slow check."]
        assert rc == 0, b.stderr[-3000:]
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{b.url}/health", timeout=2)

    # the REST turn was committed whole; the logs hold templates, never ids or text
    store = SqlStore.for_bot_dir(bot_dir)
    try:
        rows = [r for ref in store.conversations() for r in store.transcript(ref)]
    finally:
        store.close()
    assert sum(1 for r in rows if r["text"] == "run the slow check m3") == 1
    assert sum(1 for r in rows if r["text"] == "Done with the slow check.") >= 2
    logs = a.stderr + b.stderr
    assert "POST /v1/conversations/{conversation_id}/messages 200" in b.stderr
    for secret in ("term-1", "slow check", waiting, late, busy, "hello"):
        assert secret not in logs
