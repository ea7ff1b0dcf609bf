"""The conversation runner's PII canaries (safebot.testing): a short planted value (a PIN) is
found in the database when it is stored as a value of its own, and not "found" inside a hash."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from safebot.testing import ConversationRunner, ConversationTest, Step


def _writing(bot: Any, monkeypatch: pytest.MonkeyPatch, row: tuple[str, str]) -> None:
    real = bot.handle_sync

    def handle(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        with bot.store.engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE IF NOT EXISTS scratch_leak (a TEXT, b TEXT)"))
            conn.execute(sa.text("DELETE FROM scratch_leak"))
            conn.execute(sa.text("INSERT INTO scratch_leak VALUES (:a, :b)"), {"a": row[0], "b": row[1]})
        return result

    monkeypatch.setattr(bot, "handle_sync", handle)


@pytest.mark.parametrize(
    ("row", "leak"),
    [
        # the PIN at a column's end, the next column's letters right after it in the file's bytes
        (("my pin is 4821", "abc"), True),
        (("4821", "sent"), True),
        # a digest and a timestamp that happen to hold the digits are not the PIN
        (("86edf9ccda8a4a987ae44c3663b4821675dc65b38a43", "x"), False),
        (("2026-12-03T05:48:21.482113", "x"), False),
    ],
)
def test_a_short_planted_value_is_found_only_as_a_value_of_its_own(minibank: Any, monkeypatch: pytest.MonkeyPatch, row: tuple[str, str], leak: bool) -> None:
    _writing(minibank, monkeypatch, row)
    report = ConversationRunner(minibank).run(ConversationTest(name="pin", pii=["4821"], steps=[Step(user="hello")]))
    found = [p for p in report.problems if "pii[0]" in p]
    assert bool(found) is leak, report.problems
    if leak:
        assert any("database rows" in p for p in found)
