"""Named validators a recognizer spec can use (``validator: luhn``).

A validator looks at a candidate value as written and says whether it is well formed: a
checksum, a blacklist or a range. Checksums look at the canonical form (separators removed,
upper-cased); date and digit-count checks at the text as written.
It never vetoes a value on its own: a value that fails gets the recognizer's
``invalid_score`` instead of its ``score``, so after a cue word ('my ssn is 078-05-1120') it
is still redacted, and without one it stays below the threshold. Redaction is about
recall: a customer's mistyped card number is still their card number.

Names: ``luhn``, ``card``, ``iban``, ``iban_shape``, ``ssn``, ``itin``, ``aba``, ``bic``, ``plausible_dob``, ``digits:<min>-<max>``,
``stdnum:<module>`` (any python-stdnum module with ``is_valid``, e.g. ``stdnum:us.ssn``,
``stdnum:de.idnr``), and the names custom recognizers used before (``aba_routing``,
``us_ssn``, ``mod11``, ``verhoeff``, ``damm``).

>>> get_validator("luhn")("4111111111111111"), get_validator("stdnum:us.ssn")("078051120")
(True, False)
>>> get_validator("digits:7-15")("+1 (415) 555-0134")
True
"""

from __future__ import annotations

import datetime as _dt
import importlib
import re
from collections.abc import Callable
from functools import cache, lru_cache

from safebot.errors import ConfigError
from safebot.redaction.types import canonical_value

__all__ = ["VALIDATOR_NAMES", "Validator", "get_validator"]

Validator = Callable[[str], bool]


def _luhn(value: str) -> bool:
    from stdnum import luhn

    # Luhn and no single repeated digit ('0000 0000 0000 0000' passes Luhn).
    return value.isdigit() and len(set(value)) > 1 and luhn.is_valid(value)


def _card(value: str) -> bool:
    # Luhn, and not starting with 0: no payment card does (ISO/IEC 7812 major industry
    # identifier 0 is not issued), while e-tickets and phone numbers often do.
    return value[:1] != "0" and _luhn(value)


def _iban(value: str) -> bool:
    from stdnum import iban

    # mod-97, a known country and its BBAN structure. The national check digits inside the
    # BBAN are not required: a value with the right shape, country and mod-97 is an IBAN.
    return value[:2].isalpha() and value[2:4].isdigit() and iban.is_valid(value, check_country=False)


@lru_cache(maxsize=1)
def _iban_lengths() -> dict[str, int]:
    from safebot.redaction.recognizers.words import entries

    return {line.split()[0]: int(line.split()[1]) for line in entries("iban_lengths")}


def _iban_shape(value: str) -> bool:
    """A known country, two check digits and the country's IBAN length (checksum not checked)."""
    return (
        _iban_lengths().get(value[:2]) == len(value) and value[2:4].isdigit() and value[4:].isalnum()
    )


def _ssn(value: str) -> bool:
    from stdnum.us import ssn

    # python-stdnum's checks (area, group, serial, its blacklist) plus the ones stock Presidio
    # adds: one digit repeated, the textbook sample 123-45-6789.
    return ssn.is_valid(value) and len(set(value)) > 1 and value != "123456789"


# The IRS added groups 50-65 in 2011; python-stdnum's us.itin still allows only 70-88, 90-92, 94-99.
_ITIN_GROUPS = frozenset({*range(50, 66), *range(70, 89), 90, 91, 92, *range(94, 100)})


def _itin(value: str) -> bool:
    return len(value) == 9 and value.isdigit() and value[0] == "9" and int(value[3:5]) in _ITIN_GROUPS


def _aba(value: str) -> bool:
    from stdnum.us import rtn

    return rtn.is_valid(value)


def _bic(value: str) -> bool:
    from stdnum import bic

    return bic.is_valid(value)


_DATE_GROUPS = re.compile(r"\d+")
_YEAR = re.compile(r"(19\d{2}|20\d{2})")


def _plausible_dob(value: str) -> bool:
    """A date someone could be born on: day/month in range, aged at least 14."""
    groups = _DATE_GROUPS.findall(value)
    if len(groups) == 3 and not any(
        _is_day_month(groups[a], groups[b]) for a, b in ((0, 1), (1, 0), (1, 2), (2, 1))
    ):
        return False  # '56-85-91' is a phone number, not a date
    years = _YEAR.findall(value)
    if not years:
        return True
    return int(years[-1]) <= _dt.date.today().year - 14


def _is_day_month(day: str, month: str) -> bool:
    return len(day) <= 2 and len(month) <= 2 and 1 <= int(day) <= 31 and 1 <= int(month) <= 12


def _digits(low: int, high: int) -> Validator:
    def check(value: str) -> bool:
        return low <= sum(c.isdigit() for c in value) <= high

    return check


def _stdnum(module: str) -> Validator:
    try:
        mod = importlib.import_module(f"stdnum.{module}")
    except ImportError:
        raise ConfigError(f"validator 'stdnum:{module}': python-stdnum has no module {module!r}") from None
    is_valid = getattr(mod, "is_valid", None)
    if not callable(is_valid):
        raise ConfigError(f"validator 'stdnum:{module}': the module has no is_valid()")

    def check(value: str) -> bool:
        return bool(is_valid(canonical_value(value)))

    return check


def _canonical(check: Validator) -> Validator:
    def on_canonical(value: str) -> bool:
        return check(canonical_value(value))

    return on_canonical


_NAMED: dict[str, Callable[[], Validator]] = {
    "luhn": lambda: _canonical(_luhn),
    "card": lambda: _canonical(_card),
    "iban": lambda: _canonical(_iban),
    "iban_shape": lambda: _canonical(_iban_shape),
    "ssn": lambda: _canonical(_ssn),
    "itin": lambda: _canonical(_itin),
    "aba": lambda: _canonical(_aba),
    "bic": lambda: _canonical(_bic),
    "plausible_dob": lambda: _plausible_dob,
    # names from the first custom-recognizer format ('checksum:')
    "aba_routing": lambda: _canonical(_aba),
    "us_ssn": lambda: _stdnum("us.ssn"),
    "mod11": lambda: _stdnum("iso7064.mod_11_10"),
    "verhoeff": lambda: _stdnum("verhoeff"),
    "damm": lambda: _stdnum("damm"),
}

#: every fixed validator name (``digits:<min>-<max>`` and ``stdnum:<module>`` come on top)
VALIDATOR_NAMES = tuple(_NAMED)
_DIGITS = re.compile(r"^digits:(\d{1,2})-(\d{1,2})$")
_STDNUM = re.compile(r"^stdnum:([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)$")


@cache
def get_validator(name: str) -> Validator:
    """The validator called ``name``. ConfigError (naming the choices) for an unknown name."""
    if name in _NAMED:
        return _NAMED[name]()
    m = _DIGITS.match(name)
    if m:
        return _digits(int(m.group(1)), int(m.group(2)))
    m = _STDNUM.match(name)
    if m:
        return _stdnum(m.group(1))
    raise ConfigError(
        f"unknown validator {name!r}; expected one of {', '.join(VALIDATOR_NAMES)}, "
        "'digits:<min>-<max>' or 'stdnum:<module>' (e.g. stdnum:us.ssn)"
    )
