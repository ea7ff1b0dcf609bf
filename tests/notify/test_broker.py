"""The real pipeline: PostgreSQL store, Dramatiq on RabbitMQ, limits in Redis, ``safebot worker``
processes. What RabbitMQ holds (delivery ids only), and crash safety: a worker SIGKILLed in
the middle of a mass send loses no delivery and sends none twice (statuses reach the store as
Meta sends them, for every message the fake Graph API accepted)."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notify_harness import ACCESS_TOKEN, NB, SECRETS, make_bot_dir, new_number

from safebot.notify import Recipient
from safebot.notify.service import Notifier, worker_env

PG = "postgresql://postgres@127.0.0.1:5432/test"
AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"
REDIS = "redis://127.0.0.1:6379/15"


def _up(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.skipif(not _up(5672), reason="RabbitMQ is not running on 127.0.0.1:5672"),
    pytest.mark.skipif(not _up(6379), reason="Redis is not running on 127.0.0.1:6379"),
    pytest.mark.skipif(not _up(5432), reason="PostgreSQL is not running on 127.0.0.1:5432"),
    pytest.mark.slow,
]


@dataclasses.dataclass
class Pipeline:
    bot_dir: Path
    queue: str
    notifier: Notifier
    graph: Any


@pytest.fixture
def pipeline(tmp_path: Path, nb: NB) -> Iterator[Pipeline]:
    from safebot.channels.whatsapp.testing import FakeGraph

    tag = secrets.token_hex(4)
    queue = f"safebot_test_{tag}"
    with FakeGraph(access_token=ACCESS_TOKEN) as graph:
        extra = (f"  broker_url: {AMQP}\n  redis_url: {REDIS}\n  queue: {queue}\n  per_number_per_second: 300\n"
                 "  batch_size: 25\n  sending_lease_seconds: 3\n  reconcile_after_seconds: 1\n  reconcile_max_wait_seconds: 4\n"
                 "  republish_after_seconds: 5\n  worker_threads: 2\n"
                 f"store:\n  url: {PG}\n  schema: notify_{tag}\n")
        bot_dir = make_bot_dir(tmp_path / "piped", graph.url, extra)
        # The test queues with the bot's own keys and its redactor (for text parameters).
        env = dataclasses.replace(worker_env(bot_dir), redactor=nb.bot.redactor)
        notifier = Notifier(env)
        try:
            yield Pipeline(bot_dir, queue, notifier, graph)
        finally:
            broker = notifier.broker()
            if broker is not None:
                for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                    try:
                        broker.broker.channel.queue_delete(name)
                    except Exception:
                        pass
            notifier.close()
            with env.store.engine.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "notify_{tag}" CASCADE')
            env.store.close()


class Worker:
    def __init__(self, bot_dir: Path) -> None:
        env = {**os.environ, **SECRETS}
        self.proc = subprocess.Popen([sys.executable, "-m", "safebot.cli", "worker", str(bot_dir)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 120
        while not any("notification worker started" in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the worker did not start: " + "".join(self.lines)[-2000:])
            time.sleep(0.05)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Meta:
    """Sends a status for every message the fake accepted, as Meta does, through the channel's
    hook (the same call the signed webhook makes)."""

    def __init__(self, pipeline: Pipeline) -> None:
        from safebot.notify.whatsapp import NotifyHooks

        self.p, self.seen = pipeline, 0
        self.hooks = NotifyHooks(pipeline.notifier, pipeline.notifier.env.message_ref)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from safebot.channels.whatsapp.payloads import StatusUpdate
        from safebot.sensitive import Sensitive

        while not self.stop.is_set():
            sent = self.p.graph.sent
            fresh, self.seen = sent[self.seen:], len(sent)
            if fresh:
                with self.p.notifier.outbox.tx() as conn:
                    for r in fresh:
                        item = StatusUpdate(Sensitive(str(r.message_id)), "sent", "1749416400", (),
                                            r.json.get("biz_opaque_callback_data"), "utility")
                        self.hooks.on_status(conn, item, self.p.notifier.env.message_ref(str(r.message_id)))
            self.stop.wait(0.1)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def test_rabbitmq_messages_carry_delivery_ids_and_nothing_else(pipeline: Pipeline) -> None:
    import pika

    numbers = [new_number() for _ in range(30)]
    card, email = "4539 1488 0343 6467", "planted.person@example.org"
    people = [Recipient(n, customer_id=f"CUST-{n}") for n in numbers]
    result = pipeline.notifier.enqueue("fraud_alert", people, idempotency_key=f"bodies-{numbers[0]}",
                                       params={"amount": "$12.00", "merchant": f"Card {card} {email}", "card": "6467"})
    assert len(result.delivery_ids) == 30
    connection = pika.BlockingConnection(pika.URLParameters(AMQP))
    try:
        channel = connection.channel()
        bodies: list[bytes] = []
        deadline = time.monotonic() + 10
        while len(bodies) < 2 and time.monotonic() < deadline:  # 30 ids in messages of 25
            method, _, body = channel.basic_get(pipeline.queue, auto_ack=True)
            if method is None:
                time.sleep(0.1)
                continue
            bodies.append(body)
    finally:
        connection.close()
    assert len(bodies) == 2
    ids: list[int] = []
    for body in bodies:
        message = json.loads(body)
        assert message["actor_name"] == "safebot_notify_send" and message["kwargs"] == {}
        [batch] = message["args"]
        assert all(isinstance(i, int) for i in batch)
        ids += batch
        text = body.decode()
        for planted in [*numbers, card, card.replace(" ", ""), email, "6467", "Sunset", "CUST-", "$12.00"]:
            assert planted not in text
    assert sorted(ids) == sorted(result.delivery_ids)


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(pipeline: Pipeline) -> None:
    n = 300
    numbers = [new_number() for _ in range(n)]
    a, b = Worker(pipeline.bot_dir), Worker(pipeline.bot_dir)
    meta = Meta(pipeline)
    try:
        result = pipeline.notifier.enqueue("fraud_alert", [Recipient(x) for x in numbers],
                                           idempotency_key=f"crash-{numbers[0]}",
                                           params={"amount": "$5.00", "merchant": "Shop", "card": "1234"})
        assert len(result.delivery_ids) == n
        deadline = time.monotonic() + 60
        while len(pipeline.graph.sent) < n // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        a.kill()  # mid-send: it held messages, claims and sends in flight
        time.sleep(0.5)
        a = Worker(pipeline.bot_dir)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            counts = pipeline.notifier.outbox.counts(result.notification_id)
            if counts.get("sent", 0) + counts.get("failed", 0) >= n:
                break
            time.sleep(0.2)
        meta.close()
        counts = pipeline.notifier.outbox.counts(result.notification_id)
        per_delivery = Counter(r.json["biz_opaque_callback_data"] for r in pipeline.graph.sent)
        twice = [k for k, v in per_delivery.items() if v > 1]
        assert twice == [], f"sent twice: {len(twice)}"
        assert sorted(per_delivery) == sorted(f"sbn:{i}" for i in result.delivery_ids), "a delivery was lost"
        # A fraud alert is UTILITY (at least once with reconciliation): what the dead worker had
        # claimed but not sent went again; what it had sent was settled by its status.
        assert counts == {"sent": n}, counts
    finally:
        meta.close()
        a.stop()
        b.stop()


def test_an_opt_out_stops_a_delivery_already_waiting_in_rabbitmq(pipeline: Pipeline) -> None:
    """The id is in the broker before the customer says STOP; the worker that takes it checks
    consent when it claims the row, so the very next delivery is suppressed. The worker's log
    carries none of the planted values."""
    stopped, other = new_number(), new_number()
    card, email = "4539 1488 0343 6467", "planted.optout@example.org"
    params = {"amount": "$7.00", "merchant": f"Shop {email}", "card": "6467"}
    first = pipeline.notifier.enqueue("fraud_alert", [Recipient(stopped), Recipient(other)],
                                      idempotency_key=f"optout-{stopped}", params=params)
    broker = pipeline.notifier.broker()
    assert broker is not None and broker.counts()["queued"] >= 1  # published, waiting for a worker
    action = pipeline.notifier.before_turn(conversation_ref=pipeline.notifier.contact_ref(stopped), message_ref=None,
                                           text="Stop", form_open=False)
    assert action.replies
    worker = Worker(pipeline.bot_dir)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = pipeline.notifier.outbox.counts(first.notification_id)
            if counts.get("queued", 0) + counts.get("sending", 0) == 0:
                break
            time.sleep(0.1)
        assert pipeline.notifier.outbox.counts(first.notification_id) == {"suppressed": 1, "sent": 1}
        assert [r.json["to"] for r in pipeline.graph.sent if r.json["to"] in (stopped, other)] == [other]
    finally:
        worker.stop()
    log = "".join(worker.lines)
    for planted in (stopped, other, card, email, "$7.00"):
        assert planted not in log


def test_the_same_key_from_many_requests_at_once_queues_once_on_postgresql(pipeline: Pipeline) -> None:
    """Eight threads with one idempotency key race past the 'already queued?' check together;
    one request queues, the others are answered as duplicates of it, none fails."""
    from concurrent.futures import ThreadPoolExecutor

    number = new_number()
    key = f"race-{number}"
    barrier = threading.Barrier(8)

    def one(_: int) -> Any:
        barrier.wait()
        return pipeline.notifier.enqueue("fraud_alert", [Recipient(number)], idempotency_key=key,
                                         params={"amount": "$3.00", "merchant": "Shop", "card": "1111"})

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert len({r.notification_id for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False] + [True] * 7
    assert len(pipeline.notifier.outbox.deliveries_of(results[0].notification_id)) == 1
