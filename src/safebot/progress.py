"""Progress for long commands: drawn on stderr when it is a terminal, nothing at all otherwise.

Commands call these helpers with fixed labels and counts only: a label never carries customer
text, a file's lines or a message (progress is a sink like any other, and a screen is recorded
by screen-sharing tools and terminal logs).

>>> with stages("loading the bot") as stage:           # doctest: +SKIP
...     stage("reading bot.yaml and the policy")
...     stage("loading the models")
>>> for case in track(cases, "policy cases"):          # doctest: +SKIP
...     run(case)
>>> with bar(total_bytes, "lines", unit="bytes") as advance:   # doctest: +SKIP
...     advance(len(line))

When stderr is not a terminal (a pipe, a file, CI), or ``SAFEBOT_PROGRESS=0`` or ``TERM=dumb``,
every helper is a no-op and nothing is written anywhere. Standard output is never drawn on:
JSON lines piped from a command stay exactly what they were.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

__all__ = ["bar", "enabled", "stages", "track"]

T = TypeVar("T")

#: set to 0 to turn progress off even on a terminal (screen recordings, slow links)
PROGRESS_ENV = "SAFEBOT_PROGRESS"


def enabled() -> bool:
    """Whether progress is drawn: stderr is a terminal and nobody turned it off."""
    if os.environ.get(PROGRESS_ENV, "").strip() == "0" or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stream
        return False


def _console() -> Console:
    from rich.console import Console

    # Only built after enabled() said stderr is a terminal, so FORCE_COLOR or TTY_COMPATIBLE
    # in the environment cannot make rich draw into a pipe.
    return Console(file=sys.stderr, force_terminal=True, highlight=False)


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _live_options() -> dict[str, Any]:
    # Lines printed while a bar is drawn go above it, through rich, when they would otherwise
    # land on the same screen; stdout to a pipe is left alone (redirecting it would send the
    # command's output into the terminal's stderr).
    return {"redirect_stdout": _stdout_is_terminal(), "redirect_stderr": True, "transient": True}


def _no_stage(name: str) -> None:
    pass


@contextmanager
def stages(title: str) -> Iterator[Callable[[str], None]]:
    """A spinner for work that goes through named stages (``Bot.load(progress=...)``).

    Yields a callable taking each stage's name; the line shows ``title: stage`` and the time
    spent so far, and is cleared when the block ends.
    """
    if not enabled():
        yield _no_stage
        return
    from rich.live import Live
    from rich.spinner import Spinner
    from rich.text import Text

    started = time.monotonic()
    state = {"stage": "starting"}

    class _Line:
        def __rich__(self) -> Spinner:
            elapsed = time.monotonic() - started
            return Spinner("dots", Text(f"{title}: {state['stage']} ({elapsed:.0f} s)", style="dim"))

    def stage(name: str) -> None:
        state["stage"] = name
        live.refresh()

    with Live(_Line(), console=_console(), refresh_per_second=8, **_live_options()) as live:
        yield stage


@contextmanager
def bar(total: float | None, description: str, *, unit: str = "") -> Iterator[Callable[[float], None]]:
    """A progress bar over ``total`` units (``None``: a counter without an end).

    Yields ``advance(n)``. ``unit="bytes"`` shows transfer sizes (a file read line by line).
    """
    if not enabled():
        yield _no_advance
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    counter = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
    columns = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), counter,
               TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=_console(), **_live_options()) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: float = 1) -> None:
            progress.advance(task, n)

        yield advance


def _no_advance(n: float = 1) -> None:
    pass


def track(items: Iterable[T], description: str, *, total: int | None = None) -> Iterator[T]:
    """``items``, one by one, with a bar advancing after each (``total`` from ``len`` if it has one)."""
    if total is None:
        try:
            total = len(items)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with bar(total, description) as advance:
        for item in items:
            yield item
            advance(1)
