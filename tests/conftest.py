"""Shared fixtures: redactors are built once per session (building one loads spaCy)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def bank_redactor():  # type: ignore[no-untyped-def]
    from safebot.redaction import Redactor, load_policy

    return Redactor(load_policy(EXAMPLES / "bank" / "policy.yaml"), hmac_key=b"test-key")


@pytest.fixture(scope="session")
def airline_redactor():  # type: ignore[no-untyped-def]
    from safebot.redaction import Redactor, load_policy

    return Redactor(load_policy(EXAMPLES / "airline" / "policy.yaml"), hmac_key=b"test-key")
