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

MESSAGES = [
    "hi there",
    "please freeze my card 4111 1111 1111 1111",
    "what's my balance",
    "move $200 from savings to checking",
    "thanks",
    "my name is sean o'neil and my card ends in 4242",
    "what's the weather like",
    "I want to make a transfer to my savings account",
    "can you block card 5555 5555 5555 4444 right now",
    "how much money do I have in checking",
]


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))
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

        async def run() -> list[float]:
            latencies = []
            for i in range(args.turns):
                text = MESSAGES[i % len(MESSAGES)]
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
