"""The shipped English word list (a start-up shortcut) is exactly wordfreq's, or unused."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from safebot.redaction.recognizers import vocabulary


def test_the_shipped_list_is_wordfreqs_own() -> None:
    shipped = vocabulary._english_ranked()
    assert len(shipped) == 40000
    assert shipped == vocabulary._english_from_wordfreq()


def test_the_shipped_list_matches_the_installed_wordfreq() -> None:
    from importlib import resources

    path = resources.files("safebot.redaction.recognizers").joinpath("data", vocabulary.ENGLISH_FILE)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header == vocabulary._english_header(version("wordfreq")), (
        "wordfreq was upgraded: run python -m safebot.redaction.recognizers.vocabulary --english")


def test_another_wordfreq_version_reads_wordfreq(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    calls: list[int] = []
    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.0-other")
    monkeypatch.setattr(vocabulary, "_english_from_wordfreq", lambda: calls.append(1) or ("the",))
    vocabulary._english_ranked.cache_clear()
    try:
        assert vocabulary._english_ranked() == ("the",) and calls == [1]
    finally:
        vocabulary._english_ranked.cache_clear()
