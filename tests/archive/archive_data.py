"""Planted-PII rows for the archive tests and bench/archive.py (a uniquely named module)."""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

POLICY = """\
name: archive-test
packs: [common, bank]
nlp: {ner: false}
presidio:
  classes:
    - class: boom_recognizer:BoomRecognizer
      entities: [BOOM_ID]
defaults: {customer: mask:4, transcript: placeholder, analytics: hash, agent: mask:4, nlu: placeholder}
entities:
  CREDIT_CARD: {}
  EMAIL_ADDRESS: {}
  US_SSN: {}
  IBAN_CODE: {}
  PHONE_NUMBER: {}
  BOOM_ID: {}
"""

TEMPLATES = (
    "my card is {card} and it was declined",
    "please write to {email} about my statement",
    "ssn {ssn} for the tax form",
    "send it to IBAN {iban} today",
    "call me back on {phone}, thanks",
    "nothing personal in this one, just a question about fees",
)


def luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randint(0, 9) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += sum(divmod(d * 2, 10)) if i % 2 == 0 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return " ".join(s[i:i + 4] for i in range(0, 16, 4))


def planted_rows(n: int, seed: int = 7) -> tuple[list[dict[str, object]], list[str]]:
    """``n`` rows (id, text, channel) and the values planted in them."""
    rng = random.Random(seed)
    rows, planted = [], []
    ibans = ["GB82 WEST 1234 5698 7654 32", "DE89 3704 0044 0532 0130 00", "FR14 2004 1010 0505 0001 3M02 606"]
    for i in range(n):
        values = {
            "card": luhn_card(rng), "email": f"user{i}.{rng.randint(100, 999)}@example.org",
            "ssn": f"{rng.randint(100, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}",
            "iban": rng.choice(ibans), "phone": f"+1 415 555 {rng.randint(1000, 9999)}",
        }
        template = TEMPLATES[i % len(TEMPLATES)]
        text = template.format(**values)
        for key, value in values.items():
            if "{" + key + "}" in template:
                planted.append(value)
        rows.append({"id": i, "text": text, "channel": "chat"})
    return rows, planted
