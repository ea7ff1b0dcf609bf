"""The pattern engine: Presidio's ``PatternRecognizer`` with safebot's scoring.

Patterns, context words and a deny list work as in Presidio; ``validate_result`` runs the
named validator and ``invalidate_result`` the rejections (word lists, shapes). Two changes,
both for recall: a value that fails its validator is not dropped but scored
``invalid_score`` and kept when a cue word is near (Presidio drops it), and a pattern may
name a ``value`` group, so the words around a value can be part of the pattern without
being redacted. Every pattern is a deadline-bounded ``regex`` (see ``budget``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from presidio_analyzer import Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from safebot.redaction.recognizers.budget import IGNORECASE, compile_rx
from safebot.redaction.recognizers.engines.base import Context, applies, boost, lower_of, result
from safebot.redaction.types import canonical_value

__all__ = ["SafebotPatternRecognizer", "install_deadline_patterns"]

Check = Callable[[str], bool]


def install_deadline_patterns(recognizer: Any) -> None:
    """Make every pattern of a Presidio ``PatternRecognizer`` a deadline-bounded ``regex``.

    Presidio compiles a pattern on first use unless ``compiled_regex`` is set for the flags it
    will use; set here, its own ``analyze`` searches with ours, and a timeout raises
    ``RedactionTimeout`` instead of being logged and skipped.
    """
    flags = recognizer.global_regex_flags or 0
    patterns: list[Any] = recognizer.patterns
    for pattern in patterns:
        pattern.compiled_regex = compile_rx(pattern.regex, flags)
        pattern.compiled_with_flags = flags


class SafebotPatternRecognizer(PatternRecognizer):
    """Regex patterns with an optional ``value`` group, validator, rejections and context."""

    def __init__(
        self,
        entity: str,
        name: str,
        *,
        patterns: Sequence[tuple[str, str, float]],
        context: Context | None = None,
        case_sensitive: bool = False,
        validator: Check | None = None,
        invalid_score: float = 0.2,
        reject: Check | None = None,
        shape: Check | None = None,
        requires_context: bool = False,
        deny_list: Sequence[str] = (),
        deny_list_score: float = 0.5,
        min_digits: int = 0,
        priority: int = 50,
    ) -> None:
        self.cues = context if context is not None else Context()
        self.priority = priority
        self.min_digits = min_digits
        self._validator = validator
        self._invalid = invalid_score
        self._reject = reject
        self._shape = shape
        self._requires_context = requires_context
        super().__init__(
            supported_entity=entity,
            name=name,
            patterns=[Pattern(n, rx, score) for n, rx, score in patterns],
            context=list(self.cues.words),
            deny_list=list(deny_list),
            deny_list_score=deny_list_score,
            global_regex_flags=0 if case_sensitive else IGNORECASE,
        )
        install_deadline_patterns(self)
        self.entity = entity

    #: prefilter: one of these must occur in the lower-cased message (empty: no condition)
    needs_any: tuple[str, ...] = ()

    def applies(self, text: str, digit_count: int) -> bool:
        return applies(self, text, digit_count)

    def validate_result(self, pattern_text: str) -> bool | None:
        if self._validator is None:
            return None
        return self._validator(pattern_text)

    def invalidate_result(self, pattern_text: str) -> bool | None:
        if self._reject is None and self._shape is None:
            return None
        value = canonical_value(pattern_text)
        return (self._reject is not None and self._reject(value)) or (
            self._shape is not None and not self._shape(pattern_text)
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if entities and self.entity not in entities:
            return []
        lower = lower_of(text)
        out: list[RecognizerResult] = []
        patterns: list[Any] = getattr(self, "patterns", [])
        for pattern in patterns:
            rx = pattern.compiled_regex
            has_value = "value" in rx.groupindex
            for m in rx.finditer(text):
                s, e = m.span("value") if has_value and m.start("value") >= 0 else m.span()
                if s >= e:
                    continue
                value = text[s:e]
                if self.invalidate_result(value):
                    continue
                valid = self.validate_result(value)
                cue = self.cues.strength(lower, s, e)
                if not cue and (self._requires_context or valid is False or self.cues.negated(lower, s)):
                    continue
                base = self._invalid if valid is False else pattern.score
                out.append(result(self, self.entity, s, e, base + boost(cue), cue, valid is not False))
        return out

