"""The executor side of ``redact-archive``: one redactor per Python worker process, reused for
every batch the worker is given (Spark keeps its Python workers between tasks).

Nothing here is Spark-specific, so it is tested and benchmarked without a JVM as well.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from safebot.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.redactor import Redactor

__all__ = ["TRACE_ENV", "redact_values", "redactor_for"]

#: a file to append ``<pid>`` to each time a worker builds its redactor (tests prove it is once)
TRACE_ENV = "SAFEBOT_ARCHIVE_TRACE"

_redactors: dict[tuple[str, str, str], Redactor] = {}
_lock = threading.Lock()


def redactor_for(policy_path: str, policy_hash: str, hmac_key: bytes) -> Redactor:
    """This process's redactor for the policy (built on first use, then cached).

    The policy is loaded from its path on the executor and must hash as it did on the driver:
    an executor with another version of the file fails its task rather than redact differently.
    """
    from safebot.redaction.policy import load_policy
    from safebot.redaction.redactor import Redactor

    key = (policy_path, policy_hash, hashlib.sha256(hmac_key).hexdigest())
    with _lock:
        redactor = _redactors.get(key)
        if redactor is None:
            policy = load_policy(policy_path)
            if policy.hash != policy_hash:
                raise ConfigError("the policy on this executor differs from the driver's", path=policy_path)
            redactor = Redactor(policy, hmac_key=hmac_key)
            _redactors[key] = redactor
            trace = os.environ.get(TRACE_ENV)
            if trace:
                with open(trace, "a", encoding="ascii") as fh:
                    fh.write(f"{os.getpid()}\n")
    return redactor


def redact_values(
    redactor: Redactor, values: Sequence[Any], destination: str,
) -> tuple[list[str | None], int, int]:
    """Redact a column batch: (texts, values redacted, values blocked). Nulls stay null.

    Fail closed per value (``redact_many`` blocks only the text that failed); if the batch call
    itself raises, every value in it is blocked.
    """
    from safebot.redaction.types import BLOCKED_TEXT

    present = [i for i, v in enumerate(values) if v is not None and v == v]  # v == v: not NaN
    texts = [v if isinstance(v, str) else str(v) for v in (values[i] for i in present)]
    out: list[str | None] = [None] * len(values)
    try:
        rendered = redactor.redact_many(texts, destination)  # type: ignore[arg-type]
        results = [r.text for r in rendered]
        blocked = sum(1 for r in rendered if r.blocked)
    except Exception:  # noqa: BLE001 - fail closed: nothing of this batch leaves unredacted
        results = [BLOCKED_TEXT] * len(texts)
        blocked = len(texts)
    for i, text in zip(present, results, strict=True):
        out[i] = text
    return out, len(texts), blocked
