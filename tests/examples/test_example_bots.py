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
