"""One bot with notifications and a running server for the notification tests (loading a bot
takes seconds; every test uses fresh numbers instead of a fresh bot)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from notify_harness import NB, start


@pytest.fixture(scope="session")
def nb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NB]:
    yield from start(tmp_path_factory.mktemp("notify"), serve=True)
