"""Fail closed: a failing or slow analyzer lets nothing raw out, and the audit says why."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from safebot.errors import RedactionTimeout
from safebot.redaction import BLOCKED_TEXT, DESTINATIONS, Redactor, load_policy
from safebot.redaction.audit import AuditRecord
from safebot.redaction.detect import Detector

SECRET = "my card is 4111 1111 1111 1111 and I'm jane doe"


class ExplodingDetector(Detector):
    def __init__(self, inner: Detector, exc: BaseException) -> None:
        self.__dict__.update(inner.__dict__)
        self._exc = exc

    def detect(self, text: str, deadline: float | None = None):  # type: ignore[no-untyped-def]
        raise self._exc

    def detect_many(self, texts, batch_size=64, deadline=None):  # type: ignore[no-untyped-def]
        raise self._exc


class SlowDetector(Detector):
    """Every recognizer call takes 10 ms against a budget of 1 ms."""

    def __init__(self, inner: Detector) -> None:
        self.__dict__.update(inner.__dict__)
        self._budget = 0.001

    def _finish(self, text, norm, doc):  # type: ignore[no-untyped-def]
        time.sleep(0.01)
        return super()._finish(text, norm, doc)


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


BUDGET_MS = 300
# '(a|aa)+$' backtracks exponentially on 'aaa…!' (the `regex` package optimises '(a+)+$' away).
CATASTROPHIC = f"""
name: runaway
packs: [common]
nlp: {{ner: false}}
time_budget_ms: {BUDGET_MS}
recognizers:
  - name: acme.runaway
    entity: ACME_CODE
    patterns:
      - name: badly written
        regex: '(a|aa)+$'
entities:
  ACME_CODE: {{}}
  EMAIL_ADDRESS: {{}}
"""


@pytest.fixture(scope="module")
def runaway(tmp_path_factory: pytest.TempPathFactory) -> Redactor:
    path = tmp_path_factory.mktemp("policy") / "policy.yaml"
    path.write_text(CATASTROPHIC)
    return Redactor(load_policy(path), hmac_key=b"k" * 32)


def test_catastrophic_backtracking_is_blocked_within_the_budget(runaway: Redactor) -> None:
    records: list[AuditRecord] = []
    text = "a" * 48 + "! mail me at jane@example.com"
    started = time.perf_counter()
    out = runaway.render(runaway.analyze(text), "transcript", audit=records.append)
    elapsed = time.perf_counter() - started
    assert out.blocked and out.text == BLOCKED_TEXT
    assert runaway.analyze(text).reason == "timeout"
    # Generous: the engine looks at its clock only now and then, later on a busy host.
    assert elapsed < 3 * BUDGET_MS / 1000, elapsed
    # the same pattern on a short input is fine, and the recognizer still works
    assert runaway.redact("aaaa").text == "<ACME_CODE_1>"


def test_detector_raises_redaction_timeout_and_takes_a_shared_deadline(runaway: Redactor) -> None:
    detector = runaway.detector
    with pytest.raises(RedactionTimeout):
        detector.detect("a" * 48 + "!")
    # a deadline already spent by the caller's earlier steps blocks even an easy text
    with pytest.raises(RedactionTimeout):
        detector.detect("hello there", deadline=time.perf_counter() - 0.001)
    # in a batch only the runaway text is blocked; the others keep their budget
    results = detector.detect_many(["aaaa", "a" * 48 + "!", "mail jane@example.com"])
    assert isinstance(results[1], RedactionTimeout)
    assert [d.entity_type for d in results[0]] == ["ACME_CODE"]  # type: ignore[union-attr]
    assert [d.entity_type for d in results[2]] == ["EMAIL_ADDRESS"]  # type: ignore[union-attr]


def test_a_presidio_pattern_recognizer_that_times_out_blocks_too(tmp_path: Path) -> None:
    # Presidio's own PatternRecognizer catches TimeoutError and skips the pattern (the text
    # would go on unredacted); with safebot's deadline patterns the timeout blocks the text.
    (tmp_path / "bad.yaml").write_text(
        "recognizers:\n  - name: runaway\n    supported_language: en\n    supported_entity: ACME_CODE\n"
        "    patterns:\n      - name: bad\n        regex: '(a|aa)+$'\n        score: 0.9\n"
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        f"name: p\npacks: [common]\nnlp: {{ner: false}}\ntime_budget_ms: {BUDGET_MS}\n"
        "presidio:\n  yaml: [bad.yaml]\nentities:\n  ACME_CODE: {}\n  EMAIL_ADDRESS: {}\n"
    )
    redactor = Redactor(load_policy(policy), hmac_key=b"k" * 32)
    started = time.perf_counter()
    analysis = redactor.analyze("a" * 48 + "!")
    assert analysis.blocked and analysis.reason == "timeout"
    assert time.perf_counter() - started < 3 * BUDGET_MS / 1000
