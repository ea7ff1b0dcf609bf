"""How long safebot takes to start, each figure from a fresh Python process.

    python bench/start.py [--repeat 3] [--work /tmp/safebot-bench-start] [--no-bytecode-cache]

Measured, for the trained example bots (examples/bank, examples/airline), median of
``--repeat`` runs, wall time and the process's CPU time (user + system):

- ``import safebot`` and ``import safebot.redaction`` (the whole process);
- ``check_bot_dir`` (the check every command runs before loading anything);
- ``Bot.load`` (timed inside the process, after its imports; then the whole process);
- the first turn after ``Bot.load`` (``bot.handle_sync``: redaction, NLU, dialogue, store);
- ``safebot chat BOT`` with one line piped in: from the process's start to its first reply
  on stdout (what a user waits for); its CPU figure is the whole process (it exits right after).

The example bots are copied into ``--work`` (never the repository's own ``.safebot/``) and
trained there once with ``safebot train``; later runs reuse that model while nlu.yml is
unchanged. Python's bytecode cache goes to ``--work`` too (``PYTHONPYCACHEPREFIX``), as a
user's install would have one; ``--no-bytecode-cache`` measures with none (every module
compiled at each start, as with ``PYTHONDONTWRITEBYTECODE=1``). One warm-up run of each
measurement is discarded (it fills that cache and the OS page cache).

The load average (``/proc/loadavg``) is printed before and after: on a shared machine the
wall times move with it, the CPU times much less.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ("bank", "airline")

_TIMED = """
import json, os, sys, time
w0, c0 = time.perf_counter(), time.process_time()
{body}
print("BENCH " + json.dumps(out), flush=True)
"""

_IMPORT = "import {module}\nout = {{}}"

_CHECK = """
from safebot.preflight import check_bot_dir
w1, c1 = time.perf_counter(), time.process_time()
check_bot_dir(sys.argv[1])
out = {"check": [time.perf_counter() - w1, time.process_time() - c1]}
"""

_LOAD = """
from safebot.engine import Bot
w1, c1 = time.perf_counter(), time.process_time()
bot = Bot.load(sys.argv[1], train_if_missing=False, exporters=False)
load = [time.perf_counter() - w1, time.process_time() - c1]
w2, c2 = time.perf_counter(), time.process_time()
result = bot.handle_sync("bench-start", "hello")
turn = [time.perf_counter() - w2, time.process_time() - c2]
assert result.replies, "no reply"
bot.close()
out = {"load": load, "first_turn": turn}
"""


def _env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env["SAFEBOT_PROGRESS"] = "0"
    if args.no_bytecode_cache:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(args.work / "pycache")
    return env


def _child_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def timed(code: str, argv: list[str], env: dict[str, str]) -> dict[str, list[float]]:
    """Run ``code`` in a fresh interpreter: its own figures plus the whole process's wall and CPU."""
    cpu0, w0 = _child_cpu(), time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _TIMED.format(body=code), *argv], capture_output=True, text=True,
                       env=env, timeout=600, cwd=ROOT)
    wall, cpu = time.perf_counter() - w0, _child_cpu() - cpu0
    if r.returncode != 0:
        raise SystemExit(f"bench/start.py: a measured process failed:\n{r.stderr[-2000:]}")
    line = next(x for x in r.stdout.splitlines() if x.startswith("BENCH "))
    out: dict[str, list[float]] = json.loads(line[6:])
    out["process"] = [wall, cpu]
    return out


def first_reply(bot_dir: Path, env: dict[str, str]) -> dict[str, list[float]]:
    """``safebot chat BOT_DIR`` with a line piped in: seconds from spawn to the first reply line."""
    cpu0, w0 = _child_cpu(), time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "safebot.cli", "chat", str(bot_dir)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("hello\n")
    proc.stdin.flush()
    reply = proc.stdout.readline()
    wall = time.perf_counter() - w0
    proc.stdin.close()
    proc.stdout.read()
    err = proc.stderr.read() if proc.stderr is not None else ""
    proc.wait(timeout=600)
    cpu = _child_cpu() - cpu0  # the whole process (it exits right after the reply)
    if proc.returncode != 0 or not reply.strip():
        raise SystemExit(f"bench/start.py: safebot chat failed ({proc.returncode}): {err[-2000:]}")
    return {"first_reply": [wall, cpu]}


