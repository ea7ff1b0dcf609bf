"""One request's redaction: placeholders numbered once across every text in the request.

A Rasa action call carries several texts (the latest message, slot values, entity values).
Redacted one by one, each would start at ``<CREDIT_CARD_1>`` and two different cards would
share a token. :class:`RedactionScope` numbers values across the whole request (the same value
keeps its token, a new value gets the next free number, numbers already used by placeholders
in the request are skipped) and keeps each value masked in :class:`~safebot.Sensitive` for
``ctx.reveal`` until the request ends.

>>> scope = RedactionScope(redactor, "rasa-1f2e", reserved=["<CREDIT_CARD_1>"])  # doctest: +SKIP
>>> scope.render("card 4111 1111 1111 1111", "nlu").text                           # doctest: +SKIP
'card <CREDIT_CARD_2>'
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Iterable
from typing import TYPE_CHECKING

from safebot.nlu.placeholders import PLACEHOLDER_RE
from safebot.redaction.policy import Destination
from safebot.redaction.results import RedactedText
from safebot.redaction.treatments import canonical_value
from safebot.sensitive import Sensitive

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.redactor import Analysis, Redactor

__all__ = ["RedactionScope"]


class RedactionScope:
    """Redacts texts for one request with one placeholder numbering; holds values for reveal."""

    def __init__(self, redactor: Redactor, conversation_id: str, *, reserved: Iterable[str] = ()) -> None:
        self._redactor = redactor
        self._cid = conversation_id
        self._tokens: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._values: dict[str, Sensitive[str]] = {}
        for text in reserved:
            for m in PLACEHOLDER_RE.finditer(text):
                if m.group(2):
                    entity, n = m.group(1), int(m.group(2))
                    self._counts[entity] = max(self._counts.get(entity, 0), n)

    def __repr__(self) -> str:
        return f"RedactionScope({self._cid!r}, {len(self._values)} values)"

    @property
    def conversation_id(self) -> str:
        return self._cid

    def analyze(self, text: str, *, context: str | None = None) -> Analysis:
        """Detect once; placeholder numbers are the request's, not the text's.

        ``context`` (a slot or entity name such as ``ssn``) is put before a short value while
        detecting, as the question would be in a conversation: a bare ``536-22-8801`` is not
        recognisably an SSN, ``ssn: 536-22-8801`` is. Findings in the context itself are
        ignored (the value is then analysed alone).
        """
        analysis = self._analyze_with(text, context) if context else None
        if analysis is None:
            analysis = self._redactor.analyze(text, conversation_id=self._cid)
        if analysis.blocked or not analysis.detections:
            return analysis
        raw = analysis.raw.reveal()
        numbers: list[int] = []
        for d in analysis.detections:
            value = raw[d.start : d.end]
            key = self._key(d.entity_type, value)
            token = self._tokens.get(key)
            if token is None:
                n = self._counts.get(d.entity_type, 0) + 1
                self._counts[d.entity_type] = n
                token = f"<{d.entity_type}_{n}>"
                self._tokens[key] = token
            numbers.append(int(token[len(d.entity_type) + 2 : -1]))
            self._values[token] = Sensitive(value)
        return dataclasses.replace(analysis, numbers=tuple(numbers))

    def _analyze_with(self, text: str, context: str) -> Analysis | None:
        from safebot.redaction.redactor import Analysis

        prefix = f"{context.replace('_', ' ')}: "
        analysis = self._redactor.analyze(prefix + text, conversation_id=self._cid)
        if analysis.blocked or any(d.start < len(prefix) for d in analysis.detections):
            return None
        shift = len(prefix)
        detections = tuple(
            dataclasses.replace(d, start=d.start - shift, end=d.end - shift) for d in analysis.detections
        )
        return Analysis(Sensitive(text), detections, analysis.numbers)

    def render(self, text: str, destination: Destination, *, context: str | None = None) -> RedactedText:
        """``text`` as ``destination`` may see it (audited by the redactor)."""
        return self.render_analysis(self.analyze(text, context=context), destination)

    def render_analysis(self, analysis: Analysis, destination: Destination) -> RedactedText:
        return self._redactor.render(analysis, destination, conversation_id=self._cid)

    def lookup(self, token: str) -> Sensitive[str] | None:
        """The value behind a placeholder seen in this request (for ``ctx.reveal``)."""
        return self._values.get(token)

    def _key(self, entity: str, value: str) -> str:
        # A keyed fingerprint, so the numbering table never holds the value itself.
        message = f"{entity}:{canonical_value(value)}".encode()
        return hmac.new(self._redactor.hmac_key, message, hashlib.sha256).hexdigest()
