"""The newcomer's documents: docs/README.md lists every doc, and no link leaves the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_the_index_lists_every_document() -> None:
    index = (DOCS / "README.md").read_text()
    listed = set(re.findall(r"\]\(([\w.-]+\.md)\)", index))
    present = {p.name for p in DOCS.glob("*.md")} - {"README.md"}
    assert listed == present


@pytest.mark.parametrize("doc", [ROOT / "README.md", DOCS / "README.md", DOCS / "models.md"], ids=lambda p: p.name)
def test_links_stay_in_the_repository_and_resolve(doc: Path) -> None:
    text = doc.read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        path = target.split("#")[0]
        if not path or path.startswith(("http://", "https://", "mailto:")):
            continue
        resolved = (doc.parent / path).resolve()
        assert resolved.is_relative_to(ROOT) and resolved.exists(), target
    assert "../shared" not in text and "/work/" not in text
