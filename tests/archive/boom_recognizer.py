"""A Presidio recognizer that raises on one marker word: how the archive tests make a row's
detection fail inside a Spark executor (fail closed per row)."""

from __future__ import annotations

from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult


class BoomRecognizer(EntityRecognizer):
    def __init__(self) -> None:
        super().__init__(supported_entities=["BOOM_ID"], name="test.boom")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[RecognizerResult]:
        if "KABOOM" in text:
            raise RuntimeError("recognizer failed")
        return []
