"""One real server for the serving tests (see serve_harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from serve_harness import Served, start_served


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from start_served(tmp_path_factory, "serve")
