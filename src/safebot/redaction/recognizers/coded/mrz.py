"""PASSPORT_MRZ: machine-readable zone lines of a passport (TD3: two lines of 44 characters)."""

from __future__ import annotations

from collections.abc import Iterable

from safebot.redaction.recognizers.budget import IGNORECASE, compile_rx
from safebot.redaction.recognizers.engines.base import SafebotRecognizer

__all__ = ["SafebotMrzRecognizer"]

_LINE = compile_rx(r"[A-Z0-9<]{30,44}", IGNORECASE)


class SafebotMrzRecognizer(SafebotRecognizer):
    """A run of 30-44 MRZ characters with two or more fillers ('<') that starts with 'P'
    (the first line) or holds ten or more digits (the second)."""

    def __init__(self, entity: str, name: str, *, score: float = 0.95, priority: int = 50) -> None:
        super().__init__(entity, name, priority=priority)
        self._score = score

    def applies(self, text: str, digit_count: int) -> bool:
        return "<" in text

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float, int]]:
        for m in _LINE.finditer(text):
            line = m.group(0)
            if line.count("<") >= 2 and (line[:2].upper().startswith("P") or sum(c.isdigit() for c in line) >= 10):
                yield m.start(), m.end(), self._score, 0
