"""Mass sends through the real pipeline: CSV -> `safebot notify` -> PostgreSQL outbox -> Dramatiq on
RabbitMQ -> two `safebot worker` processes (limits in Redis) -> a recording fake Graph API on
loopback, which posts Meta-shaped, signed status webhooks (with the send's
biz_opaque_callback_data) back to a `safebot serve` of the same bot, as Meta does.

Runs (each on a fresh PostgreSQL schema and RabbitMQ queue):

  plain     N recipients at the configured per-number limit
  kill      the same, one worker SIGKILLed when half are sent, restarted at once
  default   a shorter run at WhatsApp's default 80/s (optional, --default-n)

Figures per run: enqueue time from CSV (as `safebot notify` reports it), sends per second
(first to last send) and sustained (median of whole seconds), duplicates, losses, and the
largest number of sends in any one-second window (sliding, at the fake's receipt: the kernel's
receive time of each request, SO_TIMESTAMPNS; the stamp the fake's own code took is reported
beside it) against the limit. Loopback only; every loop is bounded in time.

    .venv/bin/python bench/notify.py --n 100000 --limit 1000
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import hmac
import json
import multiprocessing
import os
import secrets
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "tests" / "notify" / "notifybank"
PY = sys.executable
PG = os.environ.get("SAFEBOT_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
AMQP = "amqp://guest:guest@127.0.0.1:5672/%2F"
REDIS = "redis://127.0.0.1:6379/14"
APP_SECRET, VERIFY, TOKEN = "bench-app-secret", "bench-verify", "EAAbenchtoken"
SECRETS = {"SAFEBOT_WHATSAPP_APP_SECRET": APP_SECRET, "SAFEBOT_WHATSAPP_VERIFY_TOKEN": VERIFY,
           "SAFEBOT_WHATSAPP_ACCESS_TOKEN": TOKEN}
PHONE_NUMBER_ID = "106540352242922"
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux


# -- the fake Graph API process --------------------------------------------------------------------
def fake_graph_main(state_dir: Path, webhook_url_file: Path) -> None:
    """A recording fake of the Graph API's messages endpoint on loopback: a bare asyncio
    HTTP/1.1 server (keep-alive; the test suite's threaded FakeGraph costs the 2-core machine
    more CPU than the workers it measures). Records each accepted send's receipt time,
    callback data and recipient; every 200 ms a thread posts their Meta-shaped, signed
    ``sent`` statuses to the bot's webhook, as Meta does. Keeps a count file; on SIGTERM
    writes every record as JSON."""
    import asyncio

    import httpx

    records: list[tuple[float, str | None, str]] = []
    # The status poster is a process of its own: as a thread its JSON, HMAC and httpx work held
    # the GIL for tens of milliseconds, so arrivals queued in the socket and were stamped in a
    # bunch, which the one-second windows then counted as a burst the senders never made.
    outbox: Any = multiprocessing.get_context("fork").Queue()

    # Each send is stamped with the kernel's receive time of the segment that completed it
    # (SO_TIMESTAMPNS), not with when this process got round to reading it: on a 2-core
    # machine at load 7 a process can wait tens of milliseconds for a CPU, and stamps taken
    # then bunch into one-second windows the senders never made. On loopback the kernel's
    # receive time is the moment the worker's write reached the network. The user-space
    # stamp is kept too, and reported beside it.
    user_stamps: list[float] = []

    class Graph:
        def __init__(self, sock: socket.socket) -> None:
            self.sock, self.buf, self.pending = sock, b"", b""
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            asyncio.get_running_loop().add_reader(sock, self.readable)

        def close(self) -> None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(self.sock)
            loop.remove_writer(self.sock)
            self.sock.close()

        def readable(self) -> None:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(65536, 256)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.close()
                return
            if not data:
                self.close()
                return
            kernel = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", payload[:16])
                    kernel = sec + nsec / 1e9
            self.buf += data
            self.requests(kernel)

        def requests(self, kernel: float | None) -> None:
            while True:
                head_end = self.buf.find(b"\r\n\r\n")
                if head_end < 0:
                    return
                length = 0
                for line in self.buf[:head_end].split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if len(self.buf) < head_end + 4 + length:
                    return
                body, self.buf = self.buf[head_end + 4:head_end + 4 + length], self.buf[head_end + 4 + length:]
                at = time.time()
                msg = json.loads(body)
                wamid = f"wamid.bench{len(records):09d}"
                records.append((kernel if kernel is not None else at, msg.get("biz_opaque_callback_data"), msg["to"]))
                user_stamps.append(at)
                out = json.dumps({"messaging_product": "whatsapp", "contacts": [{"input": msg["to"], "wa_id": msg["to"]}],
                                  "messages": [{"id": wamid}]}).encode()
                self.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                           % (len(out), out))

        def write(self, data: bytes) -> None:
            self.pending += data
            try:
                sent = self.sock.send(self.pending)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.close()
                return
            self.pending = self.pending[sent:]
            loop = asyncio.get_running_loop()
            if self.pending:
                loop.add_writer(self.sock, self.write, b"")
            else:
                loop.remove_writer(self.sock)

    def post_statuses() -> None:
        client = httpx.Client(timeout=60)
        # Per batch: when its sends were received, when the webhook took it (None: dropped
        # after ten tries), and the receipt index of its first send. The kill run's verdict
        # depends on how far the webhook lags behind the sends.
        lags: list[tuple[float, float | None, int]] = []
        while True:
            item = outbox.get()
            if item is None:
                (state_dir / "statuses.json").write_text(json.dumps(lags))
                return
            first, pairs, received = item
            batch = [{"id": f"wamid.bench{first + i:09d}", "status": "sent",
                      "timestamp": str(int(time.time())), "recipient_id": to, "biz_opaque_callback_data": cb,
                      "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility"}}
                     for i, (cb, to) in enumerate(pairs)]
            while not webhook_url_file.exists():
                time.sleep(0.1)
            url = webhook_url_file.read_text().strip()
            body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
                "field": "messages", "value": {"messaging_product": "whatsapp",
                                               "metadata": {"display_phone_number": "15550783881",
                                                            "phone_number_id": PHONE_NUMBER_ID},
                                               "statuses": batch}}]}]}, separators=(",", ":")).encode()
            sig = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
            taken = None
            for _ in range(10):
                try:
                    r = client.post(url, content=body, headers={"content-type": "application/json",
                                                               "x-hub-signature-256": sig})
                    if r.status_code == 200:
                        taken = time.time()
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.5)
            lags.append((received, taken, first))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        listener.setblocking(False)
        connections: list[Graph] = []

        def accept() -> None:
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            connections.append(Graph(sock))

        loop.add_reader(listener, accept)
        port = listener.getsockname()[1]
        (state_dir / "graph_url").write_text(f"http://127.0.0.1:{port}")
        seen = 0
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except TimeoutError:
                pass
            (state_dir / "count.tmp").write_text(str(len(records)))
            os.replace(state_dir / "count.tmp", state_dir / "count")
            fresh, seen = records[seen:], len(records)
            for start in range(0, len(fresh), 500):
                chunk = fresh[start:start + 500]
                outbox.put((seen - len(fresh) + start, [(cb, to) for _, cb, to in chunk], chunk[-1][0]))
        loop.remove_reader(listener)
        listener.close()

    poster = multiprocessing.get_context("fork").Process(target=post_statuses, daemon=True)
    poster.start()
    asyncio.run(main())
    (state_dir / "sent.json").write_text(json.dumps(records))
    (state_dir / "user_stamps.json").write_text(json.dumps(user_stamps))
    outbox.put(None)
    poster.join(timeout=50)  # the harness waits 60 s for this process


# -- a traced worker (--trace) ------------------------------------------------------------------------
def traced_worker_main(trace: Path, args: list[str]) -> None:
    """``safebot worker`` with each send's times appended to ``trace`` every half second (a
    SIGKILLed worker loses at most that much): its delivery id, when the pacer was granted it
    (the send's coroutine is made right after the grant), when the sender handed it to the
    Graph client (after waiting for its slot), and when that call returned. Bench-only: it
    wraps the sender and the Graph client."""
    from safebot.channels.whatsapp import graph as graph_module
    from safebot.cli import app
    from safebot.notify import sender as sender_module

    done: list[tuple[int, float, float, float]] = []
    called: dict[int, float] = {}
    original_send_one = sender_module.Sender._send_one
    original_send = graph_module.GraphClient.send

    def send_one(self: Any, item: Any, *rest: Any) -> Any:
        granted = time.time()

        async def run() -> None:
            await original_send_one(self, item, *rest)
            if item.id in called:
                done.append((item.id, granted, called.pop(item.id), time.time()))
        return run()

    async def send(self: Any, to: Any, message: dict[str, Any]) -> Any:
        cb = str(message.get("biz_opaque_callback_data") or "")
        if cb.startswith("sbn:"):
            called[int(cb.split(":")[1])] = time.time()
        return await original_send(self, to, message)

    sender_module.Sender._send_one = send_one  # type: ignore[method-assign]
    graph_module.GraphClient.send = send  # type: ignore[method-assign]

    def flush() -> None:
        seen = 0
        with trace.open("a") as fh:
            while True:
                time.sleep(0.5)
                fresh, seen = done[seen:len(done)], len(done)
                if fresh:
                    fh.write("".join(json.dumps(r) + "\n" for r in fresh))
                    fh.flush()

    threading.Thread(target=flush, daemon=True).start()
    app(args, prog_name="safebot")


# -- the harness ---------------------------------------------------------------------------------------
def up(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], ready: str | None, timeout: float = 300) -> None:
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while ready is not None and not any(ready in line for line in self.lines):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise SystemExit(f"{args[3:5]} did not start: " + "".join(self.lines)[-3000:])
            time.sleep(0.05)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def bot_dir(work: Path, graph_url: str, *, limit: int, queue: str, schema: str, headroom: float) -> Path:
    target = work / f"bot-{queue}"
    shutil.copytree(BOT, target, ignore=shutil.ignore_patterns(".safebot", "__pycache__"))
    yaml = (target / "bot.yaml").read_text().replace("POLICY_PATH", str(ROOT / "examples" / "bank" / "policy.yaml"))
    yaml += (f"channels:\n  whatsapp:\n    phone_number_id: \"{PHONE_NUMBER_ID}\"\n    graph_base_url: {graph_url}\n"
             f"notifications:\n  broker_url: {AMQP}\n  redis_url: {REDIS}\n  queue: {queue}\n"
             f"  per_number_per_second: {limit}\n  rate_headroom: {headroom}\n  per_recipient_seconds: 6\n"
             "  batch_size: 100\n  worker_threads: 4\n  sending_lease_seconds: 30\n  reconcile_after_seconds: 15\n"
             f"store:\n  url: {PG}\n  schema: {schema}\n")
    (target / "bot.yaml").write_text(yaml)
    return target


def worker_cmd(bdir: Path, state: Path, index: int, trace: bool) -> list[str]:
    if trace:
        return [PY, __file__, "--traced-worker", str(state / f"trace-{index}.jsonl"), "worker", str(bdir)]
    return [PY, "-m", "safebot.cli", "worker", str(bdir)]


def write_csv(path: Path, n: int) -> None:
    with path.open("w") as fh:
        fh.write("whatsapp,card\n")
        for i in range(n):
            fh.write(f"+1555{i:07d},{i % 10000:04d}\n")


def max_window(times: list[float], window: float = 1.0) -> int:
    return worst_window(times, window)[0]


def run(name: str, work: Path, args: argparse.Namespace, *, n: int, limit: int, kill: bool, keys_dir: Path) -> dict[str, Any]:
    tag = secrets.token_hex(4)
    queue, schema = f"safebot_bench_{tag}", f"bench_{tag}"
    state = work / f"state-{tag}"
    state.mkdir()
    env = {**os.environ, **SECRETS, "SAFEBOT_KEY_DIR": str(keys_dir), "PYTHONPATH": str(ROOT / "src")}
    webhook_file = state / "webhook_url"
    fake = Proc([PY, __file__, "--fake-graph", str(state), str(webhook_file)], env, None)
    deadline = time.monotonic() + 60
    while not (state / "graph_url").exists():
        if time.monotonic() > deadline:
            raise SystemExit("the fake Graph API did not start")
        time.sleep(0.05)
    bdir = bot_dir(work, (state / "graph_url").read_text(), limit=limit, queue=queue, schema=schema,
                   headroom=args.headroom)
    csv = state / "recipients.csv"
    write_csv(csv, n)
    procs: list[Proc] = []
    try:
        serve = Proc([PY, "-m", "safebot.cli", "serve", str(bdir), "--port", "0"], env, "starting on")
        procs.append(serve)
        url = next(line for line in serve.lines if "starting on" in line).split("starting on ")[1].split(" ")[0]
        webhook_file.write_text(f"{url}/webhooks/whatsapp")
        workers = [Proc(worker_cmd(bdir, state, i, args.trace), env, "notification worker started") for i in range(2)]
        procs += workers
        load_before = os.getloadavg()
        command_started = time.monotonic()
        out = subprocess.run([PY, "-m", "safebot.cli", "notify", str(bdir), "--template", "fraud_alert", "--recipients",
                              str(csv), "--param", "amount=$24.99", "--param", "merchant=Northwind Outlet", "--wait", "0"],
                             env=env, capture_output=True, text=True, timeout=3600)
        if out.returncode != 0:
            raise SystemExit("safebot notify failed: " + out.stderr[-3000:])
        line = next(x for x in out.stderr.splitlines() if " queued " in x)
        enqueue_s = float(line.split(" in ")[1].split(" s")[0])
        command_s = time.monotonic() - command_started
        killed_at = killed_time = restarted_time = None
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            count = int((state / "count").read_text() or 0) if (state / "count").exists() else 0
            if kill and killed_at is None and count >= n // 2:
                workers[0].stop(signal.SIGKILL)
                killed_at = count
                killed_time = time.time()
                workers[0] = Proc(worker_cmd(bdir, state, 2, args.trace), env, "notification worker started")
                restarted_time = time.time()
                procs.append(workers[0])
            if count >= n:
                break
            time.sleep(0.2)
        time.sleep(args.settle)  # anything sent twice arrives here
        load_after = os.getloadavg()
        states = store_states(schema)
    finally:
        # The workers first, then the fake (its status poster flushes into a webhook that is
        # still up, and writes the lag file), then serve.
        for p in procs[1:]:
            p.stop()
        fake.stop()
        for p in procs[:1]:
            p.stop()
        shutil.rmtree(bdir / ".safebot", ignore_errors=True)
    records = json.loads((state / "sent.json").read_text())
    if os.environ.get("SAFEBOT_BENCH_KEEP"):
        shutil.copy(state / "sent.json", os.environ["SAFEBOT_BENCH_KEEP"])
    times = [t for t, _, _ in records]
    per = Counter(cb for _, cb, _ in records)
    expected = n
    duplicates = sum(v - 1 for v in per.values() if v > 1)
    lost = expected - len(per)
    span = max(times) - min(times) if len(times) > 1 else 0.0
    seconds = Counter(int(t - min(times)) for t in times)
    whole = [seconds[s] for s in sorted(seconds)[1:-1]] or list(seconds.values())
    lag = status_lag(state / "statuses.json", records, per)
    traced = trace_figures(state, records, killed_time, restarted_time) if args.trace else {}
    cleanup(queue, schema)
    return {
        "run": name, "recipients": n, "limit": limit, "headroom": args.headroom, "enqueue_s": enqueue_s,
        "notify_command_s": round(command_s, 1), "store_states": states,
        "sends": len(records), "duplicates": duplicates, "lost": lost,
        "sends_per_s": round(len(records) / span, 1) if span else None,
        "sustained_per_s": statistics.median(whole) if whole else None,
        "max_in_1s_window": max_window(times),
        "max_in_1s_window_user_space": max_window(json.loads((state / "user_stamps.json").read_text())),
        "killed_at": killed_at,
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in load_after],
        **lag, **traced,
    }


def worst_window(times: list[float], window: float = 1.0) -> tuple[int, float]:
    """The largest count in any ``window``-second window, and where it starts."""
    times = sorted(times)
    best, start, j = 0, 0.0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        if i - j + 1 > best:
            best, start = i - j + 1, times[j]
    return best, start


def trace_figures(state: Path, records: list[Any], killed: float | None, restarted: float | None) -> dict[str, Any]:
    """With --trace: the largest one-second window by grant time, by the moment the sender
    handed the send to its Graph client and by the fake's receipt; where the receipt's worst
    window lies (against the kill and the restart); and in it, how long after its grant a send
    was handed over (its slot wait included) and how long it then took to arrive."""
    rows: dict[int, tuple[float, float, float]] = {}
    for path in sorted(state.glob("trace-*.jsonl")):
        for line in path.read_text().splitlines():
            did, granted, started, returned = json.loads(line)
            rows[int(did)] = (granted, started, returned)
    receipt = {int(cb.split(":")[1]): t for t, cb, _ in records if cb}
    first = min(t for t, _, _ in records)
    worst, at = worst_window([t for t, _, _ in records])
    inside = [(rows[d], t) for d, t in receipt.items() if d in rows and at <= t < at + 1.0]

    def q(values: list[float]) -> dict[str, float] | None:
        if len(values) < 2:
            return None
        c = statistics.quantiles(values, n=100)
        return {"p50": round(c[49] * 1000, 1), "p99": round(c[98] * 1000, 1), "max": round(max(values) * 1000, 1)}

    return {"trace": {
        "traced_sends": len(rows),
        "max_1s_by_grant": max_window([g for g, _, _ in rows.values()]),
        "max_1s_by_call": max_window([s for _, s, _ in rows.values()]),
        "max_1s_by_receipt": worst,
        "worst_window_at_s": round(at - first, 2),
        "killed_at_s": None if killed is None else round(killed - first, 2),
        "restarted_at_s": None if restarted is None else round(restarted - first, 2),
        "in_worst_window_traced": len(inside),
        "in_worst_window_grant_to_call_ms": q([s - g for (g, s, _), _ in inside]),
        "in_worst_window_call_to_receipt_ms": q([t - s for (_, s, _), t in inside]),
        "all_grant_to_call_ms": q([s - g for g, s, _ in rows.values()]),
        "all_call_to_receipt_ms": q([receipt[d] - s for d, (_, s, _) in rows.items() if d in receipt]),
    }}


def status_lag(path: Path, records: list[Any], per: Counter[str | None]) -> dict[str, Any]:
    """How far the status webhooks trailed the sends (the receipt of a batch's last send to the
    webhook's 200), batches the webhook never took, and the lag behind each duplicate's first send."""
    if not path.exists():
        return {"status_lag_s": None}
    batches = json.loads(path.read_text())
    taken = sorted(t - r for r, t, _ in batches if t is not None)
    q = statistics.quantiles(taken, n=100) if len(taken) > 1 else taken * 99
    starts = [first for _, _, first in batches]
    dup_lags, seen = [], set()
    for index, (_, cb, _) in enumerate(records):
        if per[cb] > 1 and cb not in seen:
            seen.add(cb)
            b = batches[max(0, bisect.bisect_right(starts, index) - 1)]
            dup_lags.append(None if b[1] is None else round(b[1] - b[0], 2))
    return {"status_lag_s": {"p50": round(q[49], 2), "p99": round(q[98], 2), "max": round(taken[-1], 2)} if taken else None,
            "status_batches_dropped": sum(1 for _, t, _ in batches if t is None),
            "duplicates_first_send_status_lag_s": dup_lags[:50]}


def store_states(schema: str) -> dict[str, Any]:
    """Deliveries by state, and how many needed more than one try, as the store has them."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(PG.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(f'SELECT state, count(*) FROM "{schema}".notify_deliveries GROUP BY state').all()
            retried = conn.exec_driver_sql(
                f'SELECT count(*) FROM "{schema}".notify_deliveries WHERE attempts > 1').scalar_one()
    finally:
        engine.dispose()
    return {**{str(k): int(v) for k, v in rows}, "more_than_one_try": int(retried)}


def cleanup(queue: str, schema: str) -> None:
    try:
        import pika

        conn = pika.BlockingConnection(pika.URLParameters(AMQP))
        ch = conn.channel()
        for q in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            ch.queue_delete(q)
        conn.close()
    except Exception:
        pass
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(PG.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        engine.dispose()
    except Exception:
        pass


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--fake-graph":
        fake_graph_main(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--traced-worker":
        traced_worker_main(Path(sys.argv[2]), sys.argv[3:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="recipients per run")
    ap.add_argument("--limit", type=int, default=1000, help="per-number limit for the plain and kill runs")
    ap.add_argument("--headroom", type=float, default=0.05, help="rate_headroom")
    ap.add_argument("--default-n", type=int, default=0, help="recipients of a run at the default 80/s (0: skip)")
    ap.add_argument("--runs", default="plain,kill", help="which of plain,kill to run")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds a run may take at most")
    ap.add_argument("--settle", type=float, default=8.0, help="seconds to wait after the last send")
    ap.add_argument("--json", type=Path, help="write the results here too")
    ap.add_argument("--trace", action="store_true",
                    help="time each send on the workers too (grant, hand-over) and report where the worst window lies")
    args = ap.parse_args()
    for port, what in ((5432, "PostgreSQL"), (5672, "RabbitMQ"), (6379, "Redis")):
        if not up(port):
            raise SystemExit(f"{what} is not running on 127.0.0.1:{port}")
    work = Path(tempfile.mkdtemp(prefix="safebot-bench-notify-"))
    keys = work / "keys"
    keys.mkdir(mode=0o700)
    results = []
    try:
        for name in [r for r in args.runs.split(",") if r]:
            results.append(run(name, work, args, n=args.n, limit=args.limit, kill=name == "kill", keys_dir=keys))
            print(json.dumps(results[-1]), flush=True)
        if args.default_n:
            results.append(run("default", work, args, n=args.default_n, limit=80, kill=False, keys_dir=keys))
            print(json.dumps(results[-1]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