def prepare(example: str, work: Path, env: dict[str, str]) -> Path:
    """A private trained copy of examples/<example> (retrained only when nlu.yml changed)."""
    source = ROOT / "examples" / example
    target = work / example
    state = target / ".safebot"
    keep = None
    if state.is_dir():
        keep = work / f".{example}-state"
        shutil.rmtree(keep, ignore_errors=True)
        shutil.move(str(state), keep)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".safebot", "*.sqlite3", "__pycache__"))
    if keep is not None:
        shutil.move(str(keep), state)
        for path in state.glob("*.sqlite3*"):  # a fresh store each run: the first start is measured
            path.unlink()
    sys.path.insert(0, str(ROOT / "src"))
    from safebot.engine.config import load_bot_config
    from safebot.nlu.training import nlu_fingerprint

    stamp = state / "intent-model.fingerprint"
    if not (stamp.is_file() and stamp.read_text() == nlu_fingerprint(target, load_bot_config(target))):
        print(f"training {example} (once) ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "safebot.cli", "train", str(target)], check=True, env=env, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
    return target


def median_of(runs: list[dict[str, list[float]]]) -> dict[str, tuple[float, float]]:
    keys = runs[0].keys()
    return {k: (statistics.median(r[k][0] for r in runs), statistics.median(r[k][1] for r in runs)) for k in keys}


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/safebot-bench-start"))
    parser.add_argument("--no-bytecode-cache", action="store_true")
    parser.add_argument("--only", choices=EXAMPLES, action="append", help="one example (repeatable)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    env = _env(args)
    examples = args.only or list(EXAMPLES)
    bots = {name: prepare(name, args.work, env) for name in examples}

    def measure(fn, *fn_args):  # type: ignore[no-untyped-def]
        fn(*fn_args)  # warm-up, discarded
        return median_of([fn(*fn_args) for _ in range(args.repeat)])

    before = loadavg()
    rows: list[tuple[str, str, float, float]] = []
    for module in ("safebot", "safebot.redaction"):
        m = measure(timed, _IMPORT.format(module=module), [], env)
        rows.append((f"`import {module}`", "process", *m["process"]))
    for name, bot_dir in bots.items():
        m = measure(timed, _CHECK, [str(bot_dir)], env)
        rows.append((f"{name}: `check_bot_dir`", "in process", *m["check"]))
        m = measure(timed, _LOAD, [str(bot_dir)], env)
        rows.append((f"{name}: `Bot.load`", "in process, after imports", *m["load"]))
        rows.append((f"{name}: first turn after `Bot.load`", "in process", *m["first_turn"]))
        rows.append((f"{name}: imports + `Bot.load` + first turn", "process", *m["process"]))
        m = measure(first_reply, bot_dir, env)
        rows.append((f"{name}: `safebot chat` first reply", "spawn to first line on stdout", *m["first_reply"]))
    after = loadavg()

    cache = "none (PYTHONDONTWRITEBYTECODE=1)" if args.no_bytecode_cache else "warm (PYTHONPYCACHEPREFIX)"
    print(f"median of {args.repeat} runs after a warm-up; bytecode cache: {cache}; "
          f"load average {before} before, {after} after; {os.cpu_count()} CPUs")
    print()
    print("| what | measured | wall | CPU |")
    print("|---|---|---|---|")
    for what, how, wall, cpu in rows:
        print(f"| {what} | {how} | {wall:.2f} s | {cpu:.2f} s |")


if __name__ == "__main__":
    main()
