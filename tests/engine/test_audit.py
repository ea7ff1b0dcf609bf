"""Every turn's findings and every fail-closed block land in the audit log, and they can be counted."""

from __future__ import annotations

import uuid
from collections import Counter

from safebot.engine import Bot

CARD = "4111 1111 1111 1111"


def test_engine_turns_write_their_redaction_records(minibank: Bot) -> None:
    c = f"audit-{uuid.uuid4().hex[:8]}"
    turns = 12
    for i in range(turns):
        minibank.handle_sync(c, f"please freeze card {CARD} and mail ann{i}@example.com")
    records = minibank.audit_log(c)
    redacted = Counter((r["entity_type"], r["destination"]) for r in records if r["event"] == "redacted")
    # each message: a card and an email, rendered for the transcript, analytics and the NLU
    for dest in ("transcript", "analytics", "nlu"):
        assert redacted[("EMAIL_ADDRESS", dest)] == turns, (dest, redacted)
    # each reply names the card too ('Card 4111... is now frozen'): its customer, transcript and
    # analytics renderings are audited like the message's
    assert redacted[("CREDIT_CARD", "nlu")] == turns
    assert redacted[("CREDIT_CARD", "transcript")] == redacted[("CREDIT_CARD", "analytics")] == 2 * turns
    assert redacted[("CREDIT_CARD", "customer")] == turns
    assert sum(1 for r in records if r["event"] == "revealed") == turns, Counter(r["event"] for r in records)
    assert all(r["policy_hash"] == minibank.redactor.policy.hash for r in records)
    assert not any(CARD in str(r) or "example.com" in str(r) for r in records)


def test_a_blocked_message_is_audited(minibank: Bot) -> None:
    from safebot.errors import RedactionError

    c = f"audit-{uuid.uuid4().hex[:8]}"
    detector = minibank.redactor.detector
    original = detector.detect

    def boom(text: str, *args: object, **kwargs: object) -> object:
        if "4111" in text:  # the customer's message only; the bot's replies still scan
            raise RedactionError("boom", reason="RuntimeError")
        return original(text, *args, **kwargs)

    detector.detect = boom  # type: ignore[method-assign]
    try:
        result = minibank.handle_sync(c, f"card {CARD}")
    finally:
        detector.detect = original  # type: ignore[method-assign]
    assert result.blocked
    failures = [r for r in minibank.audit_log(c) if r["event"] == "detection_failed"]
    assert len(failures) == 1 and failures[0]["reason"] == "RuntimeError"
    texts = [r["text"] for r in minibank.transcript(c) if r["kind"] == "user"]
    assert texts == ["<REDACTED_MESSAGE>"]
