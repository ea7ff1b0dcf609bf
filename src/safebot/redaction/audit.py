"""Audit records: one per finding per destination, per reveal, and per detection failure.

A record never holds the value, the message text or anything derived from them
(no hash either: a hash of a card number can be brute-forced).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Literal

__all__ = ["AuditEvent", "AuditRecord", "AuditSink"]

AuditEvent = Literal[
    "redacted", "revealed", "reveal_denied", "detection_failed",
    # written by safebot.audit, safebot.retention and safebot.erasure (issue 11): ``detail``
    # holds their counts, positions and signatures
    "checkpoint", "retention", "erasure",
    # issue 12: a span scored just below its threshold (type, recognizer, score), and a page of
    # the compliance console served (``detail``: the viewer's key name and id, the filters)
    "near_miss", "console_viewed",
]


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One auditable event. Every field is safe to store and show to an auditor."""

    event: AuditEvent
    policy_hash: str
    entity_type: str | None = None
    recognizer: str | None = None
    score: float | None = None
    destination: str | None = None
    treatment: str | None = None
    conversation_id: str | None = None
    handler: str | None = None
    #: for failures: the exception's type name or 'timeout', never its message
    reason: str | None = None
    time: str = field(default_factory=_now)
    #: counts per data class, positions, hashes and signatures (checkpoint, retention and
    #: erasure records); names and numbers only, checked when stored
    detail: Mapping[str, int | str | None] | None = None

    def to_json(self) -> dict[str, object]:
        return {k: v for k, v in asdict(self).items() if v is not None}


AuditSink = Callable[[AuditRecord], None]
