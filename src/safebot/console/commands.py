"""``safebot report`` and the HTML side of ``safebot policy explain|diff`` (registered in
safebot.cli). User errors are one line (``error: ...``, exit 2) like every other command.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safebot.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.policy import Policy

__all__ = ["build_report", "explain_html", "report_command"]


def explain_html(policy: Policy) -> str:
    """The explain page for ``policy``, its worked examples run through a redactor built for it."""
    from safebot.console.examples import worked_examples
    from safebot.console.pages import explain_page

    source = policy.base_dir / Path(getattr(policy, "_source", "") or "policy.yaml").name
    return explain_page(policy, worked_examples(policy), source=str(source))


def build_report(bot_dir: Path, since: str | None, until: str | None, out: Path) -> dict[str, int]:
    """Write the activity report of ``bot_dir``'s store to ``out``; returns its totals.

    Reads the store only (no model is loaded, nothing is written to the store).
    """
    from safebot.console.activity import Period, collect
    from safebot.console.pages import report_page
    from safebot.engine.config import load_bot_config
    from safebot.stores import SqlStore
    from safebot.stores.sql import STATE_DIR
    from safebot.stores.vault import KeyRing

    period = Period.parse(since, until)
    if not (bot_dir / "bot.yaml").is_file():
        raise ConfigError("not a bot directory (no bot.yaml)", path=str(bot_dir))
    config = load_bot_config(bot_dir)
    if config.store.url is None and not (bot_dir / STATE_DIR / "safebot.sqlite3").is_file():
        raise ConfigError("this bot has no store yet (it has never run)", path=str(bot_dir))
    # Counting needs no key: a throw-away key ring, so no key is read or created for a report.
    store = SqlStore.for_bot_dir(bot_dir, url=config.store.url, keyring=KeyRing.generate(), schema=config.store.schema_name)
    try:
        activity = collect(store, period)
    finally:
        store.close()
    html = report_page(activity, bot_name=config.name)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return activity.totals


def report_command(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    out: Annotated[Path, typer.Option("-o", "--output", help="the HTML file to write")],
    since: Annotated[str | None, typer.Option("--since", help="first day, YYYY-MM-DD (UTC)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="last day, YYYY-MM-DD (UTC), inclusive")] = None,
) -> None:
    """An activity report from the store alone (redacted data, counts only) as one HTML file:
    conversations, turns, findings per entity type, blocked messages, reveals, hand-offs,
    notifications and near misses per day, with charts that work offline and print."""
    started = time.perf_counter()
    totals = build_report(bot_dir, since, until, out)
    if sys.stderr.isatty():
        typer.echo(f"wrote {out} ({totals['turns']:,} turns, {totals['findings']:,} findings) "
                   f"in {time.perf_counter() - started:.1f} s", err=True)
