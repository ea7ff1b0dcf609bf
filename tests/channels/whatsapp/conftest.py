"""One real server with the WhatsApp channel and a recording fake Graph API (the harness is
shared with tests/serve)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "serve"))

from serve_harness import Served, start_served


@pytest.fixture(scope="session")
def wa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    yield from start_served(tmp_path_factory, "whatsapp")
