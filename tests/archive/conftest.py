"""A policy that loads without spaCy (fast executors) and a recognizer that can be made to fail."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from archive_data import POLICY  # noqa: E402


@pytest.fixture(scope="session")
def archive_policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive-policy") / "policy.yaml"
    path.write_text(POLICY)
    return path
