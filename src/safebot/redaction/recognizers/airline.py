"""Airline pack: booking references, e-tickets, passports and MRZ lines, loyalty numbers."""

from __future__ import annotations

import re
from collections.abc import Iterable

from presidio_analyzer import EntityRecognizer

from safebot.redaction.recognizers.base import (
    SEP,
    CueValueRecognizer,
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


def _not_flight_number(value: str) -> bool:
    # 'BA2490', 'U2123' next to a booking word are flights, not booking references.
    return re.fullmatch(r"[A-Z]{2}\d{1,4}|[A-Z]\d\d{1,4}|\d[A-Z]\d{1,4}", value) is None


def recognizers() -> list[EntityRecognizer]:
    """The airline pack, newly built."""
    return [
        CueValueRecognizer(
            "BOOKING_REFERENCE", "safebot.pnr_cue",
            cue=r"booking(?:\s+(?:ref(?:erence)?|code|number))?|confirmation(?:\s+(?:code|number))?|"
            r"reservation(?:\s+(?:code|number))?|record\s+locator|locator|pnr|ref(?:erence)?|"
            r"conf(?:irmation)?\s*#",
            lengths=(6,), need_digit=False, score=0.85, alpha_groups="unusual",
            accept=lambda v: _pnr_ok(v) and _not_flight_number(v),
        ),
        RegexRecognizer(
            "BOOKING_REFERENCE", "safebot.pnr",
            # Mixed letters and digits, in capitals: 'X7K9QP'. Lower-case needs a cue (above).
            pattern=r"\b(?P<value>(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6})\b",
            score=0.3, flags=0, validate=lambda v: _pnr_ok(v) and _not_flight_number(v),
            context=("booking", "reference", "ref", "pnr", "confirmation", "reservation", "locator", "trip"),
            requires_context=True,
        ),
        SequenceRecognizer(
            "TICKET_NUMBER", "safebot.eticket",
            run=DIGIT_RUN, lengths=(13,), score=0.6,
            context=("ticket", "e-ticket", "eticket", "tkt", "etkt", "チケット", "billet", "ticketnummer"),
            requires_digits=13,
        ),
        CueValueRecognizer(
            "PASSPORT", "safebot.passport",
            cue=r"passport(?:\s+(?:number|no\.?|num|#|id|details))?|travel\s+document(?:\s+number)?",
            lengths=range(6, 10), score=0.9, alpha_groups="unusual",
        ),
        MrzRecognizer(),
        CueValueRecognizer(
            "FREQUENT_FLYER", "safebot.frequent_flyer",
            cue=r"frequent[\s\-]?fl[yi]er|ff|loyalty|mileage\s*plus|mileage|member(?:ship)?|skymiles|"
            r"aadvantage|avios|executive\s+club|flying\s+blue|miles\s*(?:&|and)\s*more|"
            r"rewards?|asia\s+miles|krisflyer|true\s*blue|rapid\s+rewards",
            lengths=range(6, 17), score=0.85, alpha_groups="unusual",
        ),
        CueValueRecognizer(
            "KNOWN_TRAVELER_NUMBER", "safebot.known_traveler",
            cue=r"known\s+travell?er|ktn|global\s+entry|pre-?check|trusted\s+travell?er|nexus|sentri",
            lengths=range(8, 11), score=0.9,
        ),
        CueValueRecognizer(
            "REDRESS_NUMBER", "safebot.redress",
            cue=r"redress(?:\s+control)?",
            lengths=range(7, 14), digits_only=True, score=0.9,
        ),
    ]
