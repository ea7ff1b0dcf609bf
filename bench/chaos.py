"""Fault injection in the manner of Jepsen: several ``safebot serve`` workers on one PostgreSQL
store with per-conversation leases in Redis, while processes are killed, paused and resumed
and Redis is restarted; then a checker reads the store and compares it with what clients were
told.

    ./dev bench chaos [--duration 60] [--servers 4] [--runs 1] [--redis system|private]

What happens, all on loopback and bounded in time:

* a copy of the bot (examples/bank by default) on a fresh PostgreSQL schema, leases in Redis
  with a 2 s ttl; the model is trained and an API key made once, then ``--servers`` processes
  of ``safebot serve`` start on fixed ports;
* ``--clients`` clients rotate over the servers (client-side round robin), each sending
  numbered messages (``[chaos c03 m00042] ...``) with planted PII (a card number, an SSN, an
  e-mail address, a phone number) to 3 hot conversations and 100 cold ones, one at a time, and
  recording every request: sent at, answered at, and whether it was acknowledged (200 with
  replies), failed for sure (connection refused: retried on the next server), or unknown (a
  timeout, a reset, a 5xx: the turn may or may not have happened);
* a nemesis acts every 0.5 to 2 s: SIGKILL a running server (restarted at once, on its port)
  or SIGSTOP one (SIGCONT after 0.5 to 3 s, often past the lease ttl); Redis is restarted once,
  half-way through. ``--redis system`` restarts this machine's Redis (127.0.0.1:6379) with its
  own command line and always leaves it running; ``--redis private`` runs a redis-server of its
  own on a free port (the test suite's choice: other users of 6379 are left alone).

The checker (after every server has stopped) then looks for:

* lost: an acknowledged turn missing from the conversation's transcript;
* duplicated: a message recorded more than once (acknowledged or not);
* phantom: a recorded message no client sent (or sent to another conversation);
* reordered: a recorded message placed before one that was acknowledged before it was sent
  (real-time order; unknown requests may land anywhere after they were sent, as in Jepsen);
* turns: transcript turn numbers not 1..n, or a tracker whose turn count differs;
* audit: ``safebot audit verify BOT_DIR --json`` (the hash chain and its signed checkpoints);
* PII: any planted value as typed (and a card's bare digits) in any column of any table of the
  schema read as text, in any server's log, in /metrics, in the JSONL exports, in Redis, or in
  any response body.

It prints the counts and a JSON line, and exits 1 on any anomaly (2 if the run could not be
set up). Figures go to docs/benchmarks.md ("Scale-out") with the load average it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("SAFEBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
#: this machine's Redis, exactly as it is normally started (docs/operations.md)
SYSTEM_REDIS = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
                "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"]
MARKER = re.compile(r"\[chaos c(\d+) m(\d+)\]")
#: what the store keeps of a message whose redaction failed (safebot.redaction.types.BLOCKED_TEXT)
BLOCKED_TEXT = "<REDACTED_MESSAGE>"
TEMPLATES = [
    "please freeze my card {card}",
    "what's the balance on the card {card}?",
    "my social security number is {ssn}, can you check my account",
    "my new email is {email}, please update it",
    "you can call me back on {phone}",
    "there's a charge on card {card} I don't recognise, my email is {email}",
    "hi, what are your opening hours?",
    "show me my last transactions",
    "thanks, that's all",
]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- planted PII ------------------------------------------------------------------------------
def luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):  # the check digit will sit right of these
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return " ".join(s[i:i + 4] for i in range(0, 16, 4))


def planted(rng: random.Random, client: int, seq: int) -> dict[str, str]:
    exchange = rng.choice([e for e in range(201, 999) if e % 100 != 11 and e != 555])  # a valid NANP exchange
    return {
        "card": luhn_card(rng),
        "ssn": f"{rng.randrange(100, 666):03d}-{rng.randrange(10, 99):02d}-{rng.randrange(1000, 9999):04d}",
        "email": f"chaos.c{client}.m{seq}.{rng.randrange(10**6):06d}@example.org",
        "phone": f"+1 {rng.choice(['212', '415', '617', '312'])} {exchange} {rng.randrange(1000, 9999)}",
    }


def leak_forms(values: dict[str, str]) -> list[str]:
    forms = [v for v in values.values()]
    forms.append(values["card"].replace(" ", ""))  # 16 bare digits: never there by chance
    return forms


# -- Redis ------------------------------------------------------------------------------------
class SystemRedis:
    """127.0.0.1:6379, restarted with this machine's own command line; always left running."""

    url = "redis://127.0.0.1:6379/0"

    def __init__(self) -> None:
        self.port = 6379

    def ping(self) -> bool:
        return subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True,
                              timeout=5).stdout.strip() == "PONG"

    def start(self) -> None:
        if not self.ping():
            subprocess.run(SYSTEM_REDIS, check=True, capture_output=True, timeout=30)
            self._wait(True)

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True, timeout=30)
        self._wait(False)

    def close(self) -> None:
        self.start()  # other engineers use it: never leave it down

    def _wait(self, up: bool) -> None:
        deadline = time.monotonic() + 30
        while self.ping() != up and time.monotonic() < deadline:
            time.sleep(0.05)


