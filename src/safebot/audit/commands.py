"""``safebot audit verify|export|checkpoint|public-key BOT_DIR`` (registered by safebot.cli)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["audit_app"]

audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit trail: verify, export, sign.")

BotDir = Annotated[Path, typer.Argument(help="bot directory")]


@audit_app.command("verify")
def verify_command(
    bot_dir: BotDir,
    public_key: Annotated[str | None, typer.Option("--public-key", help="check signatures with this Ed25519 public key (hex) instead of the bot's audit key")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="the report as one JSON object")] = False,
    workers: Annotated[int, typer.Option("--workers", help="processes walking ranges of a long chain (helps on idle cores only)")] = 1,
) -> None:
    """Walk the audit chain; report every deleted, altered, inserted or reordered record by
    position, and every bad signature. Exit status 1 if anything is wrong."""
    from safebot.audit.bot import open_bot_store
    from safebot.audit.signing import AuditVerifier
    from safebot.audit.verify import verify_chain

    verifier = AuditVerifier.from_hex(public_key) if public_key else None
    with open_bot_store(bot_dir, keys=verifier is None) as bot:
        if verifier is None:
            assert bot.signer is not None
            verifier = bot.signer.verifier
        progress = None
        if sys.stderr.isatty() and not as_json:
            def progress(n: int) -> None:
                typer.echo(f"\r{n:,} records checked", err=True, nl=False)
        report = verify_chain(bot.store, verifier, progress=progress, workers=max(1, workers))
        if progress is not None:
            typer.echo("", err=True)
    if as_json:
        sys.stdout.write(json.dumps(report.to_json()) + "\n")
    else:
        for problem in report.problems:
            typer.echo(str(problem))
        if report.more_problems:
            typer.echo(f"... and {report.more_problems} more problem(s)")
        typer.echo(report.summary())
        if report.ok and report.unsigned_tail:
            typer.echo(f"note: the last {report.unsigned_tail} record(s) are chained but not yet signed "
                       "(safebot audit checkpoint signs them)")
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def export_command(
    bot_dir: BotDir,
    since: Annotated[str | None, typer.Option("--since", help="from this date or ISO time (UTC if no offset)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="up to (not including) this date or time")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl (the only format)")] = "jsonl",
    out: Annotated[Path | None, typer.Option("-o", "--output", help="write to a file instead of stdout")] = None,
) -> None:
    """Audit records as JSON lines for a regulator: position, hashes and fields; never a value."""
    from safebot.audit.bot import open_bot_store
    from safebot.audit.export import export_records, parse_time

    if fmt != "jsonl":
        typer.echo(f"error: unknown --format {fmt!r}; expected jsonl", err=True)
        raise typer.Exit(2)
    lo = parse_time(since, "--since") if since else None
    hi = parse_time(until, "--until") if until else None
    with open_bot_store(bot_dir, keys=False) as bot:
        if out is None:
            count = export_records(bot.store, sys.stdout, since=lo, until=hi)
        else:
            with out.open("w", encoding="utf-8") as fh:
                count = export_records(bot.store, fh, since=lo, until=hi)
    typer.echo(f"{count} record(s) exported", err=True)


@audit_app.command("checkpoint")
def checkpoint_command(bot_dir: BotDir) -> None:
    """Sign the chain as it is now (a checkpoint record, with the bot's audit key)."""
    from safebot.audit.bot import open_bot_store
    from safebot.audit.chain import write_checkpoint

    with open_bot_store(bot_dir) as bot:
        assert bot.signer is not None
        covered = write_checkpoint(bot.store, bot.signer)
    typer.echo(f"signed through position {covered}")


@audit_app.command("public-key")
def public_key_command(bot_dir: BotDir) -> None:
    """The Ed25519 public key (hex) that checks this bot's checkpoints and erasure receipts."""
    from safebot.audit.bot import bot_keys
    from safebot.audit.signing import AuditSigner
    from safebot.engine.config import load_bot_config
    from safebot.errors import ConfigError

    if not (bot_dir / "bot.yaml").is_file():
        raise ConfigError("not a bot directory (no bot.yaml)", path=str(bot_dir))
    signer = AuditSigner(bot_keys(bot_dir, load_bot_config(bot_dir)).key("audit"))
    typer.echo(signer.verifier.public_key_hex)
