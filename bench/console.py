"""The compliance console over a large store: build a store of N turns, time every page.

    ./dev bench console                 # 100,000 turns (the issue's target), then the timings
    ./dev bench console --turns 20000   # a smaller store
    ./dev bench console --keep DIR      # build into DIR (reused when it already holds N turns)

How the store is built: the bank example's bot directory is copied, and its store is filled
in units of work of the store (``SqlStore.unit_of_work``): audit records through
``uow.audit`` (the real path: hash-chained at commit), conversations and transcript rows as
one multi-row insert per batch of exactly the rows ``uow.append`` writes (``append`` builds
one statement per event: 100,000 turns took about half an hour that way on a loaded machine),
with what real turns write:
each turn a customer message, an intent event and a bot reply, every one rendered for the
transcript by the bank policy's real redactor (a pool of realistic messages with synthetic
identifiers, each rendered once and reused), an audit record per finding per destination, and
at realistic rates fail-closed blocks, reveals by the example's handlers, refused reveals,
hand-offs and near misses. Times are spread over 60 days. Running 100,000 turns through the
NLU and dialogue would take hours on two cores and would not change what the console reads.

What is timed:
* ``safebot report`` (in-process: collect + render) over the whole store; target < 10 s;
* every console page over HTTP from a real server on loopback (``safebot serve``'s app with a
  compliance key): the policy page, the diff page, the live report, the audit trail (no filter
  and each filter), a conversation; target < 1 s each (median and worst of 5 requests).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DAYS = 60
TURNS_PER_CONVERSATION = 4

CUSTOMER = [
    "what's my balance", "show me my last transactions", "I want to freeze my card",
    "my card number is {card}", "is it {card} you need", "my date of birth is {dob}",
    "I was born on {dob}", "please call me on {phone}", "my email is {email}",
    "send it to {email} please", "I moved to {street}", "my account number is {account}",
    "pay it into {iban}", "my name is {name}", "hi", "thanks a lot", "I lost my wallet",
    "there's a payment I don't recognise", "can I talk to a person", "transfer 50 to savings",
    "my ssn is {ssn}", "the cvv is {cvv}", "what's the routing number {aba}", "bye",
    "someone took money from my account", "can you change my phone number to {phone}",
]
BOT = [
    "Your current account balance is $1,204.33.", "I've frozen the card ending 1111.",
    "Thanks, you're verified.", "What's your date of birth?", "Which card do you mean?",
    "I'm connecting you with one of our customer care team now.", "You're very welcome.",
    "Sorry, I didn't quite catch that.", "Here are your last five transactions.",
]
INTENTS = ["balance", "transactions", "freeze_card", "verify", "greet", "thanks", "dispute", "human_handoff"]
NAMES = ["Margaret Thompson", "Olusegun Adeyemi", "Priya Raman", "Tomasz Kowalczyk", "Ingrid Larsen"]
STREETS = ["742 Evergreen Terrace, Springfield", "12 Oak Avenue, Portland", "1600 Elm Street, Dayton"]


def _luhn(prefix: str, rng: random.Random) -> str:
    digits = prefix + "".join(rng.choice("0123456789") for _ in range(15 - len(prefix)))
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return digits + str((10 - total % 10) % 10)


def _message(rng: random.Random) -> str:
    card = _luhn(rng.choice(["4", "51", "37"]), rng)
    values = {
        "card": " ".join(card[i:i + 4] for i in range(0, 16, 4)),
        "dob": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1950, 2002)}",
        "phone": f"+1 415 555 {rng.randint(1000, 9999)}", "email": f"user{rng.randint(1, 999)}@example.com",
        "street": rng.choice(STREETS), "account": str(rng.randint(10_000_000, 99_999_999)),
        "iban": "GB82 WEST 1234 5698 7654 32", "name": rng.choice(NAMES), "ssn": "078-05-1120",
        "cvv": str(rng.randint(100, 999)), "aba": "021000021",
    }
    return rng.choice(CUSTOMER).format(**values)


def build_store(bot_dir: Path, turns: int, seed: int = 7) -> None:
    """Fill ``bot_dir``'s store with ``turns`` turns (see the module doc)."""
    from sqlalchemy import insert

    from safebot.redaction.audit import AuditRecord
    from safebot.redaction.policy import load_policy
    from safebot.redaction.redactor import Redactor
    from safebot.redaction.types import BLOCKED_TEXT, _mint
    from safebot.stores import SqlStore
    from safebot.stores._schema import Conversation, TranscriptRow

    rng = random.Random(seed)
    policy = load_policy(bot_dir / "policy.yaml")
    redactor = Redactor(policy, hmac_key=b"bench-console-key-0123456789abcdef")
    print(f"rendering the message pool with the {policy.name} policy...", file=sys.stderr)
    pool = []
    texts = [_message(rng) for _ in range(600)]
    for analysis in redactor.analyze_many(texts):
        rendered = {d: redactor.render(analysis, d) for d in ("transcript",)}
        pool.append((rendered["transcript"], [(f.entity_type, f.recognizer, f.score) for f in analysis.findings]))
    replies = [redactor.render(redactor.analyze(t), "transcript") for t in BOT]
    # What a blocked message is stored as (the redaction package's own mint, as tests use it).
    blocked_text = _mint(BLOCKED_TEXT, "transcript", policy.hash, blocked=True)
    store = SqlStore.for_bot_dir(bot_dir)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    conversations = max(1, turns // TURNS_PER_CONVERSATION)
    batch = 500
    made = 0
    t0 = time.perf_counter()
    for first in range(0, conversations, batch):
        convs: list[dict[str, object]] = []
        rows: list[dict[str, object]] = []
        audits: list[AuditRecord] = []

        def event(cid: str, turn: int, kind: str, when: str, text: object = None, data: dict[str, object] | None = None,
                  rows: list[dict[str, object]] = rows) -> None:
            # exactly the row UnitOfWork.append writes for a RedactedEvent (checked by it in tests)
            rows.append({"conversation_id": cid, "turn": turn, "time": when, "kind": kind,
                         "text": None if text is None else text.text,  # type: ignore[attr-defined]
                         "entities": "" if text is None else ",".join(text.entity_types),  # type: ignore[attr-defined]
                         "data": data})

        for c in range(first, min(conversations, first + batch)):
            cid = f"c-{c:024x}"
            at = start + timedelta(seconds=rng.uniform(0, DAYS * 86400 - 3600))
            stamp = at.isoformat(timespec="microseconds")
            convs.append({"id": cid, "channel": rng.choice(["rest", "whatsapp", "console"]), "customer_key_id": None,
                          "created_at": stamp, "updated_at": stamp})
            for turn in range(1, TURNS_PER_CONVERSATION + 1):
                if made >= turns:
                    break
                made += 1
                at += timedelta(seconds=rng.uniform(5, 90))
                when = at.isoformat(timespec="milliseconds")
                text, found = pool[rng.randrange(len(pool))]
                if rng.random() < 0.002:
                    text, found = blocked_text, []
                    audits.append(AuditRecord("detection_failed", policy.hash, conversation_id=cid,
                                              reason=rng.choice(["timeout", "timeout", "RedactionError"]), time=when))
                event(cid, turn, "user", when, text)
                intent = rng.choice(INTENTS)
                event(cid, turn, "intent", when, None, {"intent": intent, "confidence": 0.9})
                for entity, recognizer, score in found:
                    for dest in ("customer", "transcript", "analytics", "nlu"):
                        audits.append(AuditRecord("redacted", policy.hash, entity_type=entity, recognizer=recognizer,
                                                  score=round(score, 3), destination=dest,
                                                  treatment=str(policy.treatment(entity, dest)),
                                                  conversation_id=cid, time=when))
                if rng.random() < 0.03:
                    entity, recognizer = rng.choice([("US_SSN", "safebot.ssn"), ("ABA_ROUTING_NUMBER", "safebot.aba_routing"),
                                                     ("PHONE_NUMBER", "safebot.phone")])
                    audits.append(AuditRecord("near_miss", policy.hash, entity_type=entity, recognizer=recognizer,
                                              score=rng.choice([0.2, 0.35]), conversation_id=cid, time=when))
                if rng.random() < 0.05:
                    handler, entity = rng.choice([("verification", "DATE_OF_BIRTH"), ("balance", "BANK_ACCOUNT"),
                                                  ("update_contact", "EMAIL_ADDRESS"), ("freeze_card", "CREDIT_CARD")])
                    kind = "reveal_denied" if rng.random() < 0.05 else "revealed"
                    audits.append(AuditRecord(kind, policy.hash, entity_type=entity, conversation_id=cid, handler=handler, time=when))
                if intent == "human_handoff" and rng.random() < 0.5:
                    event(cid, turn, "handoff", when, None,
                          {"reason": rng.choice(["requested", "repeated_misunderstanding", "handler"])})
                event(cid, turn, "bot", when, replies[rng.randrange(len(replies))])
        with store.unit_of_work() as uow:
            uow.connection.execute(insert(Conversation), convs)
            uow.connection.execute(insert(TranscriptRow), rows)
            for record in audits:
                uow.audit(record)  # the store's own path: chained and hashed at commit
        print(f"\r{made:,}/{turns:,} turns ({time.perf_counter() - t0:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    store.close()
    redactor.close()


def _timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="build into this directory (reused if it is already built)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("SAFEBOT_HMAC_KEY", "bench-console")
    root = args.keep or Path(tempfile.mkdtemp(prefix="safebot-console-bench-"))
    bot_dir = root / "bank"
    marker = bot_dir / ".safebot" / f"bench-{args.turns}"
    if not marker.exists():
        if bot_dir.exists():
            shutil.rmtree(bot_dir)
        shutil.copytree(ROOT / "examples" / "bank", bot_dir, ignore=shutil.ignore_patterns(".safebot", "__pycache__"))
        t = time.perf_counter()
        build_store(bot_dir, args.turns)
        print(f"built {args.turns:,} turns in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        marker.write_text("built\n")
    results: dict[str, object] = {"turns": args.turns, "load_before": os.getloadavg()}
    results.update(time_report(bot_dir, args.repeat))
    results.update(time_pages(bot_dir, args.repeat))
    results["load_after"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


def time_report(bot_dir: Path, repeat: int) -> dict[str, object]:
    from safebot.console.commands import build_report

    out_file = bot_dir.parent / "report.html"
    times = _timed(lambda: build_report(bot_dir, None, None, out_file), max(1, repeat // 2))
    return {"report_s": {"median": statistics.median(times), "max": max(times)}, "report_bytes": out_file.stat().st_size}


def time_pages(bot_dir: Path, repeat: int) -> dict[str, object]:
    import httpx
    from sqlalchemy import func, select

    from safebot.engine import Bot
    from safebot.serve import ServeSettings, create_app
    from safebot.serve.auth import create_key
    from safebot.serve.testing import ServerThread
    from safebot.stores import SqlStore
    from safebot.stores._schema import AuditRow, TranscriptRow

    bot = Bot.load(bot_dir)
    name = f"bench-{int(time.time())}"
    key = create_key(bot.store, name, "compliance")[1].reveal()
    with bot.store.engine.connect() as conn:
        cid = conn.execute(select(TranscriptRow.conversation_id).order_by(TranscriptRow.id.desc()).limit(1)).scalar_one()
        counts = {
            "transcript_rows": conn.execute(select(func.count()).select_from(TranscriptRow)).scalar_one(),
            "audit_rows": conn.execute(select(func.count()).select_from(AuditRow)).scalar_one(),
        }
    _ = SqlStore
    settings = ServeSettings(rate_limit_per_minute=1_000_000, rate_limit_burst=100_000)
    pages = {
        "policy": "/console/policy",
        "policy diff": "/console/policy/diff",
        "report (all days)": "/console/report",
        "report (7 days)": "/console/report?since=2026-10-24&until=2026-10-30",
        "audit trail": "/console/audit",
        "audit: entity type": "/console/audit?entity_type=US_SSN",
        "audit: handler": "/console/audit?handler=balance",
        "audit: date": "/console/audit?date=2026-10-15",
        "audit: conversation": f"/console/audit?conversation={cid}",
        "audit: page 50": "/console/audit?page=50",
        "conversation": f"/console/conversations/{cid}",
    }
    timings: dict[str, dict[str, float]] = {}
    try:
        with ServerThread(create_app(bot, settings), settings) as server, httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as client:
            for label, path in pages.items():
                first = client.get(path)
                assert first.status_code == 200, (label, first.status_code)
                times = []
                for _ in range(repeat):
                    t = time.perf_counter()
                    r = client.get(path)
                    times.append(time.perf_counter() - t)
                    assert r.status_code == 200
                timings[label] = {"median_ms": round(1000 * statistics.median(times), 1),
                                  "max_ms": round(1000 * max(times), 1), "bytes": len(r.content)}
    finally:
        bot.close()
    return {"pages": timings, **counts}


if __name__ == "__main__":
    main()
