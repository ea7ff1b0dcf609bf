"""``safebot redact-archive --policy FILE IN OUT`` (registered by safebot.cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["redact_archive_command"]


def redact_archive_command(
    source: Annotated[str, typer.Argument(metavar="IN", help="input file or directory (JSONL, CSV or Parquet)")],
    target: Annotated[str, typer.Argument(metavar="OUT", help="output directory (must not exist)")],
    policy: Annotated[Path, typer.Option("--policy", help="policy YAML file")],
    master: Annotated[str, typer.Option("--master", help="Spark master URL (default: local mode, every core)")] = "local[*]",
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl, csv or parquet (default: from IN's name)")] = None,
    out_fmt: Annotated[str | None, typer.Option("--output-format", help="default: the input format")] = None,
    column: Annotated[list[str] | None, typer.Option("--column", help="a text column to redact (repeat for several; default: text)")] = None,
    destination: Annotated[str, typer.Option("--destination", "-d", help="whose treatment applies (default: analytics)")] = "analytics",
    multiline: Annotated[bool | None, typer.Option("--multiline/--no-multiline", help="records span lines (default: on for CSV)")] = None,
) -> None:
    """Redact an archive on Apache Spark with the same policy and redactor as the bot.

    Every named column is redacted for the destination; other columns are copied unchanged.
    A value whose detection fails is written as <REDACTED_MESSAGE> and counted (exit status 3).
    """
    from safebot.archive.spark import FORMATS, redact_archive

    for name, value in (("--format", fmt), ("--output-format", out_fmt)):
        if value is not None and value not in FORMATS:
            typer.echo(f"error: {name} must be jsonl, csv or parquet, not {value!r}", err=True)
            raise typer.Exit(2)
    report = redact_archive(
        policy, source, target, master=master, fmt=fmt, out_fmt=out_fmt,  # type: ignore[arg-type]
        columns=tuple(column or ("text",)), destination=destination, multiline=multiline,
    )
    typer.echo(f"{report.values} value(s) redacted into {report.output} in {report.seconds:.1f}s "
               f"({report.partitions} partition(s)); {report.blocked} blocked", err=True)
    if report.blocked:
        raise typer.Exit(3)
