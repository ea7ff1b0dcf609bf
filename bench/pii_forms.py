"""The "forms" set: customer messages that plant identifiers in the forms people type them in.

Deterministic (seeded). Each message plants one or two identifiers of one domain's kinds (bank or
airline, plus the common ones: names, e-mail, phone, date of birth, address) in one of the forms
of ``tests/support/pii.py`` (contiguous, single and double spaces, dashes, dots, zero-width
characters between groups, full-width digits, lower case; names in lower and upper case, with
apostrophes and hyphens). Every (kind, form) pair of a domain appears several times. Another 25
messages carry values a bot must keep intact (amounts, dates, flight numbers, airport codes, seats,
gates, a card's last four), some beside planted identifiers.

    python bench/pii_forms.py                 # summary
    python bench/pii_forms.py --jsonl         # the messages, one JSON object a line
    python bench/pii_forms.py --obfuscated    # the obfuscated-forms set (bench/normalise.py)
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
from support import pii as tp

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


OBFUSCATED_SEED = 20250602
OBFUSCATED_PER_CELL = 3


def generate_obfuscated(seed: int = OBFUSCATED_SEED, per_cell: int = OBFUSCATED_PER_CELL) -> list[tp.Message]:
    """``per_cell`` messages for every (kind, obfuscated form) of ``support.obfuscated``: odd
    separators, non-ASCII digits, spelled digits, O/l for 0/1, look-alike letters, JSON, URL,
    percent-encoding, combining marks, NUL bytes, NFD accents, e-mail written out (issue 8,
    item 2). Common kinds are planted in bank messages. Kept apart from ``generate`` so that
    the everyday set (and its published figures) stays as it was."""
    rng = random.Random(seed)
    out = []
    for kind, spec in tp.KINDS.items():
        domain = "airline" if spec.domain == "airline" else "bank"
        for form in spec.obfuscated:
            out.extend(tp.plant(rng, kind, form=form, domain=domain) for _ in range(per_cell))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--jsonl", action="store_true", help="print the messages as JSON lines")
    ap.add_argument("--obfuscated", action="store_true", help="the obfuscated-forms set instead")
    args = ap.parse_args(argv)
    messages = generate_obfuscated() if args.obfuscated else generate(args.seed)
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
