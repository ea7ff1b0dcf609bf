"""Test-only helpers shared by the test suite and the bench scripts (never shipped in safebot).

Importable as ``support`` because pytest puts ``tests/`` on ``sys.path`` (tests/conftest.py has
no package above it) and bench scripts insert it themselves::

    sys.path.insert(0, str(REPO / "tests"))
    from support import pii
"""
