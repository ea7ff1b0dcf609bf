"""``safebot notify`` and ``safebot worker`` (registered in safebot.cli).

::

    safebot notify BOT_DIR --template T --recipients FILE.csv [--param name=value] [--key K]
    safebot notify templates BOT_DIR [--json]
    safebot notify status BOT_DIR [--json]
    safebot notify evidence BOT_DIR --address +16505550123
    safebot notify consent BOT_DIR --recipients FILE.csv --purpose P --method M [--version V]
    safebot worker BOT_DIR

The recipients file is CSV with a header: ``whatsapp`` (the number, country code first),
optionally ``customer_id`` and ``key`` (the row's own idempotency key), and one column per
template parameter (``--param`` gives parameters shared by every row). User errors are one
line (``error: ...``, exit 2); a rejected row is reported by its number and reason, never
its content.
"""

from __future__ import annotations

import csv
import hashlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot
    from safebot.notify.outbox import Recipient
    from safebot.notify.service import Notifier

__all__ = ["notify_app", "worker_command"]

_SUBCOMMANDS = ("send", "templates", "status", "evidence", "consent")
_ADDRESS_COLUMNS = ("whatsapp", "phone", "wa_id", "address")


class _DefaultSend(TyperGroup):
    """``safebot notify BOT_DIR ...`` means ``safebot notify send BOT_DIR ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in _SUBCOMMANDS and args[0] not in ("--help", "-h"):
            args = ["send", *args]
        return super().parse_args(ctx, args)


notify_app = typer.Typer(cls=_DefaultSend, no_args_is_help=True,
                         help="Notifications: mass sends, templates, delivery status, consent evidence.")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _bot(bot_dir: Path) -> Bot:
    from safebot.engine import Bot

    if not (bot_dir / "bot.yaml").is_file():
        _fail(f"{bot_dir}: not a bot directory (no bot.yaml)")
    return Bot.load(bot_dir, exporters=False)


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        _fail(f"{path}: cannot read the recipients file ({type(exc).__name__})")
    with fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            _fail(f"{path}: the recipients file is empty (it needs a header row)")
        for n, row in enumerate(reader, start=2):
            yield n, {str(k).strip(): (v or "").strip() for k, v in row.items() if k is not None}


def _recipients(path: Path) -> tuple[list[Recipient], list[int]]:
    from safebot.notify.outbox import Recipient

    out: list[Recipient] = []
    lines: list[int] = []
    column: str | None = None
    for n, row in _rows(path):
        if column is None:
            column = next((c for c in _ADDRESS_COLUMNS if c in row), None)
            if column is None:
                _fail(f"{path}: no recipient column (one of: {', '.join(_ADDRESS_COLUMNS)})")
        params = {k: v for k, v in row.items() if k not in (column, "customer_id", "key") and v != ""}
        out.append(Recipient(row[column], customer_id=row.get("customer_id") or None, params=params,
                             key=row.get("key") or None))
        lines.append(n)
    return out, lines


def _params(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            _fail("--param takes name=value")
        out[name.strip()] = value
    return out


@notify_app.command("send")
def send(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    template: Annotated[str, typer.Option("--template", "-t", help="template name in notifications.yaml")],
    recipients: Annotated[Path, typer.Option("--recipients", "-r", help="CSV: whatsapp[,customer_id][,key][,<parameter>...]")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="a parameter for every row: name=value")] = None,
    key: Annotated[str | None, typer.Option("--key", help="idempotency key (default: the file's and template's hash)")] = None,
    wait: Annotated[float, typer.Option("--wait", help="seconds to wait for the sends (0: queue only)")] = 600.0,
) -> None:
    """Queue a template to every recipient in a CSV file (a mass send), then send it."""
    import time

    if not recipients.is_file():
        _fail(f"{recipients}: no such file")
    shared = _params(param or [])
    key = key or f"csv:{template}:{hashlib.sha256(recipients.read_bytes()).hexdigest()}:" + json.dumps(shared, sort_keys=True)
    bot = _bot(bot_dir)
    from safebot.notify import close_notifier, notifier_for

    try:
        notifier = notifier_for(bot)
        notifier.catalog.get(template)
        started = time.perf_counter()  # from reading the file to the last id handed to the broker
        people, lines = _recipients(recipients)
        with _progress(len(people), "queueing") as advance:
            result = notifier.enqueue(template, people, idempotency_key=key, params=shared, requested_by="cli",
                                      on_progress=advance)
        took = time.perf_counter() - started
        for n, reason in result.rejected[:5]:
            typer.echo(f"rejected: row {lines[n - 1]}: {reason}", err=True)
        if len(result.rejected) > 5:
            typer.echo(f"rejected: {len(result.rejected) - 5} more rows", err=True)
        if result.duplicate:
            typer.echo(f"{result.notification_id}: this file was already queued with this key; nothing new was queued",
                       err=True)
        else:
            typer.echo(f"{result.notification_id}: queued {len(result.delivery_ids)} in {took:.1f} s"
                       + (f" ({result.repeated} repeated rows sent once)" if result.repeated else ""), err=True)
        counts = _send_or_wait(notifier, result.notification_id, wait)
        _summary(counts, len(result.rejected))
    finally:
        close_notifier(bot)
        bot.close()


def _send_or_wait(notifier: Notifier, notification_id: str, wait: float) -> dict[str, int]:
    import time

    total = sum(notifier.outbox.counts(notification_id).values())
    if wait <= 0:
        return notifier.outbox.counts(notification_id)
    if notifier.broker() is None:
        try:
            notifier.sender()
        except Exception as exc:  # noqa: BLE001 - no channel configured: queued, sent later by `safebot worker`
            typer.echo(f"not sending now ({exc}); `safebot worker` sends them once it can", err=True)
            return notifier.outbox.counts(notification_id)
        with _progress(total, "sending") as advance:
            seen = [0]

            def progress(counts: dict[str, int]) -> None:
                finished = total - counts.get("queued", 0) - counts.get("sending", 0)
                advance(finished - seen[0])
                seen[0] = finished

            return notifier.drain(notification_id=notification_id, timeout=wait, on_progress=progress)
    deadline = time.monotonic() + wait
    with _progress(total, "sending (workers)") as advance:
        done = 0
        while time.monotonic() < deadline:
            counts = notifier.outbox.counts(notification_id)
            finished = total - counts.get("queued", 0) - counts.get("sending", 0)
            advance(finished - done)
            done = finished
            if finished >= total:
                break
            time.sleep(0.5)
    return notifier.outbox.counts(notification_id)


def _summary(counts: dict[str, int], rejected: int) -> None:
    sent = sum(counts.get(s, 0) for s in ("sent", "delivered", "read"))
    typer.echo(f"queued {counts.get('queued', 0) + counts.get('sending', 0)}, sent {sent}, "
               f"suppressed {counts.get('suppressed', 0)}, failed {counts.get('failed', 0)}, "
               f"expired {counts.get('expired', 0)}, rejected {rejected}")


class _progress:
    """A rich progress bar on a terminal; nothing when piped."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label = total, label
        self._bar: Any = None

    def __enter__(self) -> Any:
        if sys.stderr.isatty() and self.total:
            from rich.progress import Progress

            self._bar = Progress(transient=True)
            self._bar.start()
            task = self._bar.add_task(self.label, total=self.total)
            return lambda n: self._bar.advance(task, n)
        return lambda n: None

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()


