"""``safebot retention run BOT_DIR`` (registered by safebot.cli)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["retention_app"]

retention_app = typer.Typer(no_args_is_help=True, help="Retention per data class (bot.yaml's retention: block).")


@retention_app.command("run")
def run_command(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    as_json: Annotated[bool, typer.Option("--json", help="the report as one JSON object")] = False,
) -> None:
    """Delete what is older than its class's retention period; the counts (never values) go
    into the audit trail, whose signed anchor moves when audit records are deleted."""
    from safebot.audit.bot import open_bot_store
    from safebot.retention.durations import format_duration
    from safebot.retention.run import run_retention

    with open_bot_store(bot_dir) as bot:
        report = run_retention(bot)
        periods = bot.config.retention
    if as_json:
        sys.stdout.write(json.dumps(report.to_json()) + "\n")
        return
    for name, count in report.deleted.items():
        period = getattr(periods, name)
        typer.echo(f"{name}: {count} deleted (older than {format_duration(period)})")
    for name, why in report.skipped.items():
        typer.echo(f"{name}: {why}")
    if report.anchor is not None:
        typer.echo(f"audit chain now starts after position {report.anchor} (signed anchor)")
    typer.echo(f"recorded in the audit trail at position {report.audit_position}")
