"""schemathesis over /openapi.json with its default checks, on a short fixed budget."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from serve_harness import Served


@pytest.mark.slow
def test_schemathesis_default_checks_pass(served: Served, tmp_path: Path) -> None:
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    r = subprocess.run(
        [exe, "run", f"{served.url}/openapi.json", "-H", f"Authorization: Bearer {served.keys['alice']}",
         "--max-examples", "15", "--workers", "1", "--seed", "20261201", "--no-color"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path, check=False,
    )
    # the failures section first (a request body can run to tens of kilobytes), then the summary
    failures = r.stdout[r.stdout.find("FAILURES"):][:3000] if "FAILURES" in r.stdout else ""
    assert r.returncode == 0, failures + "\n...\n" + r.stdout[-2000:]
    assert "failures" not in r.stdout.split("SUMMARY")[-1].lower()
