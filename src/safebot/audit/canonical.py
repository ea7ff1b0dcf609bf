"""The canonical form of an audit record and the chain hash over it.

A record's hash covers every stored field, its position and the hash of the record before::

    hash[n] = SHA-256( LABEL || hash[n-1] (64 hex chars) || canonical(record n) )
    canonical = compact JSON array, in this order:
        [seq, event, policy_hash, entity_type, recognizer, score, destination, treatment,
         conversation_id, handler, reason, time, detail]

``score`` is a JSON number (a float, so 1 and 1.0 hash alike), ``detail`` is the JSON text as
stored (sorted keys, no spaces) or null, the first record's predecessor is 64 zeros. The form
is documented so that a regulator can re-check an export with any SHA-256 tool.

>>> h = record_hash(GENESIS, (1, "redacted", "p", "CREDIT_CARD", "r", 0.9, "transcript",
...                           "placeholder", "c-1", None, None, "2025-01-01T00:00:00.000+00:00", None))
>>> len(h)
64
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["CHAIN_FIELDS", "GENESIS", "check_detail", "detail_text", "record_hash", "record_values"]

#: the record's fields in the order the canonical form lists them (``seq`` is the position)
CHAIN_FIELDS = (
    "seq", "event", "policy_hash", "entity_type", "recognizer", "score", "destination", "treatment",
    "conversation_id", "handler", "reason", "time", "detail",
)
GENESIS = "0" * 64
_LABEL = b"safebot/audit-chain/v1\x00"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# detail holds counts, names, positions, hashes and signatures: nothing with a space in it,
# so a sentence (or a customer's message) cannot be put there by mistake.
_DETAIL_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_DETAIL_TEXT = re.compile(r"[A-Za-z0-9_.:+/=-]{0,128}")


def record_hash(prev_hash: str, values: tuple[Any, ...]) -> str:
    """The chain hash of a record whose canonical values are ``values`` (see the module doc)."""
    return hashlib.sha256(_LABEL + prev_hash.encode("ascii", "replace") + _dumps(values).encode()).hexdigest()


def detail_text(detail: Mapping[str, Any] | None) -> str | None:
    """``detail`` as the store keeps it (exactly what ``JSONText`` writes)."""
    if detail is None:
        return None
    return json.dumps(dict(detail), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def record_values(seq: int, record: Any) -> tuple[Any, ...]:
    """The canonical values of an :class:`~safebot.redaction.audit.AuditRecord` at ``seq``."""
    return (
        seq, record.event, record.policy_hash, record.entity_type, record.recognizer,
        None if record.score is None else float(record.score), record.destination, record.treatment,
        record.conversation_id, record.handler, record.reason, record.time, detail_text(record.detail),
    )


def check_detail(detail: Mapping[str, Any] | None) -> None:
    """Refuse a ``detail`` that could hold text: keys are names, values ints or short tokens."""
    if detail is None:
        return
    if not isinstance(detail, Mapping):
        raise TypeError("audit detail must be a mapping of names to counts or tokens")
    for key, value in detail.items():
        # The messages never include the value: it may be exactly what was passed by mistake.
        if not isinstance(key, str) or _DETAIL_KEY.fullmatch(key) is None:
            raise ValueError("audit detail keys must be lower-case names")
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            continue
        if not isinstance(value, str) or _DETAIL_TEXT.fullmatch(value) is None:
            raise ValueError(f"audit detail {key!r} must be an int or a short token (no spaces)")
