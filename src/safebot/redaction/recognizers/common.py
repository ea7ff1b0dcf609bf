"""Common pack: email, phone, street address, date of birth and names without capitals.

Names with capitals and places come from spaCy's NER in the detector, not from here.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable

import phonenumbers
from presidio_analyzer import EntityRecognizer

from safebot.redaction.recognizers.base import RegexRecognizer, SafebotRecognizer
from safebot.redaction.recognizers.names import NameGazetteerRecognizer

MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_YEAR = r"(?:19\d{2}|20\d{2})"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
DATE_WITH_YEAR = (
    rf"(?:\b\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]{_YEAR}\b|\b{_YEAR}[/.\-]\d{{1,2}}[/.\-]\d{{1,2}}\b|"
    rf"\b{_DAY}\s+(?:of\s+)?{MONTHS}\.?,?\s+{_YEAR}\b|\b{MONTHS}\.?\s+{_DAY},?\s+{_YEAR}\b|"
    rf"\b\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2}}\b)"
)

STREET_SUFFIX = (
    r"(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl|"
    r"terrace|way|circle|cir|highway|hwy|parkway|pkwy|square|sq|close|crescent|cres|"
    r"gardens|grove|row|walk|trail|plaza|alley|loop|mews|hill)"
)
ADDRESS = (
    rf"\b\d{{1,6}}[a-z]?(?:[ \-]\d{{1,4}})?\s+(?:[a-z][a-z'\-]*\.?\s+){{0,4}}{STREET_SUFFIX}\b\.?"
    r"(?:,?\s+(?:apt|apartment|unit|suite|ste|flat|#)\.?\s*#?\s*[a-z0-9\-]+)?"
    r"(?:,?\s+[a-z][a-z\-']+(?:\s+[a-z][a-z\-']+){0,2})?"  # city
    r"(?:,?\s+[a-z]{2})?(?:,?\s+\d{5}(?:-\d{4})?)?"  # state, zip
)
POSTCODE = r"\b(?P<value>[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\d{5}(?:-\d{4})?)\b"


# Numbers after these words are references, not phone numbers: 'reference 20240312-0045'.
NOT_A_PHONE = re.compile(
    r"\b(?:ref(?:erence)?|invoice|order|case|ticket|e-?ticket|etkt|tkt|confirmation|transaction|"
    r"tracking|id|routing|aba|account|acct|a/c|iban|passport|member(?:ship)?|ssn|social|card|"
    r"fl[yi]er|loyalty|miles|mileage(?:plus)?|skymiles|aadvantage|avios|rewards?|club|itin|tax|"
    r"redress|travell?er|ktn|global entry|precheck|sort code|checking|savings)\b[^\d]*$"
)


class PhoneRecognizer(SafebotRecognizer):
    """Phone numbers via Google's libphonenumber (``phonenumbers``), several regions."""

    REGIONS = ("US", "GB", "DE", "FR", "IE", "ES", "IT", "NL", "IN", "AU", "CA")

    def __init__(self) -> None:
        super().__init__(
            "PHONE_NUMBER", "safebot.phone",
            # Not 'number': 'account number 12345678901' is not a phone because of that word.
            context=("phone", "call", "mobile", "cell", "tel", "whatsapp", "text me", "reach me", "fax",
                     "landline", "ring me", "contact number"),
            requires_digits=7,
        )

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        seen: set[tuple[int, int]] = set()
        for region in self.REGIONS:
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.POSSIBLE):
                span = (match.start, match.end)
                if span in seen:
                    continue
                seen.add(span)
                valid = phonenumbers.is_valid_number(match.number)
                digits = sum(c.isdigit() for c in match.raw_string)
                if not valid and digits < 10:
                    continue
                boost = self.boost(lower, *span)
                if not boost and NOT_A_PHONE.search(lower, max(0, match.start - 24), match.start):
                    continue
                yield match.start, match.end, min(1.0, (0.75 if valid else 0.45) + boost)
            if seen:
                # The first region that finds numbers wins; others mostly re-find the same ones.
                break


def _plausible_dob(value: str) -> bool:
    years = re.findall(r"(19\d{2}|20\d{2})", value)
    if not years:
        return True
    return int(years[-1]) <= _dt.date.today().year - 14


def recognizers() -> list[EntityRecognizer]:
    """The common pack, newly built."""
    return [
        RegexRecognizer(
            "EMAIL_ADDRESS", "safebot.email",
            pattern=r"\b[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,24}\b",
            score=1.0,
        ),
        PhoneRecognizer(),
        RegexRecognizer(
            "DATE_OF_BIRTH", "safebot.date_of_birth",
            pattern=rf"(?P<value>{DATE_WITH_YEAR})",
            score=0.45, validate=_plausible_dob,
            context=("born", "birth", "dob", "d.o.b", "birthday", "bday", "date of birth", "verify", "age"),
            requires_digits=2,
        ),
        RegexRecognizer(
            "DATE_OF_BIRTH", "safebot.date_of_birth_cue",
            pattern=rf"(?:born\s+(?:on\s+)?|birth(?:day|date)?\s*(?:is|:|was)?\s*|dob\s*(?:is|:)?\s*|"
            rf"d\.o\.b\.?\s*(?:is|:)?\s*)(?P<value>{_DAY}\s+(?:of\s+)?{MONTHS}|{MONTHS}\s+{_DAY}|"
            rf"\d{{1,2}}[/.\-]\d{{1,2}}(?:[/.\-]\d{{2,4}})?)",
            score=0.85, requires_digits=1,
        ),
        RegexRecognizer("ADDRESS", "safebot.street_address", pattern=ADDRESS, score=0.7, requires_digits=1,
                        context=("address", "live", "moved", "street", "send")),
        RegexRecognizer(
            "ADDRESS", "safebot.postcode",
            pattern=POSTCODE, score=0.05, flags=re.IGNORECASE,
            context=("postcode", "post code", "zip", "postal code", "zip code"), requires_context=True,
            requires_digits=1,
        ),
        NameGazetteerRecognizer(),
    ]