class PrivateRedis(SystemRedis):
    """A redis-server of our own on a free port (no persistence, like the system one)."""

    def __init__(self, work: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.work = work
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.work)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(True)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        self._wait(False)

    def close(self) -> None:
        self.stop()


# -- servers ----------------------------------------------------------------------------------
@dataclass
class Server:
    index: int
    port: int
    bot_dir: Path
    env: dict[str, str]
    logs: Path
    proc: subprocess.Popen[bytes] | None = None
    #: starting | up | paused | dead
    state: str = "dead"
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.logs / f"server-{self.index}.log"

    def start(self) -> None:
        with self.log_file.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "safebot.cli", "serve", str(self.bot_dir), "--port", str(self.port)],
                env=self.env, stdout=subprocess.DEVNULL, stderr=err)
        self.state, self.starts = "starting", self.starts + 1

    async def until_up(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as c:
            while time.monotonic() < deadline:
                if self.proc is None or self.proc.poll() is not None:
                    self.state = "dead"
                    return
                try:
                    if (await c.get(f"{self.url}/ready")).status_code == 200:
                        if self.state == "starting":
                            self.state = "up"
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"server {self.index} did not start")

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        self.state = "dead"

    def terminate(self) -> None:
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        if self.proc is not None:
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.state = "dead"


# -- the history ------------------------------------------------------------------------------
@dataclass
class Op:
    client: int
    seq: int
    conversation: str
    text: str
    pii: dict[str, str]
    sent: float
    done: float | None = None
    #: ok (acknowledged) | fail (refused before any server saw it) | info (unknown)
    outcome: str = "info"
    status: int | None = None
    error: str | None = None
    server: int | None = None
    #: the replies of an acknowledged request (redacted by the bot: safe to keep)
    replies: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[int, int]:
        return (self.client, self.seq)


@dataclass
class History:
    ops: list[Op] = field(default_factory=list)
    nemesis: list[tuple[float, str]] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)

    def event(self, what: str) -> None:
        self.nemesis.append((time.monotonic(), what))
        log(f"nemesis: {what}")


async def client_loop(
    n: int, servers: list[Server], conversations: list[str], hot: list[str], key: str, stop_at: float,
    history: History, rng: random.Random, rotation: list[int], timeout: float,
) -> None:
    seq = 0
    limits = httpx.Limits(max_keepalive_connections=0)  # a fresh connection: a dead server refuses it
    async with httpx.AsyncClient(timeout=timeout, limits=limits, headers={"Authorization": f"Bearer {key}"}) as c:
        while time.monotonic() < stop_at:
            seq += 1
            conv = rng.choice(hot) if rng.random() < 0.5 else rng.choice(conversations)
            values = planted(rng, n, seq)
            text = f"[chaos c{n:02d} m{seq:05d}] " + rng.choice(TEMPLATES).format(**values)
            op = Op(n, seq, conv, text, values, sent=time.monotonic())
            history.ops.append(op)
            op.outcome, op.error = "fail", "no server answered"  # until a request is sent
            for _attempt in range(len(servers) * 3):
                rotation[0] += 1
                server = servers[rotation[0] % len(servers)]
                if server.state == "starting":  # a balancer's readiness check would skip it too
                    await asyncio.sleep(0.02)
                    continue
                op.server, op.sent = server.index, time.monotonic()
                try:
                    r = await c.post(f"{server.url}/v1/conversations/{conv}/messages", json={"text": text})
                except httpx.ConnectError:  # nothing was sent: safe to try the next server
                    op.error = "ConnectError"
                    await asyncio.sleep(0.05)
                    continue
                except httpx.HTTPError as exc:  # sent, outcome unknown
                    op.outcome, op.error = "info", type(exc).__name__
                    break
                op.status = r.status_code
                history.bodies.append(r.text)
                ok = r.status_code == 200 and bool(r.json().get("replies"))
                if ok:
                    op.replies = tuple(r.json()["replies"])
                op.outcome, op.error = ("ok", None) if ok else ("info", f"HTTP {r.status_code}")
                break
            op.done = time.monotonic()
            if op.outcome != "ok":
                await asyncio.sleep(0.05)


