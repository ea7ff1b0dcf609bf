"""``safebot forget BOT_DIR CUSTOMER_ID`` and ``safebot forget --verify-receipt FILE BOT_DIR``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["forget_command"]


def forget_command(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    customer_id: Annotated[str | None, typer.Argument(help="the organisation's customer id (as handlers link it)")] = None,
    verify_receipt_file: Annotated[Path | None, typer.Option("--verify-receipt", help="check a receipt instead of erasing")] = None,
    public_key: Annotated[str | None, typer.Option("--public-key", help="with --verify-receipt: the bot's audit public key (hex), instead of reading the bot's key")] = None,
    out: Annotated[Path | None, typer.Option("-o", "--output", help="also write the receipt to this file")] = None,
) -> None:
    """Crypto-shred a customer: their conversations' data keys, contact details and consent
    records (the fact and date of erasure stay); prints a receipt signed with the audit key.

    With --verify-receipt FILE, checks a receipt against the bot's audit key: exit 0 if genuine.
    """
    from safebot.audit.bot import bot_keys, open_bot_store
    from safebot.audit.signing import AuditSigner, AuditVerifier
    from safebot.engine.config import load_bot_config
    from safebot.erasure import forget_customer, load_receipt, verify_receipt

    if verify_receipt_file is not None:
        if customer_id is not None:
            typer.echo("error: give either CUSTOMER_ID or --verify-receipt, not both", err=True)
            raise typer.Exit(2)
        receipt = load_receipt(verify_receipt_file)
        if public_key:
            verifier = AuditVerifier.from_hex(public_key)
        else:
            verifier = AuditSigner(bot_keys(bot_dir, load_bot_config(bot_dir)).key("audit")).verifier
        problems = verify_receipt(receipt, verifier)
        for problem in problems:
            typer.echo(f"invalid: {problem}")
        if problems:
            raise typer.Exit(1)
        typer.echo(f"valid: erasure of {receipt.get('customer')} at {receipt.get('erased_at')}, "
                   f"audit record {receipt.get('audit_position')}")
        return
    if customer_id is None:
        typer.echo("error: missing CUSTOMER_ID (or --verify-receipt FILE)", err=True)
        raise typer.Exit(2)
    with open_bot_store(bot_dir) as bot:
        receipt = forget_customer(bot, customer_id)
    text = json.dumps(receipt, indent=2, sort_keys=True)
    sys.stdout.write(text + "\n")
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    if not receipt["conversations"]:
        typer.echo("note: nothing was stored for this customer; the receipt records the request", err=True)
