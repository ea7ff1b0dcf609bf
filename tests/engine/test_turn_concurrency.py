"""Concurrency that holds: one Bot from many threads and loops, slow handlers that block no one,
several processes on one store, and side effects exactly once per recorded turn.

Each of these failed before the redesign (a lock bound to another event loop, a write lock held
while a handler ran, a turn applied twice under two processes).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safebot.engine import Bot

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_turns_worker.py"
PG_URL = os.environ.get("SAFEBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def bot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "slowbank"
    shutil.copytree(HERE / "slowbank", target)
    monkeypatch.setenv("SLOWBANK_SIDE_EFFECTS", str(tmp_path / "side-effects.txt"))
    (tmp_path / "side-effects.txt").touch()
    return target


@pytest.fixture
def bot(bot_dir: Path) -> Iterator[Bot]:
    b = Bot.load(bot_dir, exporters=False)
    yield b
    b.close()


def user_turns(bot: Bot, cid: str) -> list[int]:
    return [r["turn"] for r in bot.transcript(cid) if r["kind"] == "user"]


def side_effects(bot_dir: Path) -> list[str]:
    return (bot_dir.parent / "side-effects.txt").read_text().splitlines()


def test_one_bot_from_many_threads_and_loops(bot: Bot, bot_dir: Path) -> None:
    errors: list[str] = []

    def worker(n: int) -> None:
        for _i in range(5):
            try:
                bot.handle_sync("shared", "count it please")   # a new event loop each call
                bot.handle_sync(f"own-{n}", "count this")
            except Exception as exc:
                errors.append(type(exc).__name__)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert user_turns(bot, "shared") == list(range(1, 21))  # serialised, none lost, none twice
    for n in range(4):
        assert user_turns(bot, f"own-{n}") == [1, 2, 3, 4, 5]
    assert len(side_effects(bot_dir)) == 40
    assert len(bot.locks.local) == 0  # nothing left behind once the turns are over


def test_a_slow_handler_blocks_no_other_conversation(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOWBANK_SLOW_S", "1.5")

    async def scenario() -> dict[str, float]:
        done: dict[str, float] = {}
        started = time.monotonic()

        async def turn(cid: str, text: str) -> None:
            await bot.handle(cid, text)
            done[cid] = time.monotonic() - started

        await asyncio.gather(turn("slow", "run the slow job"), turn("b", "opening hours"), turn("c", "count this"))
        return done

    done = asyncio.run(scenario())
    assert done["slow"] >= 1.5
    assert done["b"] < 1.0 and done["c"] < 1.0  # no store lock or event-loop block held for the slow one
    assert user_turns(bot, "b") == [1] and user_turns(bot, "c") == [1]


def test_turns_of_one_conversation_queue_behind_a_slow_one(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOWBANK_SLOW_S", "0.5")

    async def scenario() -> list[str]:
        order: list[str] = []

        async def turn(text: str) -> None:
            r = await bot.handle("same", text)
            order.append(r.replies[0])

        slow = asyncio.ensure_future(turn("run the slow job"))
        await asyncio.sleep(0.05)
        await asyncio.gather(slow, turn("opening hours"))
        return order

    assert asyncio.run(scenario()) == ["The slow job is done.", "We are open 9 to 5."]
    assert user_turns(bot, "same") == [1, 2]


def test_the_state_read_is_fenced(bot: Bot) -> None:
    """A write on a stale version is refused, and the turn retries from fresh state once."""
    from safebot.errors import VersionConflict
    from safebot.stores.conversations import TurnRecord, load_conversation, save_turn

    bot.handle_sync("fenced", "hi")
    ref = bot.conversation_ref("fenced")
    stale = load_conversation(bot.store, ref)
    bot.handle_sync("fenced", "opening hours")
    with pytest.raises(VersionConflict):
        save_turn(bot.store, TurnRecord(ref, "api", stale.version, stale.state or {}))
    assert user_turns(bot, "fenced") == [1, 2]


def _run_workers(bot_dir: Path, jobs: list[list[str]], env: dict[str, str]) -> list[dict[str, Any]]:
    procs = [
        subprocess.Popen([sys.executable, str(WORKER), str(bot_dir), *job], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
        for job in jobs
    ]
    out: list[dict[str, Any]] = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=240)
        assert p.returncode == 0, stderr[-2000:] + stdout[-2000:]
        out += [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return out


@pytest.mark.slow
def test_a_long_handler_in_one_process_does_not_fail_turns_in_another(bot_dir: Path, bot: Bot) -> None:
    """SQLite: a 6 s handler (longer than the 5 s busy timeout) in process A while process B
    serves other conversations; B's turns all succeed and are all recorded."""
    bot.close()  # the workers own the store now
    marker = bot_dir.parent / "in-handler"
    env = {"SLOWBANK_SLOW_S": "6", "SLOWBANK_IN_HANDLER": str(marker)}
    slow = subprocess.Popen([sys.executable, str(WORKER), str(bot_dir), "slowc:run the slow job"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    quick = _run_workers(bot_dir, [[f"q{i}:opening hours" for i in range(6)]], {**env, "WORKER_WAIT_FOR": str(marker)})
    stdout, stderr = slow.communicate(timeout=120)
    assert slow.returncode == 0, stderr[-2000:]
    slow_finished = next(json.loads(line)["finished"] for line in stdout.splitlines() if '"finished"' in line)
    turns = [r for r in quick if "cid" in r]
    assert all("error" not in r for r in turns) and len(turns) == 6
    assert next(r["finished"] for r in quick if "finished" in r) < slow_finished  # B ran while A was inside
    check = Bot.load(bot_dir, exporters=False)
    try:
        assert all(user_turns(check, f"q{i}") == [1] for i in range(6))
        assert user_turns(check, "slowc") == [1]
    finally:
        check.close()


@pytest.fixture
def pg_bot_dir(bot_dir: Path) -> Iterator[Path]:
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL not reachable ({type(exc).__name__})")
    schema = f"safebot_conc_{uuid.uuid4().hex[:10]}"
    config = (bot_dir / "bot.yaml").read_text() + f"store:\n  url: {PG_URL}\n  schema: {schema}\n"
    (bot_dir / "bot.yaml").write_text(config)
    try:
        yield bot_dir
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@pytest.mark.slow
def test_side_effects_exactly_once_per_recorded_turn_across_processes(pg_bot_dir: Path) -> None:
    """Two processes on PostgreSQL send turns to the same conversations at the same time."""
    jobs = [[f"hot{k % 2}:count it please" for k in range(16)] for _ in range(2)]
    results = [r for r in _run_workers(pg_bot_dir, jobs, {}) if "cid" in r]
    assert len(results) == 32 and all("error" not in r for r in results)
    check = Bot.load(pg_bot_dir, exporters=False)
    try:
        recorded = {c: user_turns(check, c) for c in ("hot0", "hot1")}
        assert recorded["hot0"] == list(range(1, 17)) and recorded["hot1"] == list(range(1, 17))
        runs = side_effects(pg_bot_dir)
        assert len(runs) == 32  # one side effect per recorded turn, none twice
        for c in ("hot0", "hot1"):
            assert runs.count(check.conversation_ref(c)) == 16
    finally:
        check.close()
