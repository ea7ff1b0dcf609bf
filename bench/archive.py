"""redact-archive benchmark (issue 11 target): Spark local mode with both cores against
``redact_many`` in one process, same data, same policy, same run; target >= 1.6x rows/second.

    python bench/archive.py                  # 6,000 rows of planted PII, examples/bank/policy.yaml
    python bench/archive.py --rows 20000

(1) one process: the Redactor is built first (timed apart), then ``redact_many`` over every row in
    batches of 1,000 (the batch Spark's Arrow batches have).
(2) Spark ``local[2]``: the session starts (timed apart), then the same file through
    ``redact_archive`` twice: cold (each Python worker starts and builds its redactor inside the
    job) and warm (the workers and their redactors are reused, as on a long archive).
Both outputs are compared row by row (same analytics key: they must be identical), and the load
average is printed beside each figure: the machine is shared, so figures move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import safebot  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "archive"))

from archive_data import planted_rows  # noqa: E402  (tests/archive: the planted-PII rows)

KEY = b"bench-archive-key-0123456789abcdef"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--policy", default=str(ROOT / "examples" / "bank" / "policy.yaml"))
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="safebot-bench-archive-"))
    rows, planted = planted_rows(args.rows, seed=3)
    source = tmp / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    texts = [str(r["text"]) for r in rows]
    print(f"# redact-archive: {args.rows:,} rows, policy {Path(args.policy).name}, destination analytics")

    from safebot.redaction.policy import load_policy
    from safebot.redaction.redactor import Redactor

    started = time.perf_counter()
    redactor = Redactor(load_policy(args.policy), hmac_key=KEY)
    redactor.redact_many(["warm up the pipeline, card 4111 1111 1111 1111"], "analytics")
    build = time.perf_counter() - started
    started = time.perf_counter()
    single: list[str] = []
    for i in range(0, len(texts), args.batch):
        single += [r.text for r in redactor.redact_many(texts[i:i + args.batch], "analytics")]
    one = time.perf_counter() - started
    one_rate = len(texts) / one
    blocked = sum(t == "<REDACTED_MESSAGE>" for t in single)
    print(f"(1) one process: redactor built in {build:.1f} s; redact_many {len(texts):,} rows in {one:.1f} s = "
          f"{one_rate:,.0f} rows/s; {blocked} blocked  [load {load()}]")

    from safebot.archive.spark import redact_archive, spark_session

    started = time.perf_counter()
    spark = spark_session("local[2]", batch_rows=args.batch)
    print(f"(2) Spark local[2]: session started in {time.perf_counter() - started:.1f} s  [load {load()}]")
    try:
        for label in ("cold", "warm"):
            out = tmp / f"out-{label}"
            started = time.perf_counter()
            report = redact_archive(args.policy, str(source), str(out), hmac_key=KEY, spark=spark, batch_rows=args.batch)
            took = time.perf_counter() - started
            got = {}
            for f in out.glob("part-*"):
                for line in f.read_text().splitlines():
                    r = json.loads(line)
                    got[int(r["id"])] = r.get("text")
            same = sum(got.get(i) == t for i, t in enumerate(single))
            for i, t in enumerate(single):
                if got.get(i) != t:  # redacted texts only: safe to print
                    print(f"    row {i} differs: one process {t!r}, Spark {got.get(i)!r}")
            data = b"".join(f.read_bytes() for f in out.glob("part-*"))
            leaked = sum(1 for v in planted if v.encode() in data)
            print(f"    {label}: {report.values:,} rows in {took:.1f} s = {report.values / took:,.0f} rows/s = "
                  f"{report.values / took / one_rate:.2f}x one process; {report.partitions} partitions; "
                  f"{report.blocked} blocked; identical to one process: {same:,}/{len(single):,}; "
                  f"planted values in output: {leaked}  [load {load()}]")
    finally:
        spark.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
