"""``redact-archive`` on Apache Spark: JSONL, CSV or Parquet in, the same format (or another) out,
every named text column redacted with the policy's treatment for one destination.

::

    driver: load the policy (its hash), read IN, one pandas UDF per column, write OUT
    executor Python worker: redactor_for(policy path, hash, key) once, then redact_many per
                            Arrow batch (spark.sql.execution.arrow.maxRecordsPerBatch rows)

Fail closed per value: a value whose detection fails or runs out of time becomes
``<REDACTED_MESSAGE>`` and is counted. A malformed input record fails the job (FAILFAST)
before anything is committed; the error names no record content, and Spark's own logs are
silenced below FATAL (their messages quote records).

Columns not named with ``--column`` are copied as they are: name every free-text column.

>>> report = redact_archive("policy.yaml", "chats.jsonl", "out/")     # doctest: +SKIP
>>> report.values, report.blocked                                      # doctest: +SKIP
(120000, 3)
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from safebot.errors import ConfigError, SafebotError

__all__ = ["FORMATS", "ArchiveError", "ArchiveReport", "redact_archive", "spark_session"]

Format = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "parquet")
_LOG_CONFIG = Path(__file__).with_name("log4j2.properties")


class ArchiveError(SafebotError):
    """The Spark job failed (a malformed record, a lost executor); nothing was committed."""

    code = "archive_failed"


@dataclass
class ArchiveReport:
    values: int
    blocked: int
    partitions: int
    seconds: float
    output: str


def guess_format(path: str) -> Format:
    lower = path.lower().rstrip("/")
    for ext, fmt in ((".jsonl", "jsonl"), (".json", "jsonl"), (".ndjson", "jsonl"), (".csv", "csv"), (".parquet", "parquet")):
        if lower.endswith(ext):
            return fmt  # type: ignore[return-value]
    raise ConfigError("cannot tell the format from the file name: give --format jsonl|csv|parquet", path=path)


def spark_session(master: str = "local[*]", *, batch_rows: int = 1000, extra: dict[str, str] | None = None) -> Any:
    """A SparkSession for redaction: quiet logs, Arrow batches, the driver on loopback in local mode."""
    from pyspark.sql import SparkSession

    local = master.startswith("local")
    if local:
        # Executors in local mode are Python workers forked from this interpreter's environment.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    java_opts = f"-Dlog4j2.configurationFile=file:{_LOG_CONFIG}"
    builder = (
        SparkSession.builder.master(master).appName("safebot-redact-archive")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.executor.extraJavaOptions", java_opts)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(batch_rows))
        .config("spark.python.worker.reuse", "true")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if local:
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    for k, v in (extra or {}).items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("FATAL")
    return spark


def _read(spark: Any, path: str, fmt: Format, multiline: bool) -> Any:
    reader = spark.read.option("mode", "FAILFAST")
    if fmt == "jsonl":
        return reader.option("multiLine", multiline).json(path)
    if fmt == "csv":
        # every column a string; quoted fields may hold newlines (chat messages do)
        return reader.option("header", True).option("multiLine", multiline).option("escape", '"').csv(path)
    return spark.read.parquet(path)


def _write(df: Any, path: str, fmt: Format) -> None:
    writer = df.write.mode("errorifexists")
    if fmt == "jsonl":
        writer.json(path)
    elif fmt == "csv":
        writer.option("header", True).option("escape", '"').csv(path)
    else:
        writer.parquet(path)


def _column_udf(policy_path: str, policy_hash: str, hmac_key: bytes, destination: str, values_acc: Any, blocked_acc: Any) -> Any:
    import pandas as pd
    from pyspark.sql.pandas.functions import pandas_udf
    from pyspark.sql.types import StringType

    def redact(texts: Any) -> Any:  # runs in the executor's Python worker
        from safebot.archive.executor import redact_values, redactor_for

        redactor = redactor_for(policy_path, policy_hash, hmac_key)
        out, n, blocked = redact_values(redactor, texts.tolist(), destination)
        values_acc.add(n)
        blocked_acc.add(blocked)
        return pd.Series(out, dtype=object)

    # Real classes, not the strings `from __future__ import annotations` leaves: Spark reads
    # the hints to know this is a Series-to-Series (scalar) pandas UDF.
    redact.__annotations__ = {"texts": pd.Series, "return": pd.Series}
    return pandas_udf(redact, StringType())  # type: ignore[call-overload]


def redact_archive(
    policy: str | os.PathLike[str],
    source: str,
    target: str,
    *,
    master: str = "local[*]",
    fmt: Format | None = None,
    out_fmt: Format | None = None,
    columns: Sequence[str] = ("text",),
    destination: str = "analytics",
    hmac_key: bytes | None = None,
    multiline: bool | None = None,
    spark: Any = None,
    batch_rows: int = 1000,
) -> ArchiveReport:
    """Redact ``source`` into ``target`` (a directory of part files, as Spark writes them).

    ``hmac_key`` keys the analytics hashes (default ``SAFEBOT_HMAC_KEY``; without it a random key
    for this run, so hashes join within one run only). It travels to the executors in the task
    closure: on a cluster, turn on Spark's RPC encryption (``spark.network.crypto.enabled``).
    """
    from safebot.redaction import DESTINATIONS
    from safebot.redaction.policy import load_policy
    from safebot.redaction.redactor import hmac_key_from_env

    if destination not in DESTINATIONS:
        raise ConfigError(f"unknown destination {destination!r}; expected one of: {', '.join(DESTINATIONS)}")
    fmt = fmt or guess_format(source)
    out_fmt = out_fmt or fmt
    for f in (fmt, out_fmt):
        if f not in FORMATS:
            raise ConfigError(f"unknown format {f!r}; expected jsonl, csv or parquet")
    if not columns:
        raise ConfigError("name at least one --column to redact")
    policy_path = str(Path(policy).resolve())
    policy_hash = load_policy(policy_path).hash  # a bad policy fails here, before Spark starts
    if not source.startswith(("hdfs:", "s3a:", "gs:", "abfss:")) and not Path(source).exists():
        raise ConfigError("input not found", path=source)
    if not target.startswith(("hdfs:", "s3a:", "gs:", "abfss:")) and Path(target).exists():
        raise ConfigError("output already exists (Spark writes a new directory)", path=target)
    if hmac_key is None:
        import secrets

        hmac_key = hmac_key_from_env() or secrets.token_bytes(32)
    own = spark is None
    session = spark_session(master, batch_rows=batch_rows) if own else spark
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    started = time.perf_counter()
    try:
        df = _read(session, source, fmt, fmt == "csv" if multiline is None else multiline)
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ConfigError(f"no column {missing[0]!r} in the input; it has: {', '.join(df.columns)}", path=source)
        parallelism = session.sparkContext.defaultParallelism
        if df.rdd.getNumPartitions() < parallelism:
            # A single unsplittable file (multi-line CSV, one Parquet row group) would use one
            # core: spread its rows (their order is then not kept).
            df = df.repartition(parallelism)
        values_acc = session.sparkContext.accumulator(0)
        blocked_acc = session.sparkContext.accumulator(0)
        udf = _column_udf(policy_path, policy_hash, hmac_key, destination, values_acc, blocked_acc)
        for c in columns:
            df = df.withColumn(c, udf(df[c].cast("string")))
        partitions = df.rdd.getNumPartitions()
        _write(df, target, out_fmt)
    except (Py4JJavaError, PySparkException) as exc:
        # Never the exception's text: Spark's messages quote the records they failed on.
        raise ArchiveError(f"the Spark job failed ({_kind(exc)}); nothing was committed to the output") from None
    finally:
        if own:
            session.stop()
    return ArchiveReport(int(values_acc.value), int(blocked_acc.value), partitions, time.perf_counter() - started, target)


def _kind(exc: BaseException) -> str:
    """A safe name for what failed: the Java exception class, or PySpark's error class."""
    condition = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    if callable(condition):
        try:
            name = condition()
            if name:
                return str(name)
        except Exception:  # noqa: BLE001
            pass
    java = getattr(exc, "java_exception", None)
    if java is not None:
        try:
            return str(java.getClass().getName())
        except Exception:  # noqa: BLE001
            pass
    return type(exc).__name__