async def nemesis(
    servers: list[Server], redis: SystemRedis, started: float, stop_at: float, history: History,
    rng: random.Random, restart_redis: bool,
) -> None:
    redis_at = started + (stop_at - started) / 2
    pending: set[asyncio.Task[None]] = set()

    async def resume(s: Server, after: float) -> None:
        await asyncio.sleep(after)
        if s.state == "paused":
            s.signal(signal.SIGCONT)
            s.state = "up"
            history.event(f"SIGCONT server {s.index}")

    async def restart(s: Server) -> None:
        await asyncio.sleep(rng.uniform(0.0, 0.5))
        s.start()
        history.event(f"restart server {s.index}")
        await s.until_up()

    while True:
        now = time.monotonic()
        if now >= stop_at:
            break
        await asyncio.sleep(min(rng.uniform(0.5, 2.0), max(0.0, stop_at - now)))
        if time.monotonic() >= stop_at:
            break
        if restart_redis and time.monotonic() >= redis_at:
            restart_redis = False
            history.event("Redis shutdown nosave")
            await asyncio.to_thread(redis.stop)
            await asyncio.sleep(1.0)
            await asyncio.to_thread(redis.start)
            history.event("Redis started again")
            continue
        up = [s for s in servers if s.state == "up"]
        if not up:
            continue
        victim = rng.choice(up)
        # Keep at least one other server answering: a kill with nothing left up only proves the
        # cluster can be down, and restarts take seconds.
        if rng.random() < 0.5 and len(up) >= 2:
            victim.kill()
            history.event(f"SIGKILL server {victim.index}")
            task = asyncio.create_task(restart(victim))
        else:
            victim.signal(signal.SIGSTOP)
            victim.state = "paused"
            pause = rng.uniform(0.5, 3.0)
            history.event(f"SIGSTOP server {victim.index} for {pause:.1f} s")
            task = asyncio.create_task(resume(victim, pause))
        pending.add(task)
        task.add_done_callback(pending.discard)
    for task in list(pending):
        with contextlib.suppress(Exception):
            await task
    for s in servers:
        if s.state == "paused":
            s.signal(signal.SIGCONT)
            s.state = "up"


