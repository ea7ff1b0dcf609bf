"""Safety does not rest on the lock: a process paused (SIGSTOP) while it holds a
conversation's Redis lease loses the lease when its ttl passes, another process serves the
conversation meanwhile, and when the paused one resumes its write is refused (the tracker
version moved on) and its turn is retried from fresh state: it appears once, after the others.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from safebot.engine import Bot
from safebot.stores.redis_leases import RedisLeases

HERE = Path(__file__).resolve().parent


def user_texts(bot: Bot, cid: str) -> list[tuple[int, str]]:
    return [(int(r["turn"]), str(r["text"])) for r in bot.transcript(cid) if r["kind"] == "user"]


@pytest.mark.slow
@pytest.mark.parametrize("earlier", [0, 1], ids=["new-conversation", "existing-conversation"])
def test_a_paused_process_resumed_after_its_lease_expired_is_refused_at_write(
    pausebot: Path, tmp_path: Path, earlier: int,
) -> None:
    # earlier=0: the paused turn found no tracker (its write is an insert that must find none);
    # earlier=1: it read version 1 (its write is an update fenced on that version).
    runs, marker = tmp_path / "runs.txt", tmp_path / "in-handler"
    env = {**os.environ, "PAUSEBOT_RUNS": str(runs), "PAUSEBOT_IN_HANDLER": str(marker), "PAUSEBOT_SLOW_S": "1.5"}
    bot = Bot.load(pausebot, exporters=False)  # trains the model once, before the other process loads it
    try:
        assert isinstance(bot.locks.lease, RedisLeases)
        for _ in range(earlier):
            assert bot.handle_sync("hot", "opening hours").replies == ("We are open 9 to 5.",)
        paused = subprocess.Popen([sys.executable, str(HERE / "_turn_process.py"), str(pausebot), "hot", "run the slow job"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not marker.exists():  # inside its handler, holding the lease
                assert paused.poll() is None and time.monotonic() < deadline, paused.communicate()[1][-2000:]
                time.sleep(0.02)
            os.kill(paused.pid, signal.SIGSTOP)
            time.sleep(1.5)  # past the 1 s ttl: no renewal can run in a stopped process
            # This process gets the lapsed lease and serves the conversation (a lease that never
            # lapsed would end in LockTimeout here, after the lock's wait).
            for _ in range(3):
                assert bot.handle_sync("hot", "opening hours").replies == ("We are open 9 to 5.",)
            os.kill(paused.pid, signal.SIGCONT)
            out, err = paused.communicate(timeout=120)
        finally:
            if paused.poll() is None:
                os.kill(paused.pid, signal.SIGCONT)
                paused.kill()
        assert paused.returncode == 0, err[-2000:]
        assert json.loads(out.splitlines()[-1]) == {"replies": ["The slow job is done."]}
        # Its first write was refused at the fence, and the turn ran again from fresh state:
        assert "retrying from fresh state" in err
        assert runs.read_text().splitlines() == [str(paused.pid)] * 2  # the handler ran twice...
        recorded = user_texts(bot, "hot")
        total = earlier + 4
        assert [t for t, _ in recorded] == list(range(1, total + 1))  # ...and the turn is recorded once, after the others
        assert [text for _, text in recorded].count("run the slow job") == 1
        assert [text for _, text in recorded][-1] == "run the slow job"
        assert bot.state("hot").turn == total
    finally:
        bot.close()
