"""Serving benchmark: REST turns over HTTP beside the same turns through ``bot.handle``
in-process, webhook acknowledgement latency under load, server memory, and 1,000 redelivered
webhook deliveries over two server processes on one store.

    ./dev bench serve [--bot examples/bank] [--turns 240] [--quick]
    ./dev bench serve --scale-out [--turns 240] [--repeats 3] [--clients 16]

``--scale-out`` (issue 11's target) measures instead one ``safebot serve`` process against two
on one PostgreSQL store (127.0.0.1:5432, a fresh schema) with conversation leases in Redis
(127.0.0.1:6379): both processes start once, and rounds alternate between sending every turn
to the first and rotating turns over both (client-side round robin), ``--repeats`` times each,
so a change in the machine's load falls on both configurations alike. Each turn goes to a new
conversation (a bank's many customers, no lock contention). Per round: turns/s, p50/p99, the
servers' CPU seconds per turn and the load average.

Everything runs on loopback: the server is ``safebot serve`` in a child process (as deployed),
the load generator is an asyncio httpx client in this process, the Graph API is the recording
fake. Messages are distinct (no cache flatters a figure). Prints a Markdown table and a JSON
line; copy the table into docs/benchmarks.md with the load average it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "serve"))
sys.path.insert(0, str(ROOT / "tests" / "channels" / "whatsapp"))

SECRETS = {"SAFEBOT_WHATSAPP_APP_SECRET": "bench-secret", "SAFEBOT_WHATSAPP_VERIFY_TOKEN": "bench-verify",
           "SAFEBOT_WHATSAPP_ACCESS_TOKEN": "bench-token"}

TEMPLATES = [
    "what's my balance on account ending {n4}",
    "I want to freeze my card ending {n4}",
    "show me my last {k} transactions",
    "hi, I'm {name} and I need help with a payment of ${amount}",
    "there's a charge of ${amount} I don't recognise from {merchant}",
    "can you move ${amount} from checking to savings",
    "my new email is {first}.{last}{k}@example.org",
    "I lost my card yesterday near {merchant}",
    "how do I dispute a transaction of ${amount}",
    "thanks for the help with reference {n4}",
]
FIRST = ["Maria", "John", "Aisha", "Wei", "Olga", "Pedro", "Fatima", "Liam", "Yuki", "Amara"]
LAST = ["Garcia", "Smith", "Khan", "Chen", "Petrova", "Silva", "Haddad", "Murphy", "Sato", "Okafor"]
MERCHANTS = ["Blue Bottle Coffee", "Amazon", "Shell", "Walgreens", "Uber", "Netflix", "Target", "Delta"]


def messages(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        out.append(rng.choice(TEMPLATES).format(
            n4=f"{rng.randrange(10000):04d}", k=rng.randrange(2, 20), name=f"{first} {last}", first=first.lower(),
            last=last.lower(), amount=f"{rng.randrange(5, 2000)}.{rng.randrange(100):02d}", merchant=rng.choice(MERCHANTS),
        ) + f" #{i}")
    return out


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_clients(concurrency: int, texts: list[str], call: Any) -> tuple[float, list[float]]:
    """``call(i, text)`` per message with ``concurrency`` workers; (turns/s, latencies in s)."""
    queue = list(enumerate(texts))
    latencies: list[float] = []

    async def worker() -> None:
        while queue:
            i, text = queue.pop(0)
            t = time.perf_counter()
            await call(i, text)
            latencies.append(time.perf_counter() - t)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(texts) / (time.perf_counter() - started), latencies


def signed(body: bytes) -> dict[str, str]:
    sig = hmac.new(SECRETS["SAFEBOT_WHATSAPP_APP_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={sig}", "content-type": "application/json"}


def delivery(sender: str, text: str) -> bytes:
    import meta_payloads as meta

    from safebot.channels.whatsapp.testing import meta_wamid

    return meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(meta_wamid(sender), text, sender)],
                                                     phone_number_id="106540352242922")]))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


async def scale_out(args: argparse.Namespace) -> None:
    """One server process against two on PostgreSQL + Redis, alternating rounds."""
    sys.path.insert(0, str(ROOT / "bench"))
    import chaos  # the fault-injection run's bot preparation and server processes

    results: dict[str, Any] = {"load_average_start": load_average(), "rounds": []}
    work = Path(tempfile.mkdtemp(prefix="safebot-bench-scale-"))
    schema = f"bench_scale_{os.getpid()}"
    servers: list[Any] = []
    try:
        bot_dir, key, _ = chaos.prepare(work, Path(args.bot), args.redis_url, schema, None)
        yaml = (bot_dir / "bot.yaml").read_text().replace("lease_ttl_s: 2\n", "lease_ttl_s: 30\n")
        (bot_dir / "bot.yaml").write_text(yaml)
        env = {**os.environ, "SAFEBOT_SERVE_RATE_LIMIT_PER_MINUTE": "1000000",
               "SAFEBOT_SERVE_RATE_LIMIT_BURST": "100000", "SAFEBOT_SERVE_MAX_CONCURRENT_TURNS": "256",
               "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        servers = [chaos.Server(i, chaos.free_port(), bot_dir, env, work) for i in range(2)]
        for s in servers:
            s.start()
        await asyncio.gather(*(s.until_up() for s in servers))
        if any(s.state != "up" for s in servers):
            raise RuntimeError("a server exited while starting: " + servers[0].log_file.read_text()[-2000:])
        print(f"two servers up on PostgreSQL schema {schema}; load {load_average()}", file=sys.stderr)
        headers = {"Authorization": f"Bearer {key}"}
        limits = httpx.Limits(max_connections=args.clients * 2, max_keepalive_connections=args.clients * 2)
        async with httpx.AsyncClient(timeout=120, limits=limits, headers=headers) as client:
            for s in servers:  # warm each process (models, connections) on turns not counted
                for i, text in enumerate(messages(8, seed=97)):
                    await client.post(f"{s.url}/v1/conversations/warm-{s.index}-{i}/messages", json={"text": text})
            for repeat in range(args.repeats):
                for n in (1, 2):
                    texts = messages(args.turns, seed=1000 * repeat + n)
                    failures: dict[int, int] = {}

                    async def call(i: int, text: str, n: int = n, repeat: int = repeat,
                                   failures: dict[int, int] = failures) -> None:
                        s = servers[i % n]
                        r = await client.post(f"{s.url}/v1/conversations/scale-{repeat}-{n}-{i}/messages",
                                              json={"text": text})
                        if r.status_code != 200:
                            failures[r.status_code] = failures.get(r.status_code, 0) + 1

                    cpu_before = [cpu_seconds(s.proc.pid) for s in servers]
                    tps, lat = await run_clients(args.clients, texts, call)
                    cpu = sum(cpu_seconds(s.proc.pid) - b for s, b in zip(servers, cpu_before, strict=True))
                    entry = {"processes": n, "repeat": repeat + 1, "turns": args.turns, "turns_per_s": tps,
                             "p50_ms": pct(lat, 0.5) * 1000, "p99_ms": pct(lat, 0.99) * 1000,
                             "server_cpu_ms_per_turn": cpu / args.turns * 1000,
                             "server_cores_used": cpu * tps / args.turns, "failures": failures,
                             "load_average": load_average()}
                    results["rounds"].append(entry)
                    print(json.dumps(entry), file=sys.stderr)
    finally:
        for s in servers:
            s.terminate()
        chaos.drop_schema(schema)
        shutil.rmtree(work, ignore_errors=True)
    results["load_average_end"] = load_average()
    print(f"\nload average at start {results['load_average_start']}, at end {results['load_average_end']}; "
          f"{args.clients} clients, {args.turns} turns per round\n")
    print("| round | processes | turns/s | p50 / p99 ms | server CPU ms per turn | cores used | load average |")
    print("|---|---|---|---|---|---|---|")
    for e in results["rounds"]:
        failed = f" ({e['failures']} not 200)" if e["failures"] else ""
        print(f"| {e['repeat']} | {e['processes']} | {e['turns_per_s']:.1f}{failed} | {e['p50_ms']:.0f} / "
              f"{e['p99_ms']:.0f} | {e['server_cpu_ms_per_turn']:.0f} | {e['server_cores_used']:.2f} | "
              f"{e['load_average']} |")
    by = {n: [e["turns_per_s"] for e in results["rounds"] if e["processes"] == n] for n in (1, 2)}
    ratios = [two / one for one, two in zip(by[1], by[2], strict=True)]
    results["ratio_per_repeat"] = ratios
    results["ratio_of_sums"] = sum(by[2]) / sum(by[1])
    print(f"\ntwo processes / one: {', '.join(f'{r:.2f}x' for r in ratios)} per repeat; "
          f"{results['ratio_of_sums']:.2f}x overall")
    print(json.dumps(results))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bot", default=str(ROOT / "examples" / "bank"))
    parser.add_argument("--turns", type=int, default=240, help="turns per concurrency level")
    parser.add_argument("--redeliveries", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="a short run (fewer turns), to try the script")
    parser.add_argument("--scale-out", action="store_true", help="one process against two on PostgreSQL + Redis")
    parser.add_argument("--repeats", type=int, default=3, help="--scale-out: rounds per configuration")
    parser.add_argument("--clients", type=int, default=16, help="--scale-out: concurrent clients")
    parser.add_argument("--redis-url", default=os.environ.get("SAFEBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    if args.scale_out:
        await scale_out(args)
        return
    if args.quick:
        args.turns, args.redeliveries = 32, 200
    from serve_harness import ServeProcess

    from safebot.channels.whatsapp.testing import FakeGraph
    from safebot.engine import Bot
    from safebot.serve.auth import create_key

    results: dict[str, Any] = {"load_average_start": load_average(), "levels": {}}
    work = Path(tempfile.mkdtemp(prefix="safebot-bench-serve-"))
    with FakeGraph() as graph:
        bot_dir = work / "bot"
        shutil.copytree(args.bot, bot_dir, ignore=shutil.ignore_patterns(".safebot"))
        yaml = (bot_dir / "bot.yaml").read_text()
        head, _, _ = yaml.partition("\nchannels:")
        (bot_dir / "bot.yaml").write_text(head + f"\nchannels:\n  whatsapp:\n    phone_number_id: \"106540352242922\"\n"
                                          f"    graph_base_url: {graph.url}\n")
        # the analytics exporter stays on: a deployed bot writes it too
        from safebot.stores import SqlStore

        served_store = SqlStore.for_bot_dir(bot_dir)
        key = create_key(served_store, "bench")[1].reveal()
        served_store.close()
        # the in-process bot has a store of its own: the two measurements never share a file
        bot = Bot.load(bot_dir, store_url=f"sqlite:///{work}/inprocess.sqlite3")
        env = {**os.environ, **SECRETS, "SAFEBOT_SERVE_RATE_LIMIT_PER_MINUTE": "1000000",
               "SAFEBOT_SERVE_RATE_LIMIT_BURST": "100000", "SAFEBOT_SERVE_MAX_CONCURRENT_TURNS": "256"}
        server = ServeProcess(bot_dir, env)
        print(f"server up: {server.url} (pid {server.proc.pid}); load {load_average()}", file=sys.stderr)
        for level in (1, 4, 16):
            texts = messages(args.turns, seed=level)

            async def in_process(i: int, text: str, level: int = level) -> None:
                await bot.handle(f"bench-inproc-{level}-{i}", text, channel="rest")

            # warm both paths on a few turns that are not counted
            for i, text in enumerate(messages(4, seed=99)):
                await bot.handle(f"warm-{level}-{i}", text, channel="rest")
            tps_in, lat_in = await run_clients(level, texts, in_process)
            limits = httpx.Limits(max_connections=level, max_keepalive_connections=level)
            async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=120,
                                         headers={"Authorization": f"Bearer {key}"}) as client:
                for i, text in enumerate(messages(4, seed=98)):
                    await client.post(f"/v1/conversations/warm-http-{level}-{i}/messages", json={"text": text})

                failures: dict[int, int] = {}

                async def over_http(i: int, text: str, level: int = level, client: httpx.AsyncClient = client,
                                    failures: dict[int, int] = failures) -> None:
                    r = await client.post(f"/v1/conversations/bench-http-{level}-{i}/messages", json={"text": text})
                    if r.status_code != 200:  # counted, not hidden: the table shows them
                        failures[r.status_code] = failures.get(r.status_code, 0) + 1

                acks: list[float] = []
                stop = asyncio.Event()

                async def webhook_probe(stop: asyncio.Event = stop, level: int = level,
                                        acks: list[float] = acks) -> None:
                    async with httpx.AsyncClient(base_url=server.url, timeout=30) as hook:
                        n = 0
                        while not stop.is_set():
                            body = delivery(f"1999{level:02d}{n:06d}", f"hello there #{n}")
                            t = time.perf_counter()
                            r = await hook.post("/webhooks/whatsapp", content=body, headers=signed(body))
                            acks.append(time.perf_counter() - t)
                            assert r.status_code == 200
                            n += 1
                            await asyncio.sleep(0.1)

                probe = asyncio.create_task(webhook_probe()) if level == 16 else None
                tps_http, lat_http = await run_clients(level, texts, over_http)
                stop.set()
                if probe is not None:
                    await probe
            entry = {
                "inprocess_tps": tps_in, "inprocess_p50_ms": pct(lat_in, 0.5) * 1000, "inprocess_p99_ms": pct(lat_in, 0.99) * 1000,
                "http_tps": tps_http, "http_p50_ms": pct(lat_http, 0.5) * 1000, "http_p99_ms": pct(lat_http, 0.99) * 1000,
                "server_rss_mib": rss_mib(server.proc.pid), "load_average": load_average(),
                "http_failures": failures,
            }
            if acks:
                entry.update(webhook_acks=len(acks), ack_p50_ms=pct(acks, 0.5) * 1000, ack_p99_ms=pct(acks, 0.99) * 1000)
            results["levels"][level] = entry
            print(f"{level} clients: {json.dumps(entry)}", file=sys.stderr)

        # 1,000 deliveries of 250 distinct messages, each sent 4 times, to two processes at once
        second = ServeProcess(bot_dir, env)
        distinct = args.redeliveries // 4
        senders = [f"1888{n:07d}" for n in range(distinct)]
        bodies = [delivery(s, f"hi, redelivery check {n}") for n, s in enumerate(senders)]
        before = len(graph.sent)
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=32)) as c:
            sem = asyncio.Semaphore(32)

            async def post(url: str, body: bytes) -> int:
                async with sem:
                    return (await c.post(f"{url}/webhooks/whatsapp", content=body, headers=signed(body))).status_code

            jobs = [post(url, body) for body in bodies for url in (server.url, second.url, second.url, server.url)]
            random.Random(7).shuffle(jobs)
            started = time.perf_counter()
            codes = await asyncio.gather(*jobs)
            ack_seconds = time.perf_counter() - started
        deadline = time.monotonic() + 300
        while len(graph.sent) - before < distinct and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(3)  # a late duplicate would show up here
        replies = [r for r in graph.sent[before:] if r.json["to"] in set(senders)]
        per_sender: dict[str, int] = {}
        for r in replies:
            per_sender[r.json["to"]] = per_sender.get(r.json["to"], 0) + 1
        results["redelivery"] = {
            "deliveries": len(jobs), "distinct_messages": distinct, "http_200": codes.count(200),
            "replies": len(replies), "senders_answered_once": sum(1 for v in per_sender.values() if v == 1),
            "senders_answered_twice_or_more": sum(1 for v in per_sender.values() if v > 1),
            "unanswered": distinct - len(per_sender), "ack_seconds_total": ack_seconds,
        }
        print(f"redelivery: {json.dumps(results['redelivery'])}", file=sys.stderr)
        for proc in (server, second):
            proc.proc.terminate()
            proc.wait()
        results["server_errors"] = [line.strip() for p in (server, second) for line in p.lines if " ERROR " in line][:20]
        bot.close()
    results["load_average_end"] = load_average()
    shutil.rmtree(work, ignore_errors=True)
    print_table(results)
    print(json.dumps(results))


def print_table(r: dict[str, Any]) -> None:
    print(f"\nload average at start {r['load_average_start']}, at end {r['load_average_end']}\n")
    print("| clients | in-process turns/s | HTTP turns/s | HTTP / in-process | in-process p50 / p99 ms | HTTP p50 / p99 ms | server RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    for level, e in r["levels"].items():
        print(f"| {level} | {e['inprocess_tps']:.1f} | {e['http_tps']:.1f} | {e['http_tps'] / e['inprocess_tps']:.0%} | "
              f"{e['inprocess_p50_ms']:.0f} / {e['inprocess_p99_ms']:.0f} | {e['http_p50_ms']:.0f} / {e['http_p99_ms']:.0f} | "
              f"{e['server_rss_mib']:.0f} |")
    e16 = r["levels"].get(16, {})
    if "ack_p50_ms" in e16:
        print(f"\nwebhook acks while 16 clients ran: {e16['webhook_acks']} acks, p50 {e16['ack_p50_ms']:.1f} ms, "
              f"p99 {e16['ack_p99_ms']:.1f} ms")
    failed = {level: e["http_failures"] for level, e in r["levels"].items() if e["http_failures"]}
    if failed:
        print(f"\nHTTP turns not answered 200 (status: count), per level: {failed}")
    for line in r.get("server_errors", []):
        print(f"    server: {line}")
    d = r["redelivery"]
    print(f"\nredeliveries: {d['deliveries']} deliveries of {d['distinct_messages']} messages over two processes: "
          f"{d['http_200']} answered 200, {d['senders_answered_once']} messages answered exactly once, "
          f"{d['senders_answered_twice_or_more']} more than once, {d['unanswered']} not answered")


if __name__ == "__main__":
    asyncio.run(main())