# -- the checker ------------------------------------------------------------------------------
def check(bot_dir: Path, schema: str, history: History, servers: list[Server], metrics: list[str],
          redis_dump: list[str]) -> dict[str, Any]:
    from safebot.engine import Bot
    from safebot.engine.config import load_bot_config

    blocked_reply = load_bot_config(bot_dir).response("blocked")

    by_key = {op.key: op for op in history.ops}
    per_conv: dict[str, list[Op]] = defaultdict(list)
    for op in history.ops:
        per_conv[op.conversation].append(op)
    anomalies: dict[str, list[str]] = defaultdict(list)
    counts: Counter[str] = Counter()
    bot = Bot.load(bot_dir, exporters=False, train_if_missing=False)
    try:
        for conv, ops in sorted(per_conv.items()):
            users = [r for r in bot.transcript(f"rest:{conv}") if r["kind"] == "user"]
            state_turn = bot.state(f"rest:{conv}").turn if users else 0
            judge(conv, [(int(r["turn"]), r.get("text") or "") for r in users], state_turn, ops, by_key,
                  anomalies, counts, blocked_reply=blocked_reply)
    finally:
        bot.close()

    # the audit trail, by its own verifier (issue 11 item 3)
    audit = subprocess.run([sys.executable, "-m", "safebot.cli", "audit", "verify", str(bot_dir), "--json"],
                           capture_output=True, text=True, timeout=600)
    audit_report: dict[str, Any] = {"exit": audit.returncode}
    try:
        audit_report.update(json.loads(audit.stdout.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        audit_report["output"] = (audit.stdout + audit.stderr)[-500:]
    if audit.returncode != 0:
        anomalies["audit"].append(f"safebot audit verify exited {audit.returncode}")

    # planted PII in every sink
    sinks: dict[str, list[str]] = {"tables": table_dump(schema), "metrics": metrics, "redis": redis_dump,
                                   "responses": history.bodies}
    sinks["logs"] = [s.log_file.read_text(errors="replace") for s in servers if s.log_file.exists()]
    sinks["exports"] = [p.read_text(errors="replace") for p in (bot_dir / ".safebot").glob("*.jsonl")]
    forms = [f for op in history.ops for f in leak_forms(op.pii)]
    pii: Counter[str] = Counter()
    for name, texts in sinks.items():
        blob = "\n".join(texts)
        for form in forms:
            if form in blob:
                pii[name] += blob.count(form)
    for name, n in pii.items():
        anomalies["pii"].append(f"{n} planted value(s) in {name}")
    counts["planted_values"] = len(forms)
    counts["table_rows_scanned"] = len(sinks["tables"])
    return {"anomalies": {k: len(v) for k, v in anomalies.items()}, "examples": {k: v[:5] for k, v in anomalies.items()},
            "counts": dict(counts), "audit": audit_report}


def judge(conv: str, users: list[tuple[int, str]], state_turn: int, ops: list[Op], by_key: dict[tuple[int, int], Op],
          anomalies: dict[str, list[str]], counts: Counter[str], *, blocked_reply: str | None = None) -> None:
    """One conversation's recorded user turns ``(turn, text)`` against the history of what was
    sent to it (``ops``) and to any conversation (``by_key``).

    A message whose redaction failed (its time budget ran out on a loaded machine: fail closed)
    is stored as ``<REDACTED_MESSAGE>``, marker and all, and its customer is answered with the
    bot's ``blocked`` response (``blocked_reply``). Such turns cannot be told apart, so they are
    counted: at least one blocked row per acknowledged blocked request (else lost), at most one
    per blocked or unknown request (else phantom or duplicated); they are left out of the order
    check, and the run reports how many there were.
    """
    turns = [t for t, _ in users]
    if turns != list(range(1, len(turns) + 1)):
        anomalies["turns"].append(f"{conv}: user turns {turns[:20]}")
    if state_turn != len(users):
        anomalies["turns"].append(f"{conv}: tracker at turn {state_turn}, {len(users)} user turns recorded")
    recorded: list[tuple[int, int]] = []
    blocked_rows = 0
    for _, text in users:
        m = MARKER.search(text)
        if m is None:
            if text.strip() == BLOCKED_TEXT:
                blocked_rows += 1
            else:
                anomalies["phantom"].append(f"{conv}: a user turn without a marker")
            continue
        k = (int(m.group(1)), int(m.group(2)))
        if k not in by_key or by_key[k].conversation != conv:
            anomalies["phantom"].append(f"{conv}: c{k[0]} m{k[1]} was never sent here")
            continue
        recorded.append(k)
    for k, n in Counter(recorded).items():
        if n > 1:
            anomalies["duplicated"].append(f"{conv}: c{k[0]} m{k[1]} recorded {n} times")
    position: dict[tuple[int, int], int] = {}
    for i, k in enumerate(recorded):
        position.setdefault(k, i)

    def blocked(op: Op) -> bool:
        return op.outcome == "ok" and blocked_reply is not None and blocked_reply in op.replies

    acked_blocked = [op for op in ops if blocked(op) and op.key not in position]
    maybe_blocked = [op for op in ops if op.outcome == "info" and op.key not in position]
    for op in ops:
        counts[f"sent_{op.outcome}"] += 1
        if op.outcome == "ok" and op.key not in position and not blocked(op):
            anomalies["lost"].append(f"{conv}: acknowledged c{op.client} m{op.seq} is not recorded")
        if op.outcome == "fail" and op.key in position:
            anomalies["phantom"].append(f"{conv}: c{op.client} m{op.seq} was refused by every server, yet recorded")
        elif op.outcome == "info":
            counts["unknown_recorded" if op.key in position else "unknown_not_recorded"] += 1
    if blocked_rows < len(acked_blocked):
        anomalies["lost"].append(f"{conv}: {len(acked_blocked)} acknowledged blocked message(s), "
                                 f"{blocked_rows} blocked row(s) recorded")
    elif blocked_rows > len(acked_blocked) + len(maybe_blocked):
        anomalies["phantom"].append(f"{conv}: {blocked_rows} blocked row(s), at most "
                                    f"{len(acked_blocked) + len(maybe_blocked)} blocked or unknown message(s) sent")
    counts["blocked_rows"] += blocked_rows
    counts["blocked_acknowledged"] += len(acked_blocked)
    # real-time order: a turn acknowledged before another was sent must be recorded before it
    acked = sorted((op for op in ops if op.outcome == "ok" and op.key in position), key=lambda o: o.done or 0.0)
    for b in ops:
        if b.key not in position:
            continue
        for a in acked:
            if a.done is None or a.done >= b.sent:
                break
            if position[a.key] > position[b.key]:
                anomalies["reordered"].append(
                    f"{conv}: c{b.client} m{b.seq} recorded before c{a.client} m{a.seq}, acknowledged before it was sent")
    counts["recorded_turns"] += len(recorded) + blocked_rows


def table_dump(schema: str) -> list[str]:
    import psycopg

    out: list[str] = []
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))]
        for t in tables:
            for (row,) in conn.execute(f'SELECT t::text FROM "{schema}"."{t}" t'):
                out.append(f"{t}: {row}")
    return out


