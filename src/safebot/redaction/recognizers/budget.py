"""The detection time budget, enforced while patterns run.

A detection sets a deadline (a ``time.perf_counter()`` value) for the current context with
:func:`deadline`; every pattern is a :class:`Rx`, a ``regex`` pattern whose searches get the
time that is left as their ``timeout``. When the time is up, the search stops and
:class:`~safebot.errors.RedactionTimeout` is raised: never ``TimeoutError``, which Presidio's
``PatternRecognizer`` catches and skips (it would send the text on unredacted). Outside a
detection (no deadline) a pattern runs without a timeout, at the speed of a plain pattern.

>>> import time
>>> slow = compile_rx(r"(a|aa)+$")
>>> with deadline(time.perf_counter() + 0.05):
...     slow.search("a" * 40 + "!")
Traceback (most recent call last):
...
safebot.errors.RedactionTimeout: detection exceeded its time budget
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import regex

from safebot.errors import RedactionTimeout

__all__ = ["Rx", "check", "compile_rx", "deadline", "remaining"]

_DEADLINE: ContextVar[float | None] = ContextVar("safebot_detection_deadline", default=None)


@contextmanager
def deadline(at: float | None) -> Iterator[None]:
    """Run the block under a deadline (``time.perf_counter()`` value; None: no limit).

    An enclosing deadline that is earlier stays in force.
    """
    outer = _DEADLINE.get()
    if at is None or (outer is not None and outer < at):
        at = outer
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def remaining() -> float | None:
    """Seconds left before the current deadline (None: no deadline). Raises when it has passed."""
    at = _DEADLINE.get()
    if at is None:
        return None
    left = at - time.perf_counter()
    if left <= 0:
        raise RedactionTimeout()
    return left


def check() -> None:
    """Raise :class:`RedactionTimeout` if the current deadline has passed."""
    at = _DEADLINE.get()
    if at is not None and time.perf_counter() >= at:
        raise RedactionTimeout()


class Rx:
    """A compiled ``regex`` pattern whose every search is bounded by the current deadline.

    It has the methods of a compiled pattern that recognizers use (``search``, ``match``,
    ``fullmatch``, ``finditer``, ``findall``, ``sub``, ``split``) and can stand in for
    ``Pattern.compiled_regex`` inside Presidio's ``PatternRecognizer`` (which passes its own
    ``timeout``; the shorter one wins).
    """

    __slots__ = ("_p", "_splitter", "flags", "groupindex", "pattern")

    def __init__(self, compiled: Any) -> None:
        self._p = compiled
        self._splitter: Any = None
        self.pattern: str = compiled.pattern
        self.flags: int = compiled.flags
        self.groupindex: dict[str, int] = dict(compiled.groupindex)

    def __repr__(self) -> str:
        return f"Rx({self.pattern!r})"

    @staticmethod
    def _timeout(given: float | None) -> float | None:
        left = remaining()
        if left is not None:
            # The engine looks at the clock only now and then, and later still on a busy host
            # (about twice the timeout at a load of 3 per core): half of what is left keeps a
            # runaway search inside the budget. No sane search takes half a budget.
            left = max(left / 2, 0.001)
        if given is None:
            return left
        return given if left is None else min(left, given)

    def search(self, string: str, pos: int | None = None, endpos: int | None = None, **kw: Any) -> Any:
        try:
            return self._p.search(string, pos, endpos, timeout=self._timeout(kw.pop("timeout", None)), **kw)
        except TimeoutError:
            raise RedactionTimeout() from None

    def match(self, string: str, pos: int | None = None, endpos: int | None = None, **kw: Any) -> Any:
        try:
            return self._p.match(string, pos, endpos, timeout=self._timeout(kw.pop("timeout", None)), **kw)
        except TimeoutError:
            raise RedactionTimeout() from None

    def fullmatch(self, string: str, pos: int | None = None, endpos: int | None = None, **kw: Any) -> Any:
        try:
            return self._p.fullmatch(string, pos, endpos, timeout=self._timeout(kw.pop("timeout", None)), **kw)
        except TimeoutError:
            raise RedactionTimeout() from None

    def finditer(self, string: str, pos: int | None = None, endpos: int | None = None, **kw: Any) -> Iterator[Any]:
        it = self._p.finditer(string, pos, endpos, timeout=self._timeout(kw.pop("timeout", None)), **kw)
        return _Guarded(it)

    def findall(self, string: str, pos: int | None = None, endpos: int | None = None, **kw: Any) -> list[Any]:
        try:
            return list(self._p.findall(string, pos, endpos, timeout=self._timeout(kw.pop("timeout", None)), **kw))
        except TimeoutError:
            raise RedactionTimeout() from None

    def sub(self, repl: Any, string: str, count: int = 0, **kw: Any) -> str:
        try:
            return str(self._p.sub(repl, string, count, timeout=self._timeout(kw.pop("timeout", None)), **kw))
        except TimeoutError:
            raise RedactionTimeout() from None

    def split(self, string: str, maxsplit: int = 0, **kw: Any) -> list[Any]:
        try:
            return list(self._p.split(string, maxsplit, timeout=self._timeout(kw.pop("timeout", None)), **kw))
        except TimeoutError:
            raise RedactionTimeout() from None


    def spans(self, string: str) -> list[tuple[int, int, str]]:
        """``(start, end, text)`` of every match, in one call: the engine's timeout costs a few
        microseconds per call, so a tokenizer that would match every word of a message uses
        this rather than :meth:`finditer`. The pattern must not have capturing groups."""
        if self._splitter is None:
            self._splitter = regex.compile(f"({self.pattern})", self.flags)
        try:
            parts = self._splitter.split(string, timeout=self._timeout(None))
        except TimeoutError:
            raise RedactionTimeout() from None
        out = []
        pos = 0
        for i, part in enumerate(parts):
            if i % 2:
                out.append((pos, pos + len(part), part))
            pos += len(part)
        return out


class _Guarded:
    """An iterator of matches that turns the engine's ``TimeoutError`` into RedactionTimeout."""

    __slots__ = ("_it",)

    def __init__(self, it: Iterator[Any]) -> None:
        self._it = it

    def __iter__(self) -> _Guarded:
        return self

    def __next__(self) -> Any:
        try:
            return next(self._it)
        except TimeoutError:
            raise RedactionTimeout() from None


def compile_rx(pattern: str, flags: int = 0) -> Rx:
    """Compile ``pattern`` with the ``regex`` package (V0 syntax, compatible with ``re``)."""
    return Rx(regex.compile(pattern, flags))


IGNORECASE = regex.IGNORECASE
MULTILINE = regex.MULTILINE
DOTALL = regex.DOTALL
