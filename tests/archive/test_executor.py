"""The executor side without Spark: nulls, non-strings, fail closed per value and per batch,
one redactor per process and policy."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from safebot.archive import executor
from safebot.archive.executor import redact_values, redactor_for
from safebot.errors import ConfigError
from safebot.redaction.policy import load_policy
from safebot.redaction.types import BLOCKED_TEXT


def test_values_nulls_and_a_failing_row(archive_policy: Path) -> None:
    policy = load_policy(archive_policy)
    redactor = redactor_for(str(archive_policy), policy.hash, b"k" * 32)
    out, n, blocked = redact_values(redactor, ["card 4111 1111 1111 1111", None, math.nan, 12345, "KABOOM here"], "transcript")
    assert out[0] == "card <CREDIT_CARD_1>" and out[1] is None and out[2] is None and out[3] == "12345"
    assert out[4] == BLOCKED_TEXT and (n, blocked) == (3, 1)
    assert redactor_for(str(archive_policy), policy.hash, b"k" * 32) is redactor  # built once


def test_a_batch_that_raises_is_blocked_whole(archive_policy: Path) -> None:
    class Broken:
        def redact_many(self, texts: list[str], destination: str) -> list[object]:
            raise MemoryError("out of memory")

    out, n, blocked = redact_values(Broken(), ["a", "b", None], "analytics")  # type: ignore[arg-type]
    assert out == [BLOCKED_TEXT, BLOCKED_TEXT, None] and (n, blocked) == (2, 2)


def test_an_executor_with_another_policy_refuses(archive_policy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor, "_redactors", {})
    with pytest.raises(ConfigError, match="differs from the driver's"):
        redactor_for(str(archive_policy), "another-hash", b"k" * 32)
