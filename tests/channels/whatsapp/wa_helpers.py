"""Small helpers for the WhatsApp tests: fresh senders, Meta-shaped wamids, waiting for what
the fake Graph API received."""

from __future__ import annotations

import itertools
import time
from typing import Any

from serve_harness import Served

from safebot.channels.whatsapp.testing import meta_wamid

_numbers = itertools.count(1)


def new_sender() -> str:
    """A WhatsApp id (a phone number, as Meta sends it: digits only) nobody used yet."""
    return f"1650{time.time_ns() % 1000:03d}{next(_numbers):04d}"


def wamid(sender: str) -> str:
    return meta_wamid(sender)


def sent_to(wa: Served, sender: str) -> list[Any]:
    return [r for r in wa.graph.sent if (r.json or {}).get("to") == sender]


def requests_to(wa: Served, sender: str) -> list[Any]:
    return [r for r in wa.graph.requests if (r.json or {}).get("to") == sender]


def wait_sent(wa: Served, sender: str, count: int, timeout: float = 30.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = sent_to(wa, sender)
        if len(got) >= count:
            return got
        time.sleep(0.02)
    raise AssertionError(f"{len(sent_to(wa, sender))} replies reached the fake Graph API, expected {count}")


def settle(wa: Served, sender: str, count: int, quiet: float = 0.6) -> list[Any]:
    """Exactly ``count`` replies, and no more arrive for ``quiet`` seconds."""
    got = wait_sent(wa, sender, count)
    time.sleep(quiet)
    again = sent_to(wa, sender)
    assert len(again) == count, f"{len(again)} replies, expected exactly {count}"
    return got


def body_of(request: Any) -> Any:
    """The message part of a Graph request (without messaging_product / recipient)."""
    j = dict(request.json)
    for k in ("messaging_product", "recipient_type", "to"):
        j.pop(k, None)
    return j
