"""The end-to-end leak matrix: every identifier type times every form, through both example bots.

Each cell plants one identifier of a kind, written in a form (everyday or obfuscated, from
tests/support), in a customer message sent with ``bot.handle`` to the example bot of its domain
(common kinds to both). Then every sink is scanned for it: the stored transcript, the audit
log, the conversation state, the analytics and hand-off events, every log line, the replies
the customer saw (a policy's own mask, ``****1234``, is allowed there) and the SQLite file's
bytes with its WAL. The oracle is tests/support's ``survives``, which undoes the disguise
before it looks (written apart from the normaliser), and counts a value readable if it is
there whole and partly readable if a run of 5 of its characters is.

    python bench/leak_matrix.py [--seeds 3] [--domain bank|airline|both] [--json OUT]

Exit status 1 if anything is readable or partly readable.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support import obfuscated as ob  # noqa: E402
from support import pii  # noqa: E402

from safebot.engine import Bot  # noqa: E402
from safebot.testing import CapturingSink, capture_logs  # noqa: E402

MASKED_IN_REPLIES = 4  # the customer may see the last four characters of what they typed
AUDIT_BOOKKEEPING = frozenset({"id", "time", "seq", "position", "prev_hash", "hash", "record_hash", "signature"})
#: fields that hold no customer text: row ids, clocks, hashed conversation ids, the channel name
#: and the entity types found (their digits and letters made false runs: "20558" in a hashed id,
#: "annel" in "channel", "maile" where "e-mail" met "EMAIL_ADDRESS")
BOOKKEEPING = AUDIT_BOOKKEEPING | {"conversation_id", "turn", "channel", "kind", "entities", "entity_type"}


def values_only(obj: Any) -> str:
    """The string and number values of a JSON-like object, one per line: keys, bookkeeping
    fields and the redaction memory's keyed-hash keys left out (they are not customer text)."""
    out: list[str] = []

    def walk(o: Any, key: str | None = None) -> None:
        if key in BOOKKEEPING:
            return
        if isinstance(o, dict):
            for k, v in o.items():
                walk(v, str(k))
        elif isinstance(o, (list, tuple)):
            for v in o:
                walk(v)
        elif o is not None and not isinstance(o, bool):
            out.append(str(o))

    walk(obj)
    return "\n".join(out)


def cells(domain: str) -> list[tuple[str, str]]:
    kinds = pii.DOMAIN_KINDS[domain] if hasattr(pii, "DOMAIN_KINDS") else tuple(
        k for k, v in pii.KINDS.items() if v.domain in (domain, "common"))
    out = []
    for kind in kinds:
        forms = sorted(set(ob.FORMS_BY_KIND.get(kind, ())) | set(pii.KINDS[kind].forms if hasattr(pii.KINDS[kind], "forms") else ()))
        out += [(kind, f) for f in forms or [None]]  # type: ignore[list-item]
    return out


def seen(text: str) -> str:
    """A sink's text as the oracle reads it: disguises undone, separators and case removed."""
    return pii.canonical(ob.reveal(text))


def whole_value_in(message: pii.Message, p: pii.Planted, canon_text: str, min_length: int = 8) -> bool:
    """Is the whole value (undisguised, separators out) in ``canon_text`` (a :func:`seen` text)
    more often than the rest of the message holds it? Values shorter than ``min_length`` cannot
    be told apart from other numbers in a shared sink; the customer-side sinks check them."""
    value = pii.canonical(ob.reveal(p.value))
    if len(value) < min_length:
        return False
    outside = message.text[: p.start] + " " + message.text[p.end :]
    return canon_text.count(value) > seen(outside).count(value)


def load(domain: str, workdir: Path) -> tuple[Bot, CapturingSink, CapturingSink, Path]:
    bot_dir = workdir / domain
    shutil.copytree(ROOT / "examples" / domain, bot_dir, ignore=shutil.ignore_patterns(".safebot"))
    database = workdir / f"{domain}.sqlite3"
    analytics, agent = CapturingSink("analytics"), CapturingSink("agent")
    bot = Bot.load(bot_dir, store_url=f"sqlite:///{database}", sinks=[analytics, agent], exporters=False)
    return bot, analytics, agent, database