@notify_app.command("templates")
def templates(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text")] = False,
) -> None:
    """Every template with its category, purpose, lawful basis and what each parameter may carry."""
    from safebot.engine.config import load_bot_config
    from safebot.notify.templates import load_templates
    from safebot.redaction.policy import load_policy

    if not (bot_dir / "bot.yaml").is_file():
        _fail(f"{bot_dir}: not a bot directory (no bot.yaml)")
    config = load_bot_config(bot_dir)
    catalog = load_templates(bot_dir / config.notifications.templates, load_policy(bot_dir / config.policy))
    described = catalog.describe()
    if as_json:
        typer.echo(json.dumps(described, indent=2, ensure_ascii=False))
        return
    if not described:
        typer.echo(f"no templates ({bot_dir / config.notifications.templates})")
    for t in described:
        typer.echo(f"{t['name']} ({t['language']}): {t['category']}, purpose {t['purpose']}, "
                   f"lawful basis {t['lawful_basis']}" + (f", expires after {t['ttl_seconds']} s" if t["ttl_seconds"] else ""))
        typer.echo(f"  body: {t['body']}")
        for name, p in t["parameters"].items():
            typer.echo(f"  {{{{{name}}}}}: {p['type']}, at most {p['max_length']} characters, sent {p['sent_as']}")
        if t["buttons"]:
            typer.echo(f"  quick replies: {' | '.join(t['buttons'])}")


