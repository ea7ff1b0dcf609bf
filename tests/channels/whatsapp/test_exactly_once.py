"""Meta redelivers for days, possibly to two workers at the same moment: each message is
processed once. A conversation's messages run one at a time, in order; acknowledgements stay
fast while turns run."""

from __future__ import annotations

import itertools
import json
import threading
import time
from pathlib import Path

import httpx
import meta_payloads as meta
import pytest
from serve_harness import Served
from wa_helpers import body_of, new_sender, settle, wamid

from safebot.stores._serving_schema import WhatsAppInboundRow


@pytest.fixture
def turn_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "turns.jsonl"
    monkeypatch.setenv("SERVEBANK_LOG", str(path))
    monkeypatch.setenv("SERVEBANK_SLEEP", "0.6")
    return path


def turns(path: Path, event: str = "end") -> list[dict[str, float]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [line for line in lines if line["event"] == event]


def inbound_rows(wa: Served, sender: str) -> list[tuple[str, int]]:
    from sqlalchemy import select

    i = WhatsAppInboundRow
    ref = wa.bot.conversation_ref(f"whatsapp:{sender}")
    with wa.bot.store.engine.connect() as conn:
        return [(r.state, r.attempts) for r in conn.execute(select(i.state, i.attempts).where(i.conversation_ref == ref))]


def test_a_redelivered_message_is_processed_once(wa: Served) -> None:
    sender = new_sender()
    body = meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(sender), "hello", sender)])]))
    for _ in range(4):
        assert wa.deliver(body).status_code == 200
    settle(wa, sender, 1, quiet=1.0)
    assert inbound_rows(wa, sender) == [("done", 1)]
    assert 'safebot_whatsapp_messages_total{kind="duplicate"}' in wa.metrics()


def test_two_workers_receiving_the_same_delivery_at_once_process_it_once(wa: Served) -> None:
    from serve_harness import SECRETS, sign

    from safebot.serve import ServeSettings, create_app
    from safebot.serve.testing import ServerThread

    config = ServeSettings(whatsapp_poll_seconds=0.2)
    senders = [new_sender() for _ in range(5)]
    bodies = [meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(s), "hello", s)])])) for s in senders]
    with ServerThread(create_app(wa.bot, config, environ=SECRETS), config) as second:
        for body in bodies:
            barrier = threading.Barrier(2)
            codes: list[int] = []

            def post(url: str, body: bytes = body, barrier: threading.Barrier = barrier,
                     codes: list[int] = codes) -> None:
                barrier.wait()
                codes.append(httpx.post(f"{url}/webhooks/whatsapp", content=body,
                                        headers={"x-hub-signature-256": sign(body)}).status_code)

            threads = [threading.Thread(target=post, args=(u,)) for u in (wa.url, second.url)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert codes == [200, 200]
        for s in senders:
            settle(wa, s, 1, quiet=0.0)
        time.sleep(1.0)
    for s in senders:
        assert len([r for r in wa.graph.sent if r.json["to"] == s]) == 1
        assert inbound_rows(wa, s) == [("done", 1)]


def test_one_conversations_messages_run_one_at_a_time_in_order(wa: Served, turn_log: Path) -> None:
    sender = new_sender()
    first = meta.delivery([meta.value(messages=[meta.text(wamid(sender), f"slow check m{i}", sender) for i in (1, 2)])])
    second = meta.delivery([meta.value(messages=[meta.text(wamid(sender), "slow check m3", sender)])])
    assert wa.deliver(meta.meta_bytes(first)).status_code == 200
    assert wa.deliver(meta.meta_bytes(second)).status_code == 200
    replies = settle(wa, sender, 3)
    ran = [t for t in turns(turn_log) if t["conversation"] == wa.bot.conversation_ref(f"whatsapp:{sender}")]
    assert [t["token"] for t in ran] == [1, 2, 3]
    for earlier, later in itertools.pairwise(ran):
        assert earlier["end"] <= later["start"]
    # each reply went out before the next message's turn started
    assert all(body_of(r)["text"]["body"] == "Done with the slow check." for r in replies)


def test_acks_stay_fast_while_turns_run_and_conversations_run_in_parallel(
    wa: Served, turn_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SERVEBANK_SLEEP", "2.0")  # margin for a busy machine: the ack must land inside
    senders = [new_sender() for _ in range(3)]
    for s in senders:
        wa.deliver(meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(s), "run the slow check", s)])])))
    deadline = time.monotonic() + 30
    while len(turns(turn_log, "start")) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    other = new_sender()
    r = wa.deliver(meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(other), "hello", other)])])))
    acked = time.time()
    assert r.status_code == 200
    for s in senders:
        settle(wa, s, 1, quiet=0.0)
    ended = turns(turn_log)
    assert all(t["start"] < acked < t["end"] for t in ended)  # answered while all three ran
    assert max(t["start"] for t in ended) < min(t["end"] for t in ended)  # in parallel
