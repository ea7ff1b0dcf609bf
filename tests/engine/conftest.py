from __future__ import annotations

import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def minibank(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The minibank test bot, copied so that its .safebot/ state is private to the module."""
    from safebot.engine import Bot
    from safebot.testing import CapturingSink

    root = tmp_path_factory.mktemp("bots")
    bot_dir = root / "minibank"
    shutil.copytree(HERE / "minibank", bot_dir, ignore=shutil.ignore_patterns(".safebot"))
    policy = (HERE / "minibank" / "bot.yaml").read_text()
    examples = Path(__file__).resolve().parents[2] / "examples"
    (bot_dir / "bot.yaml").write_text(policy.replace("../../../examples/bank/policy.yaml", str(examples / "bank" / "policy.yaml")))
    analytics = CapturingSink("analytics")
    agent = CapturingSink("agent")
    bot = Bot.load(bot_dir, sinks=[analytics, agent])
    bot.test_analytics = analytics  # type: ignore[attr-defined]
    bot.test_agent = agent  # type: ignore[attr-defined]
    yield bot
    bot.close()
