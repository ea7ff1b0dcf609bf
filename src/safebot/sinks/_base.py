"""The check every sink runs first: a redacted event, rendered for this sink's destination."""

from __future__ import annotations

from safebot.events import RedactedEvent, ensure_redacted

__all__ = ["checked"]


def checked(event: object, destination: str) -> RedactedEvent:
    """``event`` as a RedactedEvent for ``destination``; TypeError otherwise.

    >>> checked("my card is 4111 1111 1111 1111", "transcript")
    Traceback (most recent call last):
    ...
    TypeError: sinks accept RedactedEvent only, got str
    """
    ev = ensure_redacted(event)
    if ev.destination != destination:
        # A transcript rendering sent to analytics would carry placeholders meant for the
        # vault, not keyed hashes; a mismatch is a wiring bug, never something to fix up.
        raise TypeError(f"sink for {destination!r} got an event rendered for {ev.destination!r}")
    return ev
