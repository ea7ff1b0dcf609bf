"""redact-archive on Spark in local mode: every format, the same output as redact_many in one
process, no planted value in the output, blocked rows counted, a malformed record fails the job
without quoting it, one redactor per Python worker. One Spark session for the module."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from archive_data import HERE, planted_rows

from safebot.archive.executor import TRACE_ENV
from safebot.errors import ConfigError
from safebot.redaction.policy import load_policy
from safebot.redaction.redactor import Redactor
from safebot.redaction.types import BLOCKED_TEXT

pytestmark = pytest.mark.slow
pyspark = pytest.importorskip("pyspark")

KEY = b"archive-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from safebot.archive.spark import spark_session

    trace = tmp_path_factory.mktemp("trace") / "builds.txt"
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", TRACE_ENV)}
    # the executors' Python workers import the test recognizer and report their builds
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), saved["PYTHONPATH"]]))
    os.environ[TRACE_ENV] = str(trace)
    session = spark_session("local[2]", batch_rows=50)
    session.trace_file = trace
    yield session
    session.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def expected(policy: Path, texts: list[str], destination: str) -> list[str]:
    redactor = Redactor(load_policy(policy), hmac_key=KEY)
    return [r.text for r in redactor.redact_many(texts, destination)]  # type: ignore[arg-type]


def read_output(path: Path, fmt: str) -> list[dict[str, Any]]:
    if fmt == "jsonl":
        return [json.loads(line) for f in sorted(path.glob("part-*")) for line in f.read_text().splitlines()]
    if fmt == "csv":
        rows: list[dict[str, Any]] = []
        for f in sorted(path.glob("part-*.csv")):
            with f.open(newline="") as fh:
                rows += list(csv.DictReader(fh))
        return rows
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def output_bytes(path: Path) -> bytes:
    return b"".join(f.read_bytes() for f in path.rglob("*") if f.is_file())


def write_input(path: Path, fmt: str, rows: list[dict[str, Any]]) -> None:
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif fmt == "csv":
        with path.open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["id", "text", "channel"])
            w.writeheader()
            w.writerows(rows)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)


@pytest.mark.parametrize(("fmt", "out_fmt"), [("jsonl", "jsonl"), ("csv", "parquet"), ("parquet", "csv")])
def test_formats_redact_like_redact_many(spark: Any, tmp_path: Path, archive_policy: Path, fmt: str, out_fmt: str) -> None:
    from safebot.archive.spark import redact_archive

    rows, planted = planted_rows(120)
    rows[5]["text"] = "a line\nthat spans lines, card 4111 1111 1111 1111"  # quoted newline in CSV
    rows[7]["text"] = "KABOOM with card 5555 5555 5555 4444"  # its detection raises
    planted += ["4111 1111 1111 1111", "5555 5555 5555 4444"]
    if fmt != "csv":
        rows[9]["text"] = None
    source = tmp_path / f"in.{fmt}"
    write_input(source, fmt, rows)
    target = tmp_path / "out"
    report = redact_archive(archive_policy, str(source), str(target), out_fmt=out_fmt, hmac_key=KEY, spark=spark)  # type: ignore[arg-type]
    out = sorted(read_output(target, out_fmt), key=lambda r: int(r["id"]))
    for r in out:
        if r.get("text") == "" and out_fmt == "csv":
            r["text"] = None  # CSV has no null: an empty field
    assert [int(r["id"]) for r in out] == list(range(120))  # nothing lost
    texts = [r["text"] for r in rows]
    present = [t for t in texts if t is not None]
    assert [r.get("text") for r in out if r.get("text") is not None] == expected(archive_policy, present, "analytics")
    assert out[7]["text"] == BLOCKED_TEXT
    assert (report.values, report.blocked) == (len(present), 1)
    assert all(r["channel"] == "chat" for r in out)  # other columns copied
    data = output_bytes(target)
    leaked = [v for v in planted if v.encode() in data or v.replace(" ", "").encode() in data]
    assert leaked == []


def test_a_malformed_record_fails_without_quoting_it(spark: Any, tmp_path: Path, archive_policy: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from safebot.archive.spark import ArchiveError, redact_archive

    source = tmp_path / "bad.jsonl"
    source.write_text('{"id": 1, "text": "fine"}\n{"id": 2, "text": "card 4111 1111 1111 1111\n')
    with pytest.raises(ArchiveError) as info:
        redact_archive(archive_policy, str(source), str(tmp_path / "out"), hmac_key=KEY, spark=spark)
    captured = capfd.readouterr()
    assert "4111" not in str(info.value) and "4111" not in captured.err and "4111" not in captured.out
    assert not (tmp_path / "out" / "_SUCCESS").exists()


def test_usage_errors(spark: Any, tmp_path: Path, archive_policy: Path) -> None:
    from safebot.archive.spark import redact_archive

    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "body": "x"}\n')
    with pytest.raises(ConfigError, match="no column 'text'"):
        redact_archive(archive_policy, str(source), str(tmp_path / "o1"), hmac_key=KEY, spark=spark)
    with pytest.raises(ConfigError, match="format"):
        redact_archive(archive_policy, str(tmp_path / "in.txt"), str(tmp_path / "o2"), spark=spark)


def test_one_redactor_per_worker_process(spark: Any) -> None:
    # runs after the jobs above (same module, same workers): each worker built its redactor once
    pids = spark.trace_file.read_text().split()
    assert pids and len(pids) == len(set(pids)) and len(pids) < 8  # 4 jobs x 2+ tasks each


def test_cli_exit_status_and_summary(spark: Any, tmp_path: Path, archive_policy: Path) -> None:
    # Last in the module: the command stops the session it gets (getOrCreate hands it this one).
    from typer.testing import CliRunner

    from safebot.cli import app

    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "body": "card 4111 1111 1111 1111"}\n{"id": 2, "body": "KABOOM"}\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["redact-archive", "--policy", str(archive_policy), str(source), str(out),
                                      "--column", "body", "--destination", "transcript"])
    assert result.exit_code == 3, result.output
    assert "2 value(s) redacted" in result.stderr and "1 blocked" in result.stderr
    rows = sorted((json.loads(line) for f in out.glob("part-*") for line in f.read_text().splitlines()), key=lambda r: r["id"])
    assert [r["body"] for r in rows] == ["card <CREDIT_CARD_1>", BLOCKED_TEXT]
    again = CliRunner().invoke(app, ["redact-archive", "--policy", str(archive_policy), str(source), str(out)])
    assert again.exit_code != 0 and "already exists" in str(again.exception) + again.output
