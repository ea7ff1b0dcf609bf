"""Import Presidio and spaCy without dragging in torch and transformers.

When the sentence-embedding extra is installed, ``import presidio_analyzer`` (and thinc,
under spaCy) import torch and transformers for optional engines safebot never uses: about
ten seconds of start-up on this class of machine. Both libraries guard those imports with
``try/except ImportError``, so we make them fail for the duration of the import. Anything
imported later (the intent classifier's encoder) gets the real torch.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

_HEAVY = ("torch", "transformers")


@contextmanager
def _blocked(names: tuple[str, ...]) -> Iterator[None]:
    blocked = [n for n in names if n not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes 'import name' raise ImportError
    try:
        yield
    finally:
        for name in blocked:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def import_nlp_stack() -> None:
    """Import spaCy and presidio_analyzer once, light. Idempotent and cheap after the first call."""
    if "presidio_analyzer" in sys.modules and "spacy" in sys.modules:
        return
    with _blocked(_HEAVY):
        import presidio_analyzer  # noqa: F401
        import spacy  # noqa: F401