def redis_contents(url: str) -> list[str]:
    import redis

    client = redis.Redis.from_url(url)
    try:
        out = []
        for k in client.scan_iter("safebot:*", count=1000):
            value = client.get(k) if client.type(k) == b"string" else b""
            out.append(f"{k!r} {value!r}")
        return out
    finally:
        client.close()


# -- one run ----------------------------------------------------------------------------------
def prepare(work: Path, bot: Path, redis_url: str, schema: str, encoder: str | None) -> tuple[Path, str, str]:
    bot_dir = work / "bot"
    shutil.copytree(bot, bot_dir, ignore=shutil.ignore_patterns(".safebot", "__pycache__"))
    model = bot / ".safebot" / "intent-model"
    yaml = (bot_dir / "bot.yaml").read_text()
    if encoder:
        yaml = re.sub(r"encoder: \w+", f"encoder: {encoder}", yaml)
    elif model.exists():  # the example's trained model, if it has one: training takes minutes here
        (bot_dir / ".safebot").mkdir(mode=0o700)
        for f in model.parent.glob("intent-model*"):
            shutil.copy2(f, bot_dir / ".safebot" / f.name)
    yaml += f"\nstore:\n  url: {PG_URL}\n  schema: {schema}\n  lease_ttl_s: 2\n  redis_url: {redis_url}\n"
    (bot_dir / "bot.yaml").write_text(yaml)
    cli = [sys.executable, "-m", "safebot.cli"]
    if not model_is_fresh(bot_dir):  # else every server would train it at once
        subprocess.run([*cli, "train", str(bot_dir)], check=True, capture_output=True, timeout=1800)
    key = subprocess.run([*cli, "keys", "create", str(bot_dir), "--name", "chaos"], check=True,
                         capture_output=True, text=True, timeout=300).stdout.strip()
    metrics_key = subprocess.run([*cli, "keys", "create", str(bot_dir), "--name", "prometheus", "--role", "metrics"],
                                 check=True, capture_output=True, text=True, timeout=300).stdout.strip()
    return bot_dir, key, metrics_key


