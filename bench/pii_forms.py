"""The "forms" set: customer messages that plant identifiers in the forms people type them in.

Deterministic (seeded). Each message plants one or two identifiers of one domain's kinds (bank or
airline, plus the common ones: names, e-mail, phone, date of birth, address) in one of the forms
of ``tests/support/pii.py`` (contiguous, single and double spaces, dashes, dots, zero-width
characters between groups, full-width digits, lower case; names in lower and upper case, with
apostrophes and hyphens). Every (kind, form) pair of a domain appears several times. Another 25
messages carry values a bot must keep intact (amounts, dates, flight numbers, airport codes, seats,
gates, a card's last four), some beside planted identifiers.

    python bench/pii_forms.py            # summary
    python bench/pii_forms.py --jsonl    # the messages, one JSON object a line
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

# The generator is test data, not part of the safebot package: it lives in tests/support/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support import pii as tp  # noqa: E402

SEED = 20250601
N_PLANTED_MESSAGES = 475


def _pairs(domain: str) -> list[tuple[str, str]]:
    return [(k, f) for k in tp.DOMAIN_KINDS[domain] for f in tp.KINDS[k].forms]


def generate(seed: int = SEED, n: int = N_PLANTED_MESSAGES) -> list[tp.Message]:
    """``n`` planted messages (bank and airline, about 55:45) followed by the must-keep messages."""
    rng = random.Random(seed)
    quota = {"bank": round(n * 0.55), "airline": n - round(n * 0.55)}
    messages: list[tp.Message] = []
    for domain, count in quota.items():
        queue: list[tuple[str, str]] = []
        made = 0
        while made < count:
            if len(queue) < 2:
                fresh = _pairs(domain)
                rng.shuffle(fresh)
                queue.extend(fresh)
            take = 2 if rng.random() < 0.45 else 1
            items = [queue.pop() for _ in range(take)]
            if take == 2 and items[0][0] == items[1][0]:
                items = items[:1]
            messages.append(tp.plant_many(rng, items, domain=domain))
            made += 1
    rng.shuffle(messages)
    messages.extend(tp.keep_messages(random.Random(seed + 1)))
    return messages


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--jsonl", action="store_true", help="print the messages as JSON lines")
    args = ap.parse_args(argv)
    messages = generate(args.seed)
    if args.jsonl:
        for m in messages:
            print(json.dumps({
                "text": m.text, "domain": m.domain, "keep": list(m.keep),
                "planted": [{"kind": p.kind, "form": p.form, "variant": p.variant, "value": p.value,
                             "start": p.start, "end": p.end} for p in m.planted],
            }, ensure_ascii=False))
        return
    planted = [p for m in messages for p in m.planted]
    print(f"{len(messages)} messages, {len(planted)} planted values, "
          f"{sum(len(m.keep) for m in messages)} must-keep values")
    for (kind, form), c in sorted(Counter((p.kind, p.form) for p in planted).items()):
        print(f"  {kind:24} {form:22} {c}")


if __name__ == "__main__":
    main()
