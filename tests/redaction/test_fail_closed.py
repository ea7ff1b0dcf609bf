"""Fail closed: a failing or slow analyzer lets nothing raw out, and the audit says why."""

from __future__ import annotations

import time

import pytest

from safebot.redaction import BLOCKED_TEXT, DESTINATIONS, Redactor
from safebot.redaction.audit import AuditRecord
from safebot.redaction.detector import Detector

SECRET = "my card is 4111 1111 1111 1111 and I'm jane doe"


class ExplodingDetector(Detector):
    def __init__(self, inner: Detector, exc: BaseException) -> None:
        self.__dict__.update(inner.__dict__)
        self._exc = exc

    def detect(self, text: str):  # type: ignore[no-untyped-def]
        raise self._exc

    def detect_many(self, texts, batch_size=64):  # type: ignore[no-untyped-def]
        raise self._exc


class SlowDetector(Detector):
    def __init__(self, inner: Detector) -> None:
        self.__dict__.update(inner.__dict__)
        self._budget = 0.001

    def _finish(self, text, norm, doc, started):  # type: ignore[no-untyped-def]
        time.sleep(0.01)
        return super()._finish(text, norm, doc, started)


@pytest.mark.parametrize("exc", [RuntimeError(SECRET), MemoryError(), ValueError("spaCy model missing")])
def test_analyzer_error_blocks_every_destination(bank_redactor: Redactor, exc: BaseException) -> None:
    records: list[AuditRecord] = []
    redactor = Redactor(bank_redactor.policy, detector=ExplodingDetector(bank_redactor.detector, exc),
                        hmac_key=b"k", audit=records.append)
    for dest in DESTINATIONS:
        result = redactor.redact(SECRET, destination=dest)
        assert result.text == BLOCKED_TEXT
        assert result.blocked
        assert result.findings == ()
    failures = [r for r in records if r.event == "detection_failed"]
    assert failures and failures[0].reason == type(exc).__name__
    for r in records:
        assert "4111" not in repr(r) and "jane" not in repr(r)
    batch = redactor.redact_many([SECRET, "hello"], destination="transcript")
    assert [r.text for r in batch] == [BLOCKED_TEXT, BLOCKED_TEXT]


def test_time_budget_overrun_blocks(bank_redactor: Redactor) -> None:
    records: list[AuditRecord] = []
    redactor = Redactor(bank_redactor.policy, detector=SlowDetector(bank_redactor.detector), hmac_key=b"k", audit=records.append)
    result = redactor.redact(SECRET)
    assert result.blocked and result.text == BLOCKED_TEXT
    assert any(r.reason == "timeout" for r in records)


def test_failure_logs_carry_no_text(bank_redactor: Redactor, caplog: pytest.LogCaptureFixture) -> None:
    redactor = Redactor(bank_redactor.policy, detector=ExplodingDetector(bank_redactor.detector, RuntimeError(SECRET)), hmac_key=b"k")
    with caplog.at_level("DEBUG"):
        redactor.redact(SECRET)
    assert caplog.records
    assert "4111" not in caplog.text and "jane" not in caplog.text
