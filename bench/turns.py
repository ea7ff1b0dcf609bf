"""Turns per second and latency through ``bot.handle``, in process, with everything on.

Redaction (bank policy), NLU (the bot's classifier, MiniLM + TF-IDF by default), dialogue and
the SQLite store (one transaction per turn) all run; the handler itself does nothing, so the
figures are safebot's own cost per turn.

    python bench/turns.py [--turns 500] [--encoder auto|none]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HANDLERS = '''
from safebot.engine import Handler, Result, Routes

async def noop(ctx):
    return Result.say("Done.")

def setup(bot_dir):
    return Routes(handlers=[Handler("noop", ("freeze_card", "check_balance", "transfer_funds"), noop)])
'''

TEMPLATES = [
    "hi there, it's {first} {last}",
    "please freeze my card {card}",
    "what's my balance in {account}",
    "move ${amount} from savings to checking",
    "thanks {first}",
    "my name is {first} {last} and my card ends in {last4}",
    "what's the weather like in {city} today",
    "I want to transfer {amount} dollars to my {account} account",
    "can you block card {card} right now, it was stolen on {day}",
    "how much money do I have in {account}, I paid ${amount} on {day}",
]
FIRST = ["sean", "Mary", "priya", "JOHN", "Aoife", "dmitri", "Li", "carlos", "Fatima", "olu"]
LAST = ["o'neil", "Watson", "garcia-marquez", "SMITH", "Nguyen", "ivanov", "Chen", "D'Souza", "okafor", "brown"]
CARDS = ["4111 1111 1111 1111", "5555-5555-5555-4444", "4012888888881881", "3782 822463 10005", "6011 1111 1111 1117"]


def messages(n: int) -> list[str]:
    """n distinct customer messages (fixed seed): no two turns send the same text, so no
    cache anywhere can make a turn look cheaper than it is."""
    import random

    rnd = random.Random(7)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        text = rnd.choice(TEMPLATES).format(
            first=rnd.choice(FIRST), last=rnd.choice(LAST), card=rnd.choice(CARDS),
            account=rnd.choice(["checking", "savings", "my joint account"]),
            amount=f"{rnd.randint(5, 5000)}.{rnd.randint(0, 99):02d}", last4=f"{rnd.randint(0, 9999):04d}",
            city=rnd.choice(["Paris", "boston", "Leeds", "Austin"]), day=rnd.choice(["yesterday", "Monday", "12 March"]),
        )
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--encoder", default="auto", choices=["auto", "none"])
    args = parser.parse_args()

    from safebot.engine import Bot

    with tempfile.TemporaryDirectory(prefix="safebot-bench-") as tmp:
        bot_dir = Path(tmp) / "benchbot"
        bot_dir.mkdir()
        shutil.copy(ROOT / "tests" / "engine" / "minibank" / "nlu.yml", bot_dir / "nlu.yml")
        (bot_dir / "handlers.py").write_text(HANDLERS)
        (bot_dir / "bot.yaml").write_text(
            f"name: bench\npolicy: {ROOT / 'examples' / 'bank' / 'policy.yaml'}\n"
            f"nlu:\n  encoder: {args.encoder}\n"
        )
        t0 = time.perf_counter()
        bot = Bot.load(bot_dir)
        load_s = time.perf_counter() - t0

        texts = messages(args.turns)

        async def run() -> list[float]:
            latencies = []
            for i in range(args.turns):
                text = texts[i]
                start = time.perf_counter()
                await bot.handle(f"bench-{i // 10}", text)
                latencies.append((time.perf_counter() - start) * 1000)
            return latencies

        asyncio.run(bot.handle("warm-up", "hello"))
        wall = time.perf_counter()
        lat = asyncio.run(run())
        wall = time.perf_counter() - wall
        bot.close()

    print("| metric | value |")
    print("|---|---|")
    print(f"| encoder | {args.encoder} |")
    print(f"| turns | {args.turns} |")
    print(f"| bot load (incl. training) | {load_s:.1f} s |")
    print(f"| turns per second | {args.turns / wall:.1f} |")
    print(f"| p50 per turn | {statistics.median(lat):.1f} ms |")
    print(f"| p99 per turn | {percentile(lat, 99):.1f} ms |")
    print(f"| max per turn | {max(lat):.1f} ms |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
