"""Worked examples: one sample message per entity type, run through the policy's own redactor.

The samples are package data (``data/examples.yaml``): documentation values (test card
numbers, the standards' sample IBAN and SSN, reserved 555 numbers, example.com), never
customer data. Each is analysed by a :class:`~safebot.redaction.redactor.Redactor` for the
policy being explained and rendered for every destination, so the page shows what the
redactor does today, not what the documentation says it should; a sample it no longer finds
is shown as missed.

Analytics hashes are keyed with a fixed documentation key, never the deployment's key.

>>> ex = worked_examples(policy)["CREDIT_CARD"]                   # doctest: +SKIP
>>> ex.renderings["customer"]                                    # doctest: +SKIP
'my card number is ****1111'
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import yaml

from safebot.redaction.policy import DESTINATIONS, Policy

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.detector import Detector

__all__ = ["DOC_KEY", "WorkedExample", "samples", "worked_examples"]

#: the analytics key of the examples (a public constant: these values are public samples)
DOC_KEY = b"safebot/console/worked-examples/v1"


@dataclass(frozen=True)
class WorkedExample:
    entity: str
    text: str
    value: str
    #: destination -> what it gets
    renderings: dict[str, str]
    #: the sample's value was detected as this entity
    found: bool
    #: what was detected instead (types), when not
    detected: tuple[str, ...] = ()
    recognizer: str | None = None
    score: float | None = None


@cache
def samples() -> dict[str, tuple[str, str]]:
    """entity -> (message, the value in it)."""
    raw = yaml.safe_load(resources.files("safebot.console").joinpath("data", "examples.yaml").read_text(encoding="utf-8"))
    return {str(k): (str(v["text"]), str(v["value"])) for k, v in raw.items()}


def worked_examples(policy: Policy, detector: Detector | None = None) -> dict[str, WorkedExample]:
    """Each of the policy's entities that has a sample, analysed and rendered per destination.

    ``detector``: a detector already built for ``policy`` (the served bot's), else one is built.
    """
    from safebot.redaction.redactor import Redactor

    redactor = Redactor(policy, hmac_key=DOC_KEY, detector=detector)
    out: dict[str, WorkedExample] = {}
    try:
        wanted = [(e, *samples()[e]) for e in sorted(policy.entities) if e in samples()]
        analyses = redactor.analyze_many([text for _, text, _ in wanted])
        for (entity, text, value), analysis in zip(wanted, analyses, strict=True):
            hits = [f for f in analysis.findings if f.entity_type == entity and _overlaps(text, value, f.start, f.end)]
            renderings: dict[str, str] = {d: redactor.render(analysis, d).text for d in DESTINATIONS}
            best = max(hits, key=lambda f: f.score) if hits else None
            out[entity] = WorkedExample(
                entity, text, value, renderings, best is not None,
                tuple(sorted({f.entity_type for f in analysis.findings})),
                best.recognizer if best else None, round(best.score, 2) if best else None,
            )
    finally:
        if detector is None:
            redactor.close()
    return out


def _overlaps(text: str, value: str, start: int, end: int) -> bool:
    at = text.find(value)
    return at >= 0 and start < at + len(value) and at < end
