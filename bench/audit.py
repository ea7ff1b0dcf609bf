"""Audit chain benchmark (issue 11 targets): verify over 1,000,000 records in <= 60 s, and every
one of 100 random single-record tamperings found.

    python bench/audit.py                    # 1,000,000 records on SQLite, then the tamperings
    python bench/audit.py --records 100000   # a quicker run
    python bench/audit.py --pg               # the same on PostgreSQL (127.0.0.1:5432, db test)

(a) append: records written through ``UnitOfWork.audit`` (1,000 per unit of work, a signed
    checkpoint every 1,000), records/second.
(b) verify: ``verify_chain`` over the whole chain, clean; seconds and records/second.
(c) all at once: 100 random tamperings (alter, alter and rehash, delete, delete and renumber,
    forged insert with renumbering, swap neighbours, swap far apart), one in each of 100 equal
    segments, then one verify: each must be reported with its kind at its position.
(d) one at a time: 100 random tamperings on a fresh copy of a 20,000-record chain each, a verify
    after each.
The load average is printed beside each figure (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import safebot  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

from safebot.audit.chain import write_checkpoint  # noqa: E402
from safebot.audit.signing import AuditSigner  # noqa: E402
from safebot.audit.testing import TAMPERINGS, swap  # noqa: E402
from safebot.audit.verify import verify_chain  # noqa: E402
from safebot.redaction.audit import AuditRecord  # noqa: E402
from safebot.stores import SqlStore  # noqa: E402
from safebot.stores.vault import KeyRing  # noqa: E402

PG_URL = os.environ.get("SAFEBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ENTITIES = ("CREDIT_CARD", "EMAIL_ADDRESS", "PERSON", "PHONE_NUMBER", "IBAN_CODE", "US_SSN")
DESTS = ("customer", "transcript", "analytics", "agent", "nlu")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def fill(store: SqlStore, n: int, batch: int = 1000) -> float:
    rng = random.Random(1)
    started = time.perf_counter()
    written = 0
    while written < n:
        with store.unit_of_work() as uow:
            for _ in range(min(batch, n - written)):
                uow.audit(AuditRecord(
                    "redacted", "9f2c" * 16, entity_type=rng.choice(ENTITIES), recognizer="Recognizer",
                    score=round(rng.random(), 3), destination=rng.choice(DESTS), treatment="placeholder",
                    conversation_id=f"c-{rng.getrandbits(96):024x}",
                ))
                written += 1
    return time.perf_counter() - started


def open_store(args: argparse.Namespace, directory: Path, key: bytes) -> tuple[SqlStore, str | None]:
    if args.pg:
        schema = f"bench_audit_{uuid.uuid4().hex[:10]}"
        return SqlStore(PG_URL, keyring=KeyRing.generate(), schema=schema, audit_key=key), schema
    return SqlStore(f"sqlite:///{directory / 'audit.sqlite3'}", keyring=KeyRing.generate(), audit_key=key), None


def tamper_all(store: SqlStore, rng: random.Random, head: int, count: int) -> list[tuple[str, str, int]]:
    """One tampering per segment, applied from the last segment back, positions kept current."""
    segment = head // count
    done: list[tuple[str, str, int]] = []
    names = sorted(TAMPERINGS)
    with store.write_engine.begin() as conn:
        for s in reversed(range(count)):
            lo, hi = s * segment + 50, (s + 1) * segment - 50
            name = rng.choice(names)
            seq = rng.randint(lo, hi)
            if name == "swap_far":
                far = rng.randint(lo, hi)
                while abs(far - seq) < 40:
                    far = rng.randint(lo, hi)
                kind, pos = swap(conn, seq, far)
                done.append((name, kind, pos))
                done.append((name, kind, max(seq, far)))
                continue
            kind, pos = TAMPERINGS[name](conn, seq)
            if name == "swap_adjacent":  # both ends are reported, as for swap_far
                done.append((name, kind, seq + 1))
            shift = {"insert": 1, "delete_and_renumber": -1}.get(name, 0)
            if shift:  # later tamperings (already applied) moved with the renumbering
                done = [(n, k, p + shift if p > pos else p) for n, k, p in done]
            done.append((name, kind, pos))
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--tamperings", type=int, default=100)
    parser.add_argument("--single-chain", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    key = secrets.token_bytes(32)
    signer = AuditSigner(key)
    tmp = Path(tempfile.mkdtemp(prefix="safebot-bench-audit-"))
    store, schema = open_store(args, tmp, key)
    backend = "PostgreSQL" if args.pg else "SQLite"
    try:
        print(f"# audit chain on {backend}, {args.records:,} records")
        seconds = fill(store, args.records)
        write_checkpoint(store, signer)
        print(f"(a) append: {args.records:,} records in {seconds:.1f} s = {args.records / seconds:,.0f} records/s  [load {load()}]")
        for workers in (1, 2):
            started = time.perf_counter()
            report = verify_chain(store, signer.verifier, workers=workers)
            took = time.perf_counter() - started
            assert report.ok, report.problems[:5]
            print(f"(b) verify clean, {workers} process(es): {report.records:,} records in {took:.1f} s = "
                  f"{report.records / took:,.0f} records/s; {report.checkpoints} checkpoints verified  [load {load()}]")
        started = time.perf_counter()
        applied = tamper_all(store, rng, report.records, args.tamperings)
        tamperings = sum(1 for n, _, _ in applied if not n.startswith("swap")) + sum(1 for n, _, _ in applied if n.startswith("swap")) // 2
        print(f"    applied {tamperings} tamperings in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        tampered = verify_chain(store, signer.verifier, workers=2)
        took = time.perf_counter() - started
        serial = verify_chain(store, signer.verifier)
        same = {(p.kind, p.position) for p in serial.problems} == {(p.kind, p.position) for p in tampered.problems}
        found = {(p.kind, p.position) for p in tampered.problems}
        missed = [(n, k, p) for n, k, p in applied if (k, p) not in found]
        explained = {p for _, _, p in applied}
        extra = [p for p in tampered.problems if p.position not in explained]
        by_kind: dict[str, float] = {}
        for n, _, _ in applied:
            by_kind[n] = by_kind.get(n, 0) + (0.5 if n.startswith("swap") else 1)
        print(f"(c) all at once: verify (2 processes) {took:.1f} s; {len(applied) - len(missed)}/{len(applied)} expected "
              f"findings (swaps count both ends) reported with kind and position; {len(missed)} missed; "
              f"{len(extra)} other problem lines; serial walk reports the same: {same}; mix {by_kind}  [load {load()}]")
        for p in extra[:10]:
            print(f"    other: {p}")
        for m in missed:
            print(f"    MISSED {m}")
    finally:
        store.close()
    single(args, rng, key, signer, tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    if schema:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def single(args: argparse.Namespace, rng: random.Random, key: bytes, signer: AuditSigner, tmp: Path) -> None:
    if args.pg:
        return  # file copies make (d) cheap on SQLite; PostgreSQL is covered by (c)
    pristine = tmp / "pristine.sqlite3"
    store = SqlStore(f"sqlite:///{pristine}", keyring=KeyRing.generate(), audit_key=key)
    fill(store, args.single_chain)
    store.checkpoint()
    store.close()
    hits = 0
    missed = []
    started = time.perf_counter()
    names = sorted(TAMPERINGS)
    for i in range(args.tamperings):
        copy = tmp / f"t{i}.sqlite3"
        shutil.copy(pristine, copy)
        s = SqlStore(f"sqlite:///{copy}", keyring=KeyRing.generate(), audit_key=key)
        name = rng.choice(names)
        seq = rng.randint(1, args.single_chain + args.single_chain // 1000 - 1)
        with s.write_engine.begin() as conn:
            if name == "swap_far":
                far = seq
                while far == seq:
                    far = rng.randint(1, args.single_chain)
                kind, pos = swap(conn, seq, far)
            else:
                kind, pos = TAMPERINGS[name](conn, seq)
        problems = verify_chain(s, signer.verifier).problems
        if (kind, pos) in {(p.kind, p.position) for p in problems}:
            hits += 1
        else:
            missed.append((name, pos, [str(p) for p in problems[:3]]))
        s.close()
        copy.unlink()
    print(f"(d) one at a time on {args.single_chain:,} records: {hits}/{args.tamperings} found with kind and position "
          f"({time.perf_counter() - started:.1f} s)  [load {load()}]")
    for m in missed:
        print(f"    MISSED {m}")


if __name__ == "__main__":
    main()
