"""The fault-injection run (bench/chaos.py): its checker finds each kind of anomaly in a
made-up history (so a clean run means something), and a short run (about 30 s of faults: 4
servers on PostgreSQL, leases in a private redis-server it restarts once, SIGKILL and
SIGSTOP/SIGCONT every 0.5 to 2 s) finds none."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import chaos  # noqa: E402

# ops of conversation "hot-0": (client, seq, sent, done, outcome)
HISTORY = [(1, 1, 0.0, 1.0, "ok"), (2, 1, 0.5, 2.0, "ok"), (1, 2, 1.5, 3.0, "ok"), (2, 2, 2.5, None, "info"),
           (3, 1, 2.6, 2.7, "fail")]


def marker(client: int, seq: int) -> str:
    return f"[chaos c{client:02d} m{seq:05d}] please freeze my card <CREDIT_CARD_1>"


def judged(recorded: list[tuple[int, int] | str], state_turn: int | None = None) -> dict[str, int]:
    ops = [chaos.Op(c, s, "hot-0", "", {}, sent=sent, done=done, outcome=outcome)
           for c, s, sent, done, outcome in HISTORY]
    by_key = {op.key: op for op in ops}
    by_key[(9, 9)] = chaos.Op(9, 9, "cold-001", "", {}, sent=0.0, done=0.1, outcome="ok")
    users = [(i + 1, r if isinstance(r, str) else marker(*r)) for i, r in enumerate(recorded)]
    anomalies: dict[str, list[str]] = defaultdict(list)
    chaos.judge("hot-0", users, len(users) if state_turn is None else state_turn, ops, by_key, anomalies, Counter())
    return {k: len(v) for k, v in anomalies.items() if v}


@pytest.mark.parametrize(("recorded", "state_turn", "expected"), [
    ([(1, 1), (2, 1), (1, 2)], None, {}),                               # all acknowledged, in order
    ([(2, 1), (1, 1), (1, 2), (2, 2)], None, {}),                       # concurrent ones either way; unknown applied late
    ([(1, 1), (1, 2)], None, {"lost": 1}),                              # an acknowledged turn missing
    ([(1, 1), (2, 1), (2, 1), (1, 2)], None, {"duplicated": 1}),
    ([(1, 2), (1, 1), (2, 1)], None, {"reordered": 1}),                 # c1 m2 before c1 m1, acknowledged before it was sent
    ([(1, 1), (2, 1), (1, 2), (7, 7)], None, {"phantom": 1}),           # never sent
    ([(1, 1), (2, 1), (1, 2), (9, 9)], None, {"phantom": 1}),           # sent to another conversation
    ([(1, 1), (2, 1), (1, 2), (3, 1)], None, {"phantom": 1}),           # refused by every server, yet recorded
    ([(1, 1), (2, 1), (1, 2), "hello without a marker"], None, {"phantom": 1}),
    ([(1, 1), (2, 1), (1, 2)], 4, {"turns": 1}),                        # tracker disagrees with the transcript
])
def test_the_checker_finds_each_anomaly(recorded: list[tuple[int, int] | str], state_turn: int | None,
                                        expected: dict[str, int]) -> None:
    assert judged(recorded, state_turn) == expected


BLOCKED = "Sorry, I couldn't process that safely."


@pytest.mark.parametrize(("rows", "outcome", "expected"), [
    (1, "ok", {}),              # acknowledged with the blocked reply, stored as <REDACTED_MESSAGE>
    (0, "ok", {"lost": 1}),     # acknowledged, no blocked row
    (1, "info", {}),            # unknown outcome: it may have been applied
    (0, "info", {}),
    (2, "ok", {"phantom": 1}),  # one blocked message, two blocked rows
    (1, "fail", {"phantom": 1}),
])
def test_blocked_turns_are_counted(rows: int, outcome: str, expected: dict[str, int]) -> None:
    ops = [chaos.Op(1, 1, "hot-0", "", {}, sent=0.0, done=1.0, outcome="ok"),
           chaos.Op(1, 2, "hot-0", "", {}, sent=1.5, done=2.0, outcome=outcome,
                    replies=(BLOCKED,) if outcome == "ok" else ())]
    users = [(1, marker(1, 1))] + [(2 + i, chaos.BLOCKED_TEXT) for i in range(rows)]
    anomalies: dict[str, list[str]] = defaultdict(list)
    counts: Counter[str] = Counter()
    chaos.judge("hot-0", users, len(users), ops, {op.key: op for op in ops}, anomalies, counts, blocked_reply=BLOCKED)
    assert {k: len(v) for k, v in anomalies.items() if v} == expected
    assert counts["blocked_rows"] == rows


def test_planted_values_are_what_the_policy_detects() -> None:
    import random

    v = chaos.planted(random.Random(1), 3, 42)
    digits = v["card"].replace(" ", "")
    assert len(digits) == 16 and digits in chaos.leak_forms(v)
    total = sum((int(d) * 2 if i % 2 else int(d)) - (9 if i % 2 and int(d) * 2 > 9 else 0)
                for i, d in enumerate(reversed(digits)))
    assert total % 10 == 0  # Luhn-valid, as the card recognizer requires


@pytest.mark.slow
def test_a_short_fault_injection_run_finds_no_anomaly(servers: None, tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "chaos.py"), "--duration", "30", "--servers", "4", "--clients", "8",
         "--redis", "private", "--bot", str(ROOT / "tests" / "scale" / "chaosbot"), "--seed", "7"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    result = json.loads(r.stdout.strip().splitlines()[-1])[0]
    assert result["anomalies"] == {}
    assert result["acknowledged"] >= 10 and result["kills"] + result["pauses"] >= 5
    assert result["redis_restarts"] == 1 and result["audit"]["exit"] == 0
