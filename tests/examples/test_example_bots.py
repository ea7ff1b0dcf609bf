"""The example bots pass their own conversation tests (what `safebot test BOT_DIR` runs),
including the PII canaries: no planted value in the transcript, audit log, analytics, the
hand-off queue, any log line, or shown in full to the customer.

The bots run on a private copy of their directory so that the repository's `.safebot/`
state is neither used nor changed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BOTS = ["bank", "airline"]


@pytest.fixture(scope="module", params=BOTS)
def example(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from safebot.engine import Bot
    from safebot.testing import ConversationRunner, load_conversation_tests

    name = request.param
    bot_dir = tmp_path_factory.mktemp("examples") / name
    shutil.copytree(EXAMPLES / name, bot_dir, ignore=shutil.ignore_patterns(".safebot", "*.sqlite3", "__pycache__"))
    bot = Bot.load(bot_dir)
    tests = load_conversation_tests(bot_dir / "tests")
    yield name, ConversationRunner(bot), tests
    bot.close()


@pytest.mark.slow
def test_example_bot_conversations(example) -> None:  # type: ignore[no-untyped-def]
    name, runner, tests = example
    assert len(tests) >= 25, f"{name}: only {len(tests)} conversation tests"
    failures = []
    for path, test in tests:
        report = runner.run(test, path.name)
        if not report.passed:
            failures.append(f"{path.name}: {test.name}: " + "; ".join(report.problems))
    assert not failures, "\n".join(failures)


@pytest.mark.slow
def test_a_blocked_message_is_out_of_scope_never_classified(example, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Redaction failed (fail closed): the message is not classified, answers no form question,
    and the conversation carries on where it was (issue 13 item 5)."""
    import uuid

    name, runner, _ = example
    bot = runner.bot
    cid = f"blocked-{uuid.uuid4().hex[:8]}"
    first = bot.handle_sync(cid, "I want to add a bag" if name == "airline" else "what's my balance")
    asked = first.replies[-1]
    form = bot.tracker(cid).form

    detect = bot.redactor.detector.detect
    typed = "weather in paris, card 4111 1111 1111 1111"

    def boom(text: str) -> object:  # fails on the customer's message only, not on the replies
        if text == typed:
            raise RuntimeError("detector down")
        return detect(text)

    classified: list[str] = []
    monkeypatch.setattr(bot.redactor.detector, "detect", boom)
    monkeypatch.setattr(bot.classifier, "predict", lambda text: classified.append(text))
    result = bot.handle_sync(cid, typed)
    monkeypatch.undo()
    assert result.blocked and result.intent is None and classified == []
    assert result.replies == (bot.settings.response("blocked"),)
    tracker = bot.tracker(cid)
    assert tracker.form == form and not tracker.handed_off
    assert bot.state(cid).fallbacks == 0
    assert "4111" not in str(bot.transcript(cid))
    again = bot.handle_sync(cid, "cancel")
    assert again.replies and asked not in again.replies