def model_is_fresh(bot_dir: Path) -> bool:
    from safebot.engine.config import load_bot_config
    from safebot.nlu.training import _stamp, model_dir, nlu_fingerprint

    stamp = _stamp(bot_dir)
    return (stamp.exists() and model_dir(bot_dir).exists()
            and stamp.read_text() == nlu_fingerprint(bot_dir, load_bot_config(bot_dir)))


async def run_once(args: argparse.Namespace, run: int) -> dict[str, Any]:
    rng = random.Random(args.seed + run)
    work = Path(tempfile.mkdtemp(prefix="safebot-chaos-"))
    schema = f"chaos_{uuid.uuid4().hex[:10]}"
    redis: SystemRedis = SystemRedis() if args.redis == "system" else PrivateRedis(work)
    result: dict[str, Any] = {"run": run, "load_average_start": load_average(), "servers": args.servers,
                              "duration_s": args.duration, "schema": schema}
    servers: list[Server] = []
    try:
        redis.start()
        log(f"run {run}: preparing the bot on schema {schema}")
        bot_dir, key, metrics_key = prepare(work, Path(args.bot), redis.url, schema, args.encoder)
        env = {**os.environ, "SAFEBOT_SERVE_RATE_LIMIT_PER_MINUTE": "1000000", "SAFEBOT_SERVE_RATE_LIMIT_BURST": "100000",
               "SAFEBOT_SERVE_MAX_CONCURRENT_TURNS": "256", "SAFEBOT_SERVE_SHUTDOWN_TIMEOUT": "10",
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        servers = [Server(i, free_port(), bot_dir, env, work) for i in range(args.servers)]
        log(f"run {run}: starting {args.servers} servers")
        for s in servers:
            s.start()
        await asyncio.gather(*(s.until_up() for s in servers))
        if any(s.state != "up" for s in servers):
            raise RuntimeError("a server exited while starting: " + servers[0].log_file.read_text()[-2000:])
        log(f"run {run}: {args.servers} servers up; load {load_average()}")
        history = History()
        hot = [f"hot-{i}" for i in range(args.hot)]
        conversations = [f"cold-{i:03d}" for i in range(args.cold)]
        started = time.monotonic()
        stop_at = started + args.duration
        rotation = [0]
        clients = [asyncio.create_task(client_loop(n, servers, conversations, hot, key, stop_at, history,
                                                   random.Random(rng.random()), rotation, args.timeout))
                   for n in range(args.clients)]
        await nemesis(servers, redis, started, stop_at, history, random.Random(rng.random()), not args.no_redis_restart)
        result["load_average_during"] = load_average()
        await asyncio.wait_for(asyncio.gather(*clients), timeout=args.timeout * 3 + 30)
        log(f"run {run}: traffic and faults over; bringing every server up for the final scrape")
        elapsed = time.monotonic() - started
        # every server answers again before the end (a fresh start for the dead ones)
        for s in servers:
            if s.state == "dead":
                s.start()
        await asyncio.gather(*(s.until_up() for s in servers))
        metrics = []
        async with httpx.AsyncClient(timeout=10, headers={"Authorization": f"Bearer {metrics_key}"}) as c:
            for s in servers:
                with contextlib.suppress(httpx.HTTPError):
                    metrics.append((await c.get(f"{s.url}/metrics")).text)
        for s in servers:
            s.terminate()
        redis_dump = redis_contents(redis.url)
        log(f"run {run}: checking")
        verdict = await asyncio.to_thread(check, bot_dir, schema, history, servers, metrics, redis_dump)
        acked = sum(1 for op in history.ops if op.outcome == "ok")
        latencies = [op.done - op.sent for op in history.ops if op.outcome == "ok" and op.done is not None]
        if acked < 10:  # a run that acknowledged (almost) nothing proves nothing
            verdict["anomalies"]["no_progress"] = 1
            verdict["examples"]["no_progress"] = [f"only {acked} acknowledged turns"]
        result.update(verdict)
        result.update({
            "requests": len(history.ops), "acknowledged": acked, "acknowledged_per_s": acked / elapsed,
            "kills": sum(1 for _, e in history.nemesis if e.startswith("SIGKILL")),
            "pauses": sum(1 for _, e in history.nemesis if e.startswith("SIGSTOP")),
            "redis_restarts": sum(1 for _, e in history.nemesis if e.startswith("Redis shutdown")),
            "server_starts": sum(s.starts for s in servers), "load_average_end": load_average(),
            "ack_p50_ms": pct(latencies, 0.5) * 1000, "ack_p99_ms": pct(latencies, 0.99) * 1000,
            # how often the safety nets fired (from the servers' logs)
            "fenced_write_retries": log_count(servers, "retrying from fresh state"),
            "lock_waits_on_redis": log_count(servers, "lock service unavailable"),
            "busy_503": sum(1 for op in history.ops if op.status == 503),
            "server_errors": sorted({line.split(": ", 1)[-1][:160] for s in servers if s.log_file.exists()
                                     for line in s.log_file.read_text(errors="replace").splitlines()
                                     if " ERROR " in line or " WARNING " in line})[:12],
        })
    finally:
        for s in servers:
            if s.proc is not None and s.proc.poll() is None:
                s.kill()
        redis.close()
        drop_schema(schema)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            result["work_dir"] = str(work)
    return result


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def log_count(servers: list[Server], needle: str) -> int:
    return sum(s.log_file.read_text(errors="replace").count(needle) for s in servers if s.log_file.exists())


def drop_schema(schema: str) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error), psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def print_run(r: dict[str, Any]) -> None:
    a = r.get("anomalies", {})
    print(f"\nrun {r['run']}: {r['duration_s']} s, {r['servers']} servers; load average {r['load_average_start']} "
          f"(start), {r.get('load_average_during', '?')} (end of faults)")
    print(f"  requests {r.get('requests')}, acknowledged {r.get('acknowledged')} "
          f"({r.get('acknowledged_per_s', 0):.1f}/s), recorded turns {r.get('counts', {}).get('recorded_turns')}; "
          f"unknown outcome: {r.get('counts', {}).get('unknown_recorded', 0)} recorded, "
          f"{r.get('counts', {}).get('unknown_not_recorded', 0)} not; blocked (redaction failed closed): "
          f"{r.get('counts', {}).get('blocked_rows', 0)} rows, {r.get('counts', {}).get('blocked_acknowledged', 0)} "
          f"acknowledged")
    print(f"  faults: {r.get('kills')} SIGKILL, {r.get('pauses')} SIGSTOP/SIGCONT, {r.get('redis_restarts')} Redis restart, "
          f"{r.get('server_starts')} server starts; fenced writes retried {r.get('fenced_write_retries')}, "
          f"lock waits on Redis {r.get('lock_waits_on_redis')}, 503s {r.get('busy_503')}; "
          f"acknowledged p50 {r.get('ack_p50_ms', 0):.0f} ms, p99 {r.get('ack_p99_ms', 0):.0f} ms")
    print(f"  lost {a.get('lost', 0)}, duplicated {a.get('duplicated', 0)}, reordered {a.get('reordered', 0)}, "
          f"phantom {a.get('phantom', 0)}, turn numbering {a.get('turns', 0)}, PII {a.get('pii', 0)}, "
          f"audit {'valid' if r.get('audit', {}).get('exit') == 0 else 'INVALID'} "
          f"({r.get('audit', {}).get('records', '?')} records)")
    for k, examples in r.get("examples", {}).items():
        for e in examples:
            print(f"    {k}: {e}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bot", default=str(ROOT / "examples" / "bank"))
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of faults and traffic per run")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--servers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--hot", type=int, default=3)
    parser.add_argument("--cold", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=15.0, help="a client's wait for one reply")
    parser.add_argument("--redis", choices=["system", "private"], default="system")
    parser.add_argument("--no-redis-restart", action="store_true")
    parser.add_argument("--encoder", choices=["none", "minilm"], default=None, help="override the bot's NLU encoder")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, bot copy)")
    args = parser.parse_args()
    results = []
    for run in range(1, args.runs + 1):
        try:
            r = await run_once(args, run)
        except Exception as exc:
            log(f"run {run} could not be completed: {type(exc).__name__}: {exc}")
            return 2
        print_run(r)
        results.append(r)
    bad = [r for r in results if any(r.get("anomalies", {}).values())]
    print(json.dumps(results))
    print(f"\n{len(results)} run(s), {len(bad)} with anomalies", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
