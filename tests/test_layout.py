"""The package layout: no import cycles between modules, the runtime package holds no test data,
and importing the package stays cheap."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "safebot"


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top_level_imports(path: Path, name: str) -> set[str]:
    """Modules imported when ``path`` is imported: module level only, TYPE_CHECKING blocks out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
                continue
            if isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for h in getattr(node, "handlers", []):
                    visit(h.body)
                visit(getattr(node, "finalbody", []))
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("safebot"))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base]) if base else ".".join(anchor)
                if base.startswith("safebot"):
                    subs = {f"{base}.{a.name}" for a in node.names}
                    named = {m for m in subs if m in MODULES}
                    # 'from pkg import submodule' needs the submodule; 'from pkg import name' the package
                    out.update(named or {base})

    visit(tree.body)
    return out


MODULES = {_module_name(p) for p in SRC.rglob("*.py")}


def test_no_import_cycles() -> None:
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    # A module importing its own package (its __init__) is how Python works; a cycle is between
    # sibling modules (or through a package __init__ that imports back).
    graph = {
        m: {i for i in _top_level_imports(p, m) if i in modules and i != m and not m.startswith(i + ".")}
        for m, p in modules.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = [*stack[stack.index(n):], n]
                # a package importing its own submodule is not a cycle worth reporting
                if not all(c.startswith(cycle[0] + ".") or c == cycle[0] for c in cycle[1:]):
                    cycles.append(cycle)
            elif n not in state:
                walk(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            walk(m)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_test_data_generator_in_the_runtime_package() -> None:
    assert not (SRC / "testing_pii.py").exists()
    offenders = [p.name for p in SRC.rglob("*.py") if "def plant(" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_import_safebot_is_cheap() -> None:
    code = "import time; t = time.perf_counter(); import safebot; print(time.perf_counter() - t)"
    took = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    heavy = subprocess.run(
        [sys.executable, "-c", "import safebot, sys; print(sorted(m for m in ('spacy', 'presidio_analyzer', 'sqlalchemy', 'onnxruntime', 'fastapi') if m in sys.modules))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert heavy == "[]"
    assert took < 2.0  # the figure (well under 0.3 s) is measured in bench/, not asserted here


def test_test_modules_have_unique_basenames() -> None:
    # pytest's default (rootdir-relative, no __init__.py) import mode imports test modules by
    # their basename: two test_cli.py in different folders stop the whole suite at collection.
    seen: dict[str, Path] = {}
    clashes = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if path.name in seen:
            clashes.append(f"{seen[path.name].relative_to(ROOT)} and {path.relative_to(ROOT)}")
        seen.setdefault(path.name, path)
    assert not clashes, clashes
