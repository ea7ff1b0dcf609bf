"""A third-party recognizer for the interop tests: any Presidio EntityRecognizer subclass."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from presidio_analyzer import EntityRecognizer, RecognizerResult


class EmployeeIdRecognizer(EntityRecognizer):
    """EMPLOYEE_ID: the prefix, a dash and five digits."""

    calls: ClassVar[int] = 0

    def __init__(self, prefix: str = "EMP") -> None:
        self._re = re.compile(rf"\b{re.escape(prefix)}-\d{{5}}\b")
        super().__init__(supported_entities=["EMPLOYEE_ID"], name="acme.employee_id")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        type(self).calls += 1
        return [RecognizerResult("EMPLOYEE_ID", m.start(), m.end(), 0.9) for m in self._re.finditer(text)]