def run(domain: str, seeds: int, workdir: Path) -> dict[str, Any]:
    bot, analytics, agent, database = load(domain, workdir)
    sent: list[tuple[str, str | None, str, pii.Message, list[str]]] = []
    started = time.perf_counter()
    with capture_logs() as logs:
        for kind, form in cells(domain):
            for seed in range(seeds):
                rng = random.Random(f"{domain}/{kind}/{form}/{seed}")
                try:
                    message = pii.plant(rng, kind, form=form, domain=domain)
                except (ValueError, KeyError):
                    continue
                cid = f"leak-{kind}-{form}-{seed}"
                result = bot.handle_sync(cid, message.text)
                sent.append((kind, form, cid, message, list(result.replies)))
    took = time.perf_counter() - started
    bot.store.checkpoint()
    db_bytes = "".join(
        p.read_bytes().decode("latin-1") for p in (database, Path(f"{database}-wal")) if p.exists()
    )
    events_by_ref: dict[str, dict[str, list[str]]] = {}
    for e in [*analytics.events, *agent.events]:
        side = "bot" if e.kind == "bot" or (e.kind == "handoff" and e.data.get("speaker") == "bot") else "customer"
        events_by_ref.setdefault(e.conversation_id, {}).setdefault(side, []).append(json.dumps(e.to_json(), ensure_ascii=False))
    global_seen = {"logs": seen("\n".join(logs)), "database file": seen(db_bytes)}
    readable: Counter[str] = Counter()
    partly: Counter[str] = Counter()
    problems = []
    # What the bot can say by itself: its configuration and its handlers' source (replies,
    # demo back-end data). A run of a planted value found there proves nothing.
    bot_dir = workdir / domain
    bot_words = " \x00 ".join(p.read_text(encoding="utf-8") for p in sorted(bot_dir.rglob("*"))
                              if p.suffix in (".py", ".yaml", ".yml") and "tests" not in p.parts)
    for kind, form, cid, message, replies in sent:
        ref = bot.conversation_ref(cid)
        rows = bot.transcript(cid)
        # What holds the customer's own words, redacted: every trace of a value counts here.
        customer_side = {
            "transcript": values_only([r for r in rows if r["kind"] != "bot"]),
            # audit rows without their clock, row ids and chain hashes (digits that mean nothing)
            "audit": values_only(list(bot.audit_log(cid))),
            "state": values_only(bot.state(cid).to_json()),
            "events": values_only([json.loads(e) for e in events_by_ref.get(ref, {}).get("customer", [])]),
        }
        # What also holds other text (the bot's own words, other conversations, ciphertext):
        # a value counts only whole, and only if it is long enough to be told apart.
        shared = {
            "transcript (bot rows)": seen("\n".join(r["text"] or "" for r in rows if r["kind"] == "bot")),
            "events (bot)": seen("\n".join(events_by_ref.get(ref, {}).get("bot", []))),
            **global_seen,
        }
        for p in message.planted:
            for sink, text in customer_side.items():
                why = pii.survives(message, p, text)
                if why:
                    bucket = partly if why.startswith(("run ", "part ")) else readable
                    bucket[f"{kind}/{form}"] += 1
                    problems.append({"cell": f"{kind}/{form}", "sink": sink, "why": why})
            for sink, text in shared.items():
                if whole_value_in(message, p, text):
                    readable[f"{kind}/{form}"] += 1
                    problems.append({"cell": f"{kind}/{form}", "sink": sink, "why": "whole value in output"})
            # replies: the policy's customer mask may show the last four characters; the bot's own
            # words hold ordinary words, so a name counts there whole, not by 4-letter parts
            # the bot's own words ('Example Bank') are not the customer's: they count as input
            with_bot_words = dataclasses.replace(message, text=message.text + " \x00 " + bot_words)
            why = pii.survives(with_bot_words, p, "\n".join(replies), window=MASKED_IN_REPLIES + 1)
            if why and not why.startswith("part "):
                bucket = partly if why.startswith(("run ", "part ")) else readable
                bucket[f"{kind}/{form}"] += 1
                problems.append({"cell": f"{kind}/{form}", "sink": "replies", "why": why})
    bot.close()
    return {
        "domain": domain, "cells": len({(k, f) for k, f, *_ in sent}), "messages": len(sent),
        "seconds": round(took, 1), "readable": sum(readable.values()), "partly_readable": sum(partly.values()),
        "problems": problems[:200],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--domain", choices=["bank", "airline", "both"], default="both")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    logging.getLogger("safebot").setLevel(logging.DEBUG)
    results = []
    with tempfile.TemporaryDirectory(prefix="safebot-leaks-") as tmp:
        for domain in (["bank", "airline"] if args.domain == "both" else [args.domain]):
            results.append(run(domain, args.seeds, Path(tmp)))
    print("| bot | cells | messages | readable | partly readable | seconds |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['domain']} | {r['cells']} | {r['messages']} | {r['readable']} | {r['partly_readable']} | {r['seconds']} |")
    for r in results:
        for p in r["problems"][:20]:
            print(f"  {r['domain']}: {p['cell']} in {p['sink']}: {p['why']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if any(r["readable"] or r["partly_readable"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