@notify_app.command("status")
def status(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of text")] = False,
) -> None:
    """Deliveries by state, what is stuck and why, and the broker's queues."""
    bot = _bot(bot_dir)
    from safebot.notify import close_notifier, notifier_for

    try:
        report = notifier_for(bot).status()
    finally:
        close_notifier(bot)
        bot.close()
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    states = report["states"]
    typer.echo("deliveries: " + (", ".join(f"{k} {v}" for k, v in sorted(states.items())) or "none"))
    typer.echo(f"stuck: {report['stuck_sending']} sending with a lapsed lease (reconciled by `safebot worker`), "
               f"{report['waiting_retry']} waiting to be retried, {report['unpublished']} never published, "
               f"{report['queued_not_picked_up']} published but not picked up")
    for e in report["errors"]:
        typer.echo(f"  {e['count']} {e['state']}: {e['title']}" + (f" (code {e['code']})" if e["code"] else ""))
    broker = report["broker"]
    if broker is None:
        typer.echo("broker: none (the outbox is drained in-process)")
    elif "error" in broker:
        typer.echo(f"broker: {broker['error']}")
    else:
        typer.echo(f"broker: {broker['queued']} messages queued, {broker['delayed']} delayed, "
                   f"{broker['dead_letter']} dead-lettered")


@notify_app.command("evidence")
def evidence(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    address: Annotated[str, typer.Option("--address", help="the customer's WhatsApp number")],
) -> None:
    """The customer's consents, suppressions and deliveries (sent, delivered, read) as JSON."""
    bot = _bot(bot_dir)
    from safebot.notify import close_notifier, notifier_for

    try:
        report = notifier_for(bot).evidence(address)
    except ValueError as exc:
        _fail(str(exc))
    finally:
        close_notifier(bot)
        bot.close()
    typer.echo(json.dumps(report, indent=2, default=str, ensure_ascii=False))


@notify_app.command("consent")
def consent(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    recipients: Annotated[Path, typer.Option("--recipients", "-r", help="CSV with a whatsapp column")],
    purpose: Annotated[str, typer.Option("--purpose", help="the purpose agreed to (notifications.yaml)")],
    method: Annotated[str, typer.Option("--method", help="how it was captured: web_form, app, branch, ivr, import")],
    version: Annotated[str | None, typer.Option("--version", help="the version of the wording the customers saw")] = None,
    basis: Annotated[str, typer.Option("--basis", help="lawful basis (default consent)")] = "consent",
) -> None:
    """Import consent records (one per row) with how and under which wording they were given."""
    bot = _bot(bot_dir)
    from safebot.notify import close_notifier, notifier_for

    done = bad = 0
    try:
        notifier = notifier_for(bot)
        people, _ = _recipients(recipients)
        for r in people:
            try:
                notifier.grant_consent(r.address, purpose, method=method, lawful_basis=basis, shown_version=version)
                done += 1
            except ValueError:
                bad += 1
    finally:
        close_notifier(bot)
        bot.close()
    typer.echo(f"recorded {done} consents, rejected {bad} rows")


def worker_command(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    threads: Annotated[int | None, typer.Option("--threads", help="worker threads (default: notifications.worker_threads)")] = None,
) -> None:
    """Send the bot's notifications (Dramatiq on RabbitMQ when bot.yaml names a broker) until stopped."""
    from safebot.notify.service import Notifier, worker_env
    from safebot.notify.worker import run_worker
    from safebot.serve.server import configure_logging

    if not (bot_dir / "bot.yaml").is_file():
        _fail(f"{bot_dir}: not a bot directory (no bot.yaml)")
    # No models: a worker never sees customer text (parameters were rendered when queued), and
    # its log lines hold counts and error types only.
    configure_logging(None)
    env = worker_env(bot_dir)
    notifier = Notifier(env)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo(f"{env.config.name}: notification worker running; Ctrl-C or SIGTERM stops it", err=True)
    try:
        run_worker(notifier, stop, threads=threads)
    finally:
        notifier.close()
        env.store.close()
