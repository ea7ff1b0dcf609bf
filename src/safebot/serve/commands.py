"""``safebot serve`` and ``safebot keys create|list|revoke`` (registered in safebot.cli).

User errors are one line (``error: ...``, exit 2) like every other command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:  # pragma: no cover
    from safebot.stores import SqlStore

__all__ = ["keys_app", "serve_command"]

keys_app = typer.Typer(no_args_is_help=True, help="API keys for `safebot serve` (shown once, stored hashed).")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _store(bot_dir: Path) -> SqlStore:
    """The bot's store, without loading models (keys do not need them)."""
    from safebot.engine.config import load_bot_config
    from safebot.serve import auth  # noqa: F401 - registers the serving tables before create_all
    from safebot.stores import SqlStore

    if not (bot_dir / "bot.yaml").is_file():
        _fail(f"{bot_dir}: not a bot directory (no bot.yaml)")
    config = load_bot_config(bot_dir)
    # The schema too: on PostgreSQL the keys must land where `safebot serve` looks for them.
    return SqlStore.for_bot_dir(bot_dir, url=config.store.url, schema=config.store.schema_name)


def serve_command(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    host: Annotated[str | None, typer.Option("--host", help="interface to bind (default 127.0.0.1: put a TLS proxy in front)")] = None,
    port: Annotated[int | None, typer.Option("--port", help="port (default 8000)")] = None,
) -> None:
    """Serve the REST chat API (/v1), the WhatsApp webhook, /health, /ready and /metrics."""
    from safebot.serve.server import bind, configure_logging, serve
    from safebot.serve.settings import ServeSettings

    if not (bot_dir / "bot.yaml").is_file():
        _fail(f"{bot_dir}: not a bot directory (no bot.yaml)")
    settings = ServeSettings.from_env(host=host, port=port)
    sock = bind(settings.host, settings.port)  # before loading anything: a port in use fails at once
    from safebot.engine import Bot

    bot = Bot.load(bot_dir)
    configure_logging(bot.redactor)
    where = f"http://{settings.host}:{sock.getsockname()[1]}"
    typer.echo(f"{bot.config.name}: starting on {where} (REST /v1, WhatsApp /webhooks/whatsapp, "
               f"/health, /ready, /metrics); Ctrl-C or SIGTERM stops it", err=True)
    try:
        serve(bot, settings, sock=sock)
    finally:
        bot.close()


@keys_app.command("create")
def keys_create(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    name: Annotated[str, typer.Option("--name", help="a unique name (who uses the key)")],
    role: Annotated[str, typer.Option("--role", help="customer (the /v1 API), compliance (the console) or metrics")] = "customer",
) -> None:
    """Create a key. It is printed once on stdout; only its hash is stored."""
    from safebot.serve.auth import create_key

    store = _store(bot_dir)
    try:
        info, key = create_key(store, name, role)
    finally:
        store.close()
    sys.stdout.write(key.reveal() + "\n")
    typer.echo(f"created key {info.name!r} (id {info.id}, role {info.role}); it is shown only now: "
               "keep it in your secret store", err=True)


@keys_app.command("list")
def keys_list(bot_dir: Annotated[Path, typer.Argument(help="bot directory")]) -> None:
    """List keys (never their secrets)."""
    from safebot.serve.auth import list_keys

    store = _store(bot_dir)
    try:
        keys = list_keys(store)
    finally:
        store.close()
    if not keys:
        typer.echo("no keys; create one with: safebot keys create BOT_DIR --name NAME", err=True)
        return
    sys.stdout.write(f"{'ID':<18} {'NAME':<24} {'ROLE':<11} {'CREATED':<33} STATUS\n")
    for k in keys:
        status = "active" if k.active else f"revoked {k.revoked_at}"
        sys.stdout.write(f"{k.id:<18} {k.name:<24} {k.role:<11} {k.created_at:<33} {status}\n")


@keys_app.command("revoke")
def keys_revoke(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    name_or_id: Annotated[str, typer.Argument(help="the key's name or id")],
) -> None:
    """Revoke a key: it is refused (401) from the next request on."""
    from safebot.serve.auth import revoke_key

    store = _store(bot_dir)
    try:
        info = revoke_key(store, name_or_id)
    finally:
        store.close()
    typer.echo(f"revoked key {info.name!r} (id {info.id})", err=True)
