"""Bank pack: cards, IBANs, routing and account numbers, SSN/ITIN, SWIFT/BIC, CVV and PIN.

Checksums come from python-stdnum; separators between groups are allowed everywhere.
"""

from __future__ import annotations

from presidio_analyzer import EntityRecognizer
from stdnum import bic, iban, luhn
from stdnum.us import itin, rtn, ssn

from safebot.redaction.recognizers.base import (
    SEP,
    CueValueRecognizer,
    RegexRecognizer,
    SequenceRecognizer,
)

DIGIT_RUN = rf"\d(?:{SEP}\d)*"
ALNUM_RUN = rf"[a-z0-9](?:{SEP}[a-z0-9])*"


def _card_ok(value: str) -> bool:
    # Luhn and length 12-19 (Maestro has 12, legacy JCB 15 digits starting 1800). No issuer-prefix
    # check: an e-ticket number that happens to pass Luhn loses to the ticket recognizer on score.
    return value.isdigit() and len(set(value)) > 1 and luhn.is_valid(value)


def _card_score(value: str) -> float:
    # No card number starts with 0 (e-tickets do: '0812345678903'); 12 digits is rare (Maestro).
    return 0.5 if value[0] == "0" or len(value) == 12 else 0.9


def _iban_ok(value: str) -> bool:
    return value[:2].isalpha() and value[2:4].isdigit() and iban.is_valid(value)


def _bic_ok(value: str) -> bool:
    # Only upper case in the original is checked by the caller's regex; stdnum checks shape.
    return bic.is_valid(value)


def recognizers() -> list[EntityRecognizer]:
    """The bank pack, newly built (call once per Redactor)."""
    return [
        SequenceRecognizer(
            "CREDIT_CARD", "safebot.card",
            run=DIGIT_RUN, lengths=range(12, 20), validate=_card_ok, score=0.9, score_of=_card_score,
            context=("card", "visa", "mastercard", "amex", "debit", "credit", "cc"),
            requires_digits=12,
        ),
        SequenceRecognizer(
            "IBAN_CODE", "safebot.iban",
            run=rf"\b[a-z]{{2}}{SEP}\d{{2}}(?:{SEP}[a-z0-9])+", unit=r"[a-z0-9]+",
            lengths=range(15, 35), validate=_iban_ok, score=0.95,
            context=("iban", "account"), requires_digits=2,
        ),
        SequenceRecognizer(
            "ABA_ROUTING_NUMBER", "safebot.aba_routing",
            run=DIGIT_RUN, lengths=(9,), validate=rtn.is_valid, score=0.35,
            context=("routing", "aba", "rtn", "transit", "sort code"),
            requires_digits=9,
        ),
        SequenceRecognizer(
            "US_SSN", "safebot.ssn",
            # Without context a bare valid 9-digit number stays below the 0.4 default threshold:
            # invoice and order numbers look the same.
            run=DIGIT_RUN, lengths=(9,), validate=lambda v: ssn.is_valid(v), score=0.35,
            context=("ssn", "social security", "social", "ss#", "ss number", "tax id", "tin"),
            requires_digits=9,
        ),
        SequenceRecognizer(
            "US_ITIN", "safebot.itin",
            run=DIGIT_RUN, lengths=(9,), validate=lambda v: itin.is_valid(v), score=0.36,
            context=("itin", "taxpayer", "tax id"), requires_digits=9,
        ),
        SequenceRecognizer(
            "BANK_ACCOUNT", "safebot.account_number",
            run=DIGIT_RUN, lengths=range(6, 18), score=0.45,
            context=("account", "acct", "a/c", "acc", "checking", "savings", "account number"),
            requires_context=True, requires_digits=6,
        ),
        RegexRecognizer(
            "SWIFT_CODE", "safebot.swift_bic",
            # Upper case only unless context says so: BIC-shaped words are common in English.
            pattern=r"\b(?P<value>[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b",
            score=0.5, flags=0, validate=_bic_ok,
            context=("swift", "bic", "bank code"),
        ),
        RegexRecognizer(
            "SWIFT_CODE", "safebot.swift_bic_spaced",
            # 'DEUT DE FF 500': the groups people read a BIC out in, upper case.
            pattern=r"\b(?P<value>[A-Z]{4}[ \-]{1,2}[A-Z]{2}[ \-]{1,2}[A-Z0-9]{2}(?:[ \-]{1,2}[A-Z0-9]{3})?)\b",
            score=0.5, flags=0, validate=lambda v: _bic_ok(v.replace(" ", "").replace("-", "")),
            context=("swift", "bic", "bank code"),
        ),
        CueValueRecognizer(
            "SWIFT_CODE", "safebot.swift_bic_cue",
            # 'swift fjpy ch yw xxx', 'BIC: ieoq de g7': any case, groups of letters allowed.
            cue=r"swift(?:\s*/\s*bic)?|bic",
            lengths=(8, 11), need_digit=False, alpha_groups="any", score=0.85,
            accept=_bic_ok,
        ),
        RegexRecognizer(
            "SWIFT_CODE", "safebot.swift_bic_context",
            pattern=r"(?:swift|bic)(?:\s*(?:code|number|no\.?|#))?\s*(?:is|:)?\s*"
            r"(?P<value>[a-z]{6}[a-z0-9]{2}(?:[a-z0-9]{3})?)\b",
            score=0.85, validate=lambda v: _bic_ok(v.upper()),
        ),
        CueValueRecognizer(
            "CVV", "safebot.cvv",
            # 'the cvv on the back is 123': the place words belong to the cue, not the value.
            cue=r"(?:cvv2?|cvc2?|csc|cid|(?:security|card|verification)\s+code)"
            r"(?:\s+(?:on|at|from)\s+the\s+back(?:\s+of\s+(?:the|my)\s+card)?)?|3[\s\-]*digits?(?:\s+[a-z]+){0,4}|"
            r"code\s+on\s+the\s+back|(?:the\s+)?(?:number|digits)\s+on\s+the\s+back",
            lengths=(3, 4), digits_only=True, requires_digits=3,
        ),
        CueValueRecognizer(
            "PIN", "safebot.pin",
            cue=r"pin(?:\s*(?:code|number))?|passcode|pin\s+to",
            lengths=(4, 5, 6), digits_only=True, requires_digits=4,
        ),
    ]
