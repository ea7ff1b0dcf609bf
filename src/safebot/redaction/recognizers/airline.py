"""Airline pack: booking references, e-tickets, passports and MRZ lines, loyalty numbers."""

from __future__ import annotations

import re
from collections.abc import Iterable

from presidio_analyzer import EntityRecognizer

from safebot.redaction.recognizers.base import (
    SEP,
    ContextValueRecognizer,
    RegexRecognizer,
    SafebotRecognizer,
    SequenceRecognizer,
)

DIGIT_RUN = rf"\d(?:{SEP}\d)*"

# Six letters after 'booking reference is' are a PNR; these words are what people type there instead.
NOT_A_PNR = frozenset(
    "please number thanks flight travel ticket change cancel status wanted needed booked "
    "myself single return online mobile sorry thank really urgent handle really attach "
    "before coming during family friend second number".split()
)

PNR_CUE = (
    r"(?:booking|confirmation|reservation|record\s+locator|locator|pnr|ref(?:erence)?|"
    r"conf(?:irmation)?\s*(?:code|number|#)?)"
)


def _pnr_ok(value: str) -> bool:
    v = value.lower()
    return v not in NOT_A_PNR and not v.isdigit()


class MrzRecognizer(SafebotRecognizer):
    """Machine-readable zone lines of a passport (TD3: two lines of 44 characters)."""

    LINE = re.compile(r"[A-Z0-9<]{30,44}", re.IGNORECASE)

    def __init__(self) -> None:
        super().__init__("PASSPORT_MRZ", "safebot.passport_mrz")

    def applies(self, text: str, digit_count: int) -> bool:
        return "<" in text

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        for m in self.LINE.finditer(text):
            line = m.group(0)
            if line.count("<") >= 2 and (line[:2].upper().startswith("P") or sum(c.isdigit() for c in line) >= 10):
                yield m.start(), m.end(), 0.95


def recognizers() -> list[EntityRecognizer]:
    """The airline pack, newly built."""
    return [
        ContextValueRecognizer(
            "BOOKING_REFERENCE", "safebot.pnr_cue",
            pattern=rf"\b{PNR_CUE}\s*(?:code|number|no\.?|#)?\s*(?:is|was|:|-)?\s*(?P<value>[a-z0-9]{{6}})\b",
            score=0.85, reject=lambda v: not _pnr_ok(v),
        ),
        RegexRecognizer(
            "BOOKING_REFERENCE", "safebot.pnr",
            # Mixed letters and digits, in capitals: 'X7K9QP'. Lower-case needs a cue (above).
            pattern=r"\b(?P<value>(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6})\b",
            score=0.3, flags=0, validate=_pnr_ok,
            context=("booking", "reference", "ref", "pnr", "confirmation", "reservation", "locator", "trip"),
            requires_context=True,
        ),
        SequenceRecognizer(
            "TICKET_NUMBER", "safebot.eticket",
            run=DIGIT_RUN, lengths=(13,), score=0.6,
            context=("ticket", "e-ticket", "eticket", "tkt", "etkt"), requires_digits=13,
        ),
        ContextValueRecognizer(
            "PASSPORT", "safebot.passport",
            pattern=r"\bpassport(?:\s*(?:number|no\.?|num|#|id))?\s*(?:is|was|:|-)?\s*(?:now\s+)?"
            r"(?P<value>(?=[a-z0-9 ]*\d)[a-z]{0,2}\s?\d[a-z0-9]{4,8})\b",
            score=0.9,
        ),
        MrzRecognizer(),
        ContextValueRecognizer(
            "FREQUENT_FLYER", "safebot.frequent_flyer",
            pattern=r"\b(?:frequent[\s\-]?fl[yi]er|ff|loyalty|mileage(?:plus)?|member(?:ship)?|"
            r"skymiles|aadvantage|avios|executive\s+club|flying\s+blue)"
            r"(?:\s*(?:number|no\.?|num|#|id|account|card))?\s*(?:is|was|:|-)?\s*"
            r"(?P<value>(?=[a-z0-9]*\d)[a-z0-9]{6,12})\b",
            score=0.85,
        ),
        ContextValueRecognizer(
            "KNOWN_TRAVELER_NUMBER", "safebot.known_traveler",
            pattern=r"\b(?:known\s+travel(?:l)?er|ktn|global\s+entry|pre-?check|trusted\s+traveler|nexus|sentri)"
            r"(?:\s*(?:number|no\.?|num|#|id))?\s*(?:is|was|:|-)?\s*"
            r"(?P<value>(?=[a-z0-9]*\d)[a-z0-9]{8,10})\b",
            score=0.9,
        ),
        ContextValueRecognizer(
            "REDRESS_NUMBER", "safebot.redress",
            pattern=r"\bredress(?:\s*(?:control)?\s*(?:number|no\.?|num|#))?\s*(?:is|was|:|-)?\s*"
            r"(?P<value>\d{7,13})\b",
            score=0.9,
        ),
    ]
