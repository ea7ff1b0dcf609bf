"""Synthetic PII for tests and benchmarks: checksummed identifiers, the forms customers type them in,
and a check that a planted value did not survive redaction.

Everything here is made up. Identifiers carry valid checksums (Luhn, IBAN mod-97, ABA 3-7-1, ICAO
9303 MRZ check digits) so that a recognizer cannot skip them for failing validation; names and
addresses are invented combinations.

The generators take a ``random.Random`` so that the same code drives Hypothesis tests (through
``st.randoms()``), the seeded ``bench/pii_forms.py`` set and ad-hoc use::

    >>> import random
    >>> from support.pii import plant
    >>> msg = plant(random.Random(7), "CREDIT_CARD", form="dashes")
    >>> msg.planted[0].form
    'dashes'

``survivors(message, output)`` lists the planted values that are still readable in a redacted
output, allowing the last four characters (a ``****1234`` mask) and ignoring placeholders.

Besides each kind's everyday ``forms`` (what ``bench/pii_forms.py`` samples), every kind has
``obfuscated`` forms (``support.obfuscated``: odd separators, non-ASCII digits, spelled digits,
look-alike letters, JSON/URL, combining marks, NFD accents, written-out e-mail addresses)::

    >>> msg = plant(random.Random(7), "US_SSN", form="spelled_digits")
    >>> msg.planted[0].form in KINDS["US_SSN"].obfuscated
    True

This module imports only the standard library and python-stdnum; Hypothesis is not needed.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.us import rtn as _rtn

from support import obfuscated as ob

__all__ = [
    "DOMAIN_KINDS",
    "FORMS",
    "KEEP_MESSAGES",
    "KINDS",
    "OBFUSCATED_FORMS",
    "Kind",
    "Message",
    "Planted",
    "canonical",
    "keep_messages",
    "mangled",
    "plant",
    "plant_many",
    "survives",
    "survivors",
]

ZWSP = "\u200b"
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

# ---------------------------------------------------------------------------------------------
# Data types


@dataclass(frozen=True)
class Planted:
    """One identifier planted in a message."""

    kind: str  # safebot entity type, e.g. "CREDIT_CARD"
    value: str  # the identifier in its plain form, e.g. "4111111111111111"
    rendered: str  # as written in the message, e.g. "4111-1111-1111-1111"
    form: str  # how it was written: "contiguous", "dashes", "zero_width", "fullwidth", ...
    variant: str  # sub-kind: card brand, IBAN country, passport country, ...
    start: int  # offsets of ``rendered`` in Message.text
    end: int
    words: tuple[str, ...] = ()  # for names and addresses: the words that must not survive

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.variant}/{self.form}"


@dataclass(frozen=True)
class Message:
    """A customer message with planted identifiers and values that must stay."""

    text: str
    domain: str  # "bank" or "airline"
    planted: tuple[Planted, ...] = ()
    keep: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Checksummed identifiers. Each maker returns (variant, value, groups) where groups split value the
# way people write it.

Groups = list[str]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _split(value: str, sizes: Sequence[int]) -> Groups:
    out, i = [], 0
    for s in sizes:
        out.append(value[i : i + s])
        i += s
    if i < len(value):
        out.append(value[i:])
    return [g for g in out if g]


_CARD_BRANDS: dict[str, tuple[tuple[str, ...], int, tuple[int, ...]]] = {
    # brand: (prefixes, length, grouping)
    "visa": (("4",), 16, (4, 4, 4, 4)),
    "mastercard": (("51", "52", "53", "54", "55", "2221", "2720"), 16, (4, 4, 4, 4)),
    "amex": (("34", "37"), 15, (4, 6, 5)),
    "discover": (("6011", "65"), 16, (4, 4, 4, 4)),
    "diners": (("36", "38"), 14, (4, 6, 4)),
    "jcb": (("3528", "3589"), 16, (4, 4, 4, 4)),
}


def make_card(rng: random.Random, brand: str | None = None) -> tuple[str, str, Groups]:
    brand = brand or rng.choice(sorted(_CARD_BRANDS))
    prefixes, length, grouping = _CARD_BRANDS[brand]
    body = rng.choice(prefixes)
    body += _digits(rng, length - 1 - len(body))
    value = body + _luhn.calc_check_digit(body)
    return brand, value, _split(value, grouping)


# country: BBAN structure as a list of (alphabet, count); national checksums are met by rejection.
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIG = "0123456789"
_IBAN_BBAN: dict[str, list[tuple[str, int]]] = {
    "GB": [(_UPPER, 4), (_DIG, 14)],
    "DE": [(_DIG, 18)],
    "FR": [(_DIG, 23)],
    "ES": [(_DIG, 20)],
    "NL": [(_UPPER, 4), (_DIG, 10)],
    "IE": [(_UPPER, 4), (_DIG, 14)],
    "IT": [(_UPPER, 1), (_DIG, 10), (_DIG, 12)],
    "CH": [(_DIG, 17)],
    "BE": [(_DIG, 12)],
    "AT": [(_DIG, 16)],
    "PL": [(_DIG, 24)],
}


def make_iban(rng: random.Random, country: str | None = None) -> tuple[str, str, Groups]:
    country = country or rng.choice(sorted(_IBAN_BBAN))
    for _ in range(5000):
        bban = "".join("".join(rng.choice(a) for _ in range(n)) for a, n in _IBAN_BBAN[country])
        value = country + _iban.calc_check_digits(country + "00" + bban) + bban
        if _iban.is_valid(value):
            return country, value, _split(value, [4] * 9)
    raise RuntimeError(f"could not make a valid {country} IBAN")  # pragma: no cover


def make_aba(rng: random.Random) -> tuple[str, str, Groups]:
    first = rng.choice([f"{n:02d}" for n in [*range(1, 13), *range(21, 33), *range(61, 73)]])
    body = first + _digits(rng, 6)
    value = body + _rtn.calc_check_digit(body)
    return "us", value, _split(value, (3, 3, 3))


def make_ssn(rng: random.Random) -> tuple[str, str, Groups]:
    while True:
        area = rng.randint(1, 899)
        if area == 666:
            continue
        group, serial = rng.randint(1, 99), rng.randint(1, 9999)
        value = f"{area:03d}{group:02d}{serial:04d}"
        if len(set(value)) > 2 and value not in ("123456789", "078051120", "219099999"):
            return "ssn", value, _split(value, (3, 2, 4))


def make_itin(rng: random.Random) -> tuple[str, str, Groups]:
    group = rng.choice([*range(70, 89), *range(90, 93), *range(94, 100)])
    value = f"9{_digits(rng, 2)}{group:02d}{_digits(rng, 4)}"
    return "itin", value, _split(value, (3, 2, 4))


def make_bank_account(rng: random.Random) -> tuple[str, str, Groups]:
    n = rng.choice([8, 10, 12])
    value = str(rng.randint(1, 9)) + _digits(rng, n - 1)
    return f"{n}d", value, _split(value, {8: (4, 4), 10: (3, 3, 4), 12: (4, 4, 4)}[n])


def make_swift(rng: random.Random) -> tuple[str, str, Groups]:
    bank = "".join(rng.choice(_UPPER) for _ in range(4))
    country = rng.choice(["GB", "DE", "FR", "US", "NL", "IE", "CH", "ES"])
    loc = rng.choice(_UPPER[:25]) + rng.choice(_UPPER + "23456789")
    branch = rng.choice(["", "XXX", "".join(rng.choice(_UPPER + _DIG) for _ in range(3))])
    value = bank + country + loc + branch
    return ("bic11" if branch else "bic8"), value, [bank, country, loc, branch]


def make_cvv(rng: random.Random) -> tuple[str, str, Groups]:
    n = rng.choice([3, 3, 4])
    value = _digits(rng, n)
    while len(set(value)) == 1:
        value = _digits(rng, n)
    return f"{n}d", value, list(value)


def make_pin(rng: random.Random) -> tuple[str, str, Groups]:
    n = rng.choice([4, 4, 6])
    value = _digits(rng, n)
    while len(set(value)) == 1:
        value = _digits(rng, n)
    return f"{n}d", value, list(value)


_AIRLINE_PREFIXES = ["001", "006", "016", "057", "074", "081", "125", "157", "176", "220", "618"]


def make_ticket(rng: random.Random) -> tuple[str, str, Groups]:
    prefix = rng.choice(_AIRLINE_PREFIXES)
    value = prefix + _digits(rng, 10)
    return prefix, value, [prefix, value[3:]]


def make_passport(rng: random.Random) -> tuple[str, str, Groups]:
    country = rng.choice(["us", "us_next", "gb", "de", "fr", "in", "ca"])
    if country in ("us", "gb"):
        value = str(rng.randint(1, 9)) + _digits(rng, 8)
    elif country == "us_next":
        value = rng.choice("ACEFGHJKLMNPRSTUVWXYZ") + _digits(rng, 8)
    elif country == "de":
        alphabet = "CFGHJKLMNPRTVWXYZ0123456789"
        value = rng.choice("CFGHJK") + "".join(rng.choice(alphabet) for _ in range(8))
    elif country == "fr":
        value = _digits(rng, 2) + rng.choice(_UPPER) + rng.choice(_UPPER) + _digits(rng, 5)
    elif country == "in":
        value = rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + _digits(rng, 7)
    else:  # ca
        value = rng.choice(_UPPER) + rng.choice(_UPPER) + _digits(rng, 6)
    return country, value, _split(value, (3, 3, 3))


def _mrz_check(s: str) -> str:
    total = 0
    for i, ch in enumerate(s):
        v = int(ch) if ch.isdigit() else (0 if ch == "<" else ord(ch) - 55)
        total += v * (7, 3, 1)[i % 3]
    return str(total % 10)


def make_mrz(rng: random.Random) -> tuple[str, str, Groups, tuple[str, ...]]:
    """A TD3 (passport) machine-readable zone: two 44-character lines with valid check digits."""
    country = rng.choice(["UTO", "GBR", "USA", "DEU", "FRA"])
    surname = rng.choice(_LAST_PLAIN).upper()
    given = rng.choice(_FIRST_PLAIN).upper()
    line1 = f"P<{country}{surname}<<{given}".ljust(44, "<")[:44]
    doc = rng.choice(_UPPER) + _digits(rng, 8)
    dob = f"{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    exp = f"{rng.randint(27, 35):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    personal = "<" * 14
    part = doc + _mrz_check(doc)
    part_dob = dob + _mrz_check(dob)
    part_exp = exp + _mrz_check(exp)
    part_pers = personal + _mrz_check(personal)
    final = _mrz_check(part + part_dob + part_exp + part_pers)
    line2 = part + country + part_dob + rng.choice("MF") + part_exp + part_pers + final
    assert len(line1) == len(line2) == 44
    return country, line2, [line1, line2], (surname.lower(), given.lower())


def make_pnr(rng: random.Random) -> tuple[str, str, Groups]:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(6))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return "pnr", value, [value[:3], value[3:]]


def make_frequent_flyer(rng: random.Random) -> tuple[str, str, Groups]:
    program = rng.choice(["mileageplus", "executive_club", "aadvantage", "skymiles", "miles_more"])
    if program == "mileageplus":
        value = "".join(rng.choice(_UPPER) for _ in range(2)) + _digits(rng, 6)
        groups = [value[:2], value[2:5], value[5:]]
    elif program == "executive_club":
        value = str(rng.randint(1, 9)) + _digits(rng, 7)
        groups = _split(value, (4, 4))
    elif program == "aadvantage":
        value = "".join(rng.choice(_UPPER + _DIG) for _ in range(7))
        while not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
            value = "".join(rng.choice(_UPPER + _DIG) for _ in range(7))
        groups = [value[:3], value[3:]]
    elif program == "skymiles":
        value = str(rng.randint(1, 9)) + _digits(rng, 9)
        groups = _split(value, (3, 3, 4))
    else:
        value = "992" + _digits(rng, 12)
        groups = _split(value, (3, 4, 4, 4))
    return program, value, groups


def make_ktn(rng: random.Random) -> tuple[str, str, Groups]:
    kind = rng.choice(["tt", "98", "15"])
    value = ("TT" + _digits(rng, 7)) if kind == "tt" else (kind + _digits(rng, 7))
    return kind, value, [value[:3], value[3:6], value[6:]]


def make_redress(rng: random.Random) -> tuple[str, str, Groups]:
    value = str(rng.randint(1, 9)) + _digits(rng, 6)
    return "7d", value, [value[:3], value[3:]]


def make_phone(rng: random.Random) -> tuple[str, str, Groups]:
    style = rng.choice(["us", "us", "uk"])
    if style == "us":
        area = rng.choice(["212", "312", "415", "617", "702", "213", "646"])
        value = area + "555" + f"{rng.randint(100, 199):04d}"
        return "us", value, [area, "555", value[6:]]
    value = "2079460" + _digits(rng, 3)  # Ofcom's range for drama
    return "uk", value, ["20", "7946", value[6:]]


def make_dob(rng: random.Random) -> tuple[str, str, Groups]:
    y, m, d = rng.randint(1940, 2004), rng.randint(1, 12), rng.randint(1, 28)
    style = rng.choice(["dmy", "mdy", "iso"])
    if style == "iso":
        return style, f"{y:04d}{m:02d}{d:02d}", [f"{y:04d}", f"{m:02d}", f"{d:02d}"]
    if style == "mdy":
        return style, f"{m:02d}{d:02d}{y:04d}", [f"{m:02d}", f"{d:02d}", f"{y:04d}"]
    return style, f"{d:02d}{m:02d}{y:04d}", [f"{d:02d}", f"{m:02d}", f"{y:04d}"]


_EMAIL_DOMAINS = ["example.com", "example.org", "mail.example.net", "example.co.uk"]


def make_email(rng: random.Random) -> tuple[str, str, Groups]:
    first, last = rng.choice(_FIRST_PLAIN).lower(), rng.choice(_LAST_PLAIN).lower()
    local = rng.choice([f"{first}.{last}", f"{first}{last}{rng.randint(1, 99)}", f"{first[0]}{last}"])
    value = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
    return "email", value, [value]


# Names: invented first/last combinations, including apostrophes and hyphens.
_FIRST_PLAIN = ["Sean", "Mary", "Priya", "Joaquin", "Aoife", "Dmitri", "Keisha", "Hiroshi",
                "Fatima", "Oluwaseun", "Ingrid", "Thanh", "Rafaela", "Bartholomew", "Siobhan",
                "Anneliese", "Tomasz", "Guadalupe", "Lucinda", "Ebenezer"]
_FIRST_HYPHEN = ["Mary-Jane", "Jean-Luc", "Anne-Marie", "Jean-Baptiste", "Ji-Woo"]
_LAST_PLAIN = ["Okonkwo", "Hargreaves", "Lindqvist", "Castellanos", "Wojciechowski", "Nakamura",
               "Abernathy", "Delacroix", "Fitzgerald", "Oyelaran", "Vasquez", "Kowalczyk",
               "Thorsby", "Brannigan", "Pemberton", "Achterberg"]
_LAST_APOS = ["O'Neil", "D'Angelo", "O'Sullivan", "D'Souza", "N'Diaye"]
_LAST_HYPHEN = ["Smith-Jones", "Watson-Hale", "Garcia-Marquez", "Lloyd-Webber"]
# Only for the decomposed-accents form (so the everyday forms' random draws stay as they were).
_FIRST_ACCENT = ["José", "Zoë", "Inés", "Björn", "François", "Renée", "Chloé", "Siân", "Míriam",
                 "Ángel", "Jürgen", "Noémie"]
_LAST_ACCENT = ["Núñez", "Müller", "Brontë", "Ibáñez", "Gonçalves", "Fernández", "Jiménez",
                "Håkansson", "Lefèvre", "Dvořák", "Nováková", "Öztürk"]


def make_accented_name(rng: random.Random) -> tuple[str, str, Groups]:
    first, last = rng.choice(_FIRST_ACCENT), rng.choice(_LAST_ACCENT)
    return "accented", f"{first} {last}", [first, last]


def make_name(rng: random.Random) -> tuple[str, str, Groups]:
    style = rng.choice(["plain", "apostrophe", "hyphen_first", "hyphen_last", "three"])
    first = rng.choice(_FIRST_HYPHEN if style == "hyphen_first" else _FIRST_PLAIN)
    last = rng.choice({"apostrophe": _LAST_APOS, "hyphen_last": _LAST_HYPHEN}.get(style, _LAST_PLAIN))
    parts = [first, last]
    if style == "three":
        parts = [first, rng.choice(_FIRST_PLAIN), last]
    value = " ".join(parts)
    return style, value, parts


_STREETS = ["Maplewood Avenue", "Larkspur Lane", "Quarry Hill Road", "Bramblecombe Street",
            "Wexford Close", "Juniper Court", "Harrowgate Drive"]
_CITIES = ["Springfield", "Riverton", "Fairhaven", "Oakridge"]


def make_address(rng: random.Random) -> tuple[str, str, Groups]:
    number = str(rng.randint(2, 9899))
    street = rng.choice(_STREETS)
    style = rng.choice(["street", "street_city"])
    value = f"{number} {street}"
    if style == "street_city":
        value += f", {rng.choice(_CITIES)}"
    return style, value, [value]


# ---------------------------------------------------------------------------------------------
# Forms: how a value is written.

_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}


def to_fullwidth(s: str) -> str:
    return "".join(_FULLWIDTH.get(c, c) for c in s)


def _render_groups(groups: Groups, form: str) -> str:
    groups = [g for g in groups if g]
    if form == "contiguous":
        return "".join(groups)
    if form == "spaces":
        return " ".join(groups)
    if form == "double_spaces":
        return "  ".join(groups)
    if form == "dashes":
        return "-".join(groups)
    if form == "dots":
        return ".".join(groups)
    if form == "zero_width":
        return ZWSP.join(groups)
    if form == "zero_width_contiguous":
        return ZWSP.join("".join(groups))
    if form == "fullwidth":
        return to_fullwidth("".join(groups))
    if form == "fullwidth_spaces":
        return to_fullwidth(" ".join(groups))
    if form == "lowercase":
        return "".join(groups).lower()
    if form == "lowercase_spaces":
        return " ".join(groups).lower()
    raise ValueError(f"unknown form {form!r}")


_DIGIT_FORMS = ("contiguous", "spaces", "double_spaces", "dashes", "dots", "zero_width",
                "fullwidth", "fullwidth_spaces")
_ALNUM_FORMS = (*_DIGIT_FORMS, "lowercase", "lowercase_spaces")
_SHORT_FORMS = ("contiguous", "spaces", "fullwidth", "zero_width_contiguous")
_NAME_FORMS = ("title", "lower", "upper")
FORMS = sorted({*_ALNUM_FORMS, *_SHORT_FORMS, *_NAME_FORMS, "two_lines", "line2_only",
                "one_line", "as_is", "slashes", "month_name"})
OBFUSCATED_FORMS = ob.OBFUSCATED_FORMS

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]

# ---------------------------------------------------------------------------------------------
# Kinds: maker, forms, templates (with {v} for the value). Templates carry the context words a
# customer would use; a few for checksummed types carry none.


@dataclass(frozen=True)
class Kind:
    name: str
    domain: str  # "bank", "airline" or "common"
    make: Callable[[random.Random], tuple[Any, ...]]
    forms: tuple[str, ...]
    templates: tuple[str, ...]
    short: bool = False  # a short value: checked whole, not by windows
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def obfuscated(self) -> tuple[str, ...]:
        """The obfuscated forms that apply to this kind (``support.obfuscated.FORMS_BY_KIND``)."""
        return ob.FORMS_BY_KIND.get(self.name, ())


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("CREDIT_CARD", "bank", make_card, _DIGIT_FORMS, (
        "my card {v} was stolen last night",
        "please block card number {v} asap",
        "hi, the visa {v} got charged twice",
        "{v} is the card I used at the store",
        "can you check the payment on {v}?",
        "Card no: {v}. I don't recognise a charge",
        "i want to add {v} to my account",
    )),
    Kind("IBAN_CODE", "bank", make_iban, _ALNUM_FORMS, (
        "please send the refund to IBAN {v}",
        "my iban is {v}",
        "transfer 500 EUR to {v} please",
        "{v} is the account I want to pay into",
        "is {v} a valid iban for a SEPA transfer?",
    )),
    Kind("ABA_ROUTING_NUMBER", "bank", make_aba, _DIGIT_FORMS, (
        "the routing number is {v}",
        "ABA {v}, what bank is that?",
        "routing no. {v} for the direct deposit",
        "use routing {v} and my checking account",
    )),
    Kind("BANK_ACCOUNT", "bank", make_bank_account, _DIGIT_FORMS, (
        "my account number is {v}",
        "acct no {v}, can you check the balance",
        "please close account {v}",
        "checking account number: {v}",
        "the money should go to my savings account {v}",
    )),
    Kind("US_SSN", "bank", make_ssn, _DIGIT_FORMS, (
        "my ssn is {v}",
        "social security number {v}",
        "SSN: {v}",
        "here is my social {v} for verification",
        "{v} is my social security number",
    )),
    Kind("US_ITIN", "bank", make_itin, _DIGIT_FORMS, (
        "my ITIN is {v}",
        "individual taxpayer id {v}",
        "tax id number (ITIN) {v}",
    )),
    Kind("SWIFT_CODE", "bank", make_swift, ("contiguous", "spaces", "lowercase", "lowercase_spaces"), (
        "the swift code is {v}",
        "BIC: {v}",
        "what is the swift/bic {v} used for?",
        "send it with swift {v} please",
    )),
    Kind("CVV", "bank", make_cvv, _SHORT_FORMS, (
        "cvv is {v}",
        "the security code on the back is {v}",
        "CVV2: {v}",
        "the 3 digits on the back are {v}",
        "cvc {v}",
    ), short=True),
    Kind("PIN", "bank", make_pin, _SHORT_FORMS, (
        "my pin is {v}",
        "I forgot if my PIN was {v}",
        "pin number {v} doesn't work at the atm",
        "changed my pin to {v} yesterday",
    ), short=True),
    Kind("TICKET_NUMBER", "airline", make_ticket, _DIGIT_FORMS, (
        "my e-ticket number is {v}",
        "ticket {v}, can I change the date?",
        "ticket no. {v}",
        "I have etkt {v} and want a refund",
        "{v} is my ticket number",
    )),
    Kind("PASSPORT", "airline", make_passport, _ALNUM_FORMS, (
        "my passport number is {v}",
        "passport no. {v}, expires next year",
        "Passport: {v}",
        "please update my passport to {v}",
        "the passport {v} is new",
    )),
    Kind("PASSPORT_MRZ", "airline", make_mrz, ("two_lines", "line2_only", "one_line"), (
        "here is the bottom of my passport:\n{v}",
        "MRZ {v}",
        "the scan says {v} is that right?",
    )),
    Kind("BOOKING_REFERENCE", "airline", make_pnr, ("contiguous", "lowercase", "spaces", "lowercase_spaces", "fullwidth"), (
        "my booking reference is {v}",
        "PNR {v}",
        "confirmation code {v}, need to change seats",
        "booking ref: {v}",
        "record locator is {v}",
        "can you look up reservation {v}?",
    ), short=True),
    Kind("FREQUENT_FLYER", "airline", make_frequent_flyer, ("contiguous", "spaces", "dashes", "lowercase", "fullwidth"), (
        "my frequent flyer number is {v}",
        "MileagePlus number {v}",
        "please add my loyalty number {v} to the booking",
        "frequent flier no. {v}, missing miles",
        "Executive Club membership {v}",
    )),
    Kind("KNOWN_TRAVELER_NUMBER", "airline", make_ktn, ("contiguous", "spaces", "dashes", "lowercase", "fullwidth"), (
        "my known traveler number is {v}",
        "KTN {v}",
        "please add TSA PreCheck {v}",
        "Global Entry / known traveller number: {v}",
    )),
    Kind("REDRESS_NUMBER", "airline", make_redress, ("contiguous", "spaces", "dashes", "fullwidth"), (
        "my redress number is {v}",
        "DHS redress no. {v}",
        "add redress {v} to my reservation",
    ), short=True),
    Kind("PERSON", "common", make_name, _NAME_FORMS, (
        "my name is {v}",
        "this is {v}, I need help with my booking",
        "Hi, I'm {v}",
        "the account holder is {v}",
        "please book it for {v}",
        "{v} here, calling about a charge",
    )),
    Kind("EMAIL_ADDRESS", "common", make_email, ("as_is", "upper"), (
        "my email is {v}",
        "send the receipt to {v} please",
        "{v} is my e-mail",
    )),
    Kind("PHONE_NUMBER", "common", make_phone, ("contiguous", "spaces", "dashes", "dots", "fullwidth", "zero_width"), (
        "call me on {v}",
        "my phone number is {v}",
        "text me at {v} when it's done",
    )),
    Kind("DATE_OF_BIRTH", "common", make_dob, ("slashes", "dashes", "dots", "month_name"), (
        "my date of birth is {v}",
        "DOB {v}",
        "I was born on {v}",
    )),
    Kind("ADDRESS", "common", make_address, ("as_is", "lower"), (
        "I live at {v}",
        "please send the new card to {v}",
        "my address is {v}",
    )),
]}

DOMAIN_KINDS: dict[str, tuple[str, ...]] = {
    "bank": tuple(k for k, v in KINDS.items() if v.domain in ("bank", "common")),
    "airline": tuple(k for k, v in KINDS.items() if v.domain in ("airline", "common")),
}


def _render(kind: str, rng: random.Random, form: str | None) -> tuple[str, str, str, str, tuple[str, ...]]:
    """Returns (variant, value, rendered, form, words)."""
    spec = KINDS[kind]
    if form in ob.OBFUSCATED_FORMS:
        return _render_obfuscated(kind, rng, form)
    made = spec.make(rng)
    variant, value, groups = made[0], made[1], made[2]
    form = form or rng.choice(spec.forms)
    words: tuple[str, ...] = ()
    if kind == "PASSPORT_MRZ":
        line1, line2 = groups
        words = made[3]
        rendered = {"two_lines": f"{line1}\n{line2}", "line2_only": line2,
                    "one_line": f"{line1} {line2}"}[form]
        if form == "line2_only":
            words = ()
    elif kind == "PERSON":
        rendered = {"title": value, "lower": value.lower(), "upper": value.upper()}[form]
        words = tuple(_name_words(value))
    elif kind == "EMAIL_ADDRESS":
        rendered = value.upper() if form == "upper" else value
    elif kind == "ADDRESS":
        rendered = value.lower() if form == "lower" else value
        words = tuple(w for w in re.findall(r"[A-Za-z0-9]+", value.lower())
                      if w not in {"avenue", "lane", "road", "street", "close", "court", "drive", "hill"})
    elif kind == "DATE_OF_BIRTH":
        a, b, c = groups
        if form == "month_name":
            if variant == "iso":
                y, m, d = a, b, c
            elif variant == "mdy":
                m, d, y = a, b, c
            else:
                d, m, y = a, b, c
            rendered = f"{_MONTHS[int(m) - 1]} {int(d)}, {y}" if variant == "mdy" else f"{int(d)} {_MONTHS[int(m) - 1]} {y}"
        else:
            sep = {"slashes": "/", "dashes": "-", "dots": "."}[form]
            rendered = sep.join(groups)
    else:
        rendered = _render_groups(groups, form)
    return variant, value, rendered, form, words


def _render_obfuscated(kind: str, rng: random.Random, form: str) -> tuple[str, str, str, str, tuple[str, ...]]:
    if form not in KINDS[kind].obfuscated:
        raise ValueError(f"form {form!r} does not apply to {kind}")
    make = make_accented_name if form == "nfd_accents" else KINDS[kind].make
    for _ in range(200):  # a form that cannot disguise this value ('letter_o_l' without 0 or 1)
        made = make(rng)
        variant, value, groups = made[0], made[1], made[2]
        if kind == "DATE_OF_BIRTH":
            groups = list(groups)
        rendered = ob.render(kind, form, value, groups, rng)
        if rendered is None:
            continue
        words: tuple[str, ...] = ()
        if kind == "PERSON":
            words = tuple(_name_words(value))
        elif kind == "PASSPORT_MRZ":
            words = made[3]
        elif kind == "ADDRESS":
            words = tuple(w for w in re.findall(r"[A-Za-z0-9]+", value.lower())
                          if w not in {"avenue", "lane", "road", "street", "close", "court", "drive", "hill"})
        return variant, value, rendered, form, words
    raise RuntimeError(f"no {kind} value that {form!r} can disguise")  # pragma: no cover


def templates_for(kind: str, form: str, rng: random.Random) -> tuple[str, ...]:
    """The templates a message planting ``kind`` in ``form`` is drawn from."""
    return ob.templates(kind, form, rng) or KINDS[kind].templates


def _name_words(value: str) -> list[str]:
    out = []
    for part in re.split(r"[\s\-]+", value.lower()):
        if len(part) >= 3:
            out.append(part)
        if "'" in part:
            tail = part.split("'", 1)[1]
            if len(tail) >= 3:
                out.append(tail)
    return out


def _fill(template: str, rendered: str, offset: int = 0) -> tuple[str, int, int]:
    i = template.index("{v}")
    text = template[:i] + rendered + template[i + 3:]
    return text, offset + i, offset + i + len(rendered)


def plant(rng: random.Random, kind: str, form: str | None = None, template: str | None = None,
          domain: str | None = None) -> Message:
    """A message planting one identifier of ``kind`` in ``form`` (random when None)."""
    return plant_many(rng, [(kind, form)], templates=[template] if template else None, domain=domain)


_JOINERS = [". Also ", ", and ", ". ", " - also "]


def plant_many(rng: random.Random, items: Sequence[tuple[str, str | None]],
               templates: Sequence[str | None] | None = None, domain: str | None = None) -> Message:
    """A message planting several identifiers, one sentence each."""
    text = ""
    planted = []
    for n, (kind, form) in enumerate(items):
        spec = KINDS[kind]
        tpl = (templates[n] if templates and n < len(templates) else None) or rng.choice(
            spec.templates if form is None or form not in ob.OBFUSCATED_FORMS else templates_for(kind, form, rng))
        variant, value, rendered, form, words = _render(kind, rng, form)
        if n:
            joiner = rng.choice(_JOINERS)
            if text.endswith(("?", "!", ".")):
                joiner = rng.choice([" Also, ", " "])
            text += joiner
            if joiner != " " and len(tpl) > 1 and tpl[0].isupper() and tpl[1].islower():
                tpl = tpl[0].lower() + tpl[1:]  # "Hi, I'm" -> "hi, I'm"; "ABA", "PNR" stay
        sentence, s, e = _fill(tpl, rendered, len(text))
        text += sentence
        planted.append(Planted(kind, value, rendered, form, variant, s, e, words))
    if domain is None:
        domains = {KINDS[k].domain for k, _ in items} - {"common"}
        domain = domains.pop() if len(domains) == 1 else rng.choice(["bank", "airline"])
    for p in planted:
        assert text[p.start:p.end] == p.rendered
    return Message(text, domain, tuple(planted))


# ---------------------------------------------------------------------------------------------
# Values a bot needs intact. Each entry: (domain, text, keep values). Identifiers in these texts
# are marked with {kind} and planted like the others.

KEEP_MESSAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("bank", "I was charged $45.20 twice at Blue Bottle Coffee yesterday", ("$45.20", "Blue Bottle Coffee", "yesterday")),
    ("bank", "I sent 1,200 dollars last Tuesday and it hasn't arrived", ("1,200 dollars", "last Tuesday")),
    ("bank", "my card ending 4242 was declined at the petrol station", ("4242",)),
    ("bank", "the card ending in 0005 has a pending charge of $89.99", ("0005", "$89.99")),
    ("bank", "Is the transfer of €2,500.00 on 12 March complete?", ("€2,500.00", "12 March")),
    ("bank", "my order number 4111111111111112 never shipped", ("4111111111111112",)),
    ("bank", "reference 20240312-0045 for the wire, sent at 10:45", ("20240312-0045", "10:45")),
    ("bank", "why was I charged a £3.50 fee on 03/04?", ("£3.50", "03/04")),
    ("bank", "please raise my limit to 5000 dollars from 2000", ("5000", "2000")),
    ("bank", "the amazon charge of 129.99 on Friday is not mine, my card is {CREDIT_CARD}", ("129.99", "Friday", "amazon")),
    ("bank", "last 4 of my account are 7731, balance shows 0.00", ("7731", "0.00")),
    ("bank", "I have 3 cards and 2 accounts with you since 2015", ("3 cards", "2 accounts", "2015")),
    ("bank", "mortgage payment of $1,845.00 due on the 1st, my ssn is {US_SSN}", ("$1,845.00", "1st")),
    ("airline", "I'm on flight UA 123 from JFK to LHR tomorrow", ("UA 123", "JFK", "LHR", "tomorrow")),
    ("airline", "BA2490 was delayed, gate B22 at 18:30", ("BA2490", "B22", "18:30")),
    ("airline", "can I move from seat 14C to 3A on my booking reference {BOOKING_REFERENCE}?", ("14C", "3A")),
    ("airline", "my flight DL 405 departs at 7:15 am from terminal 4", ("DL 405", "7:15 am", "terminal 4")),
    ("airline", "upgrade from economy to business class on LH400 please", ("economy", "business class", "LH400")),
    ("airline", "I paid 250 EUR for an extra bag on AF1680 to CDG", ("250 EUR", "AF1680", "CDG")),
    ("airline", "two adults and one infant flying SFO to NRT on 21 June", ("SFO", "NRT", "21 June")),
    ("airline", "fare class Y, flight EK202, ticket {TICKET_NUMBER}", ("EK202", "Y")),
    ("airline", "my bag tag AA123456 is missing on flight AA100", ("AA100",)),
    ("airline", "the 6:05 pm flight from ORD arrived at gate C7", ("6:05 pm", "ORD", "C7")),
    ("airline", "is premium economy on QF1 worth the $480 upgrade?", ("premium economy", "QF1", "$480")),
    ("airline", "I need 2 wheelchairs at MAD on IB6250, passport {PASSPORT}", ("MAD", "IB6250")),
)


def keep_messages(rng: random.Random) -> list[Message]:
    """The KEEP_MESSAGES with their {KIND} slots planted (random forms)."""
    out = []
    for domain, tpl, keep in KEEP_MESSAGES:
        m = re.search(r"\{([A-Z_]+)\}", tpl)
        if m:
            kind = m.group(1)
            msg = plant_many(rng, [(kind, None)], templates=[tpl.replace(m.group(0), "{v}")], domain=domain)
            out.append(Message(msg.text, domain, msg.planted, keep))
        else:
            out.append(Message(tpl, domain, (), keep))
    return out


# ---------------------------------------------------------------------------------------------
# Checking outputs


def canonical(s: str) -> str:
    """NFKC, invisible characters removed, case-folded, separators removed."""
    s = unicodedata.normalize("NFKC", s).translate(_INVISIBLE).casefold()
    return re.sub(r"[\s\-\.\u00a0_/,:()]+", "", s)


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s).translate(_INVISIBLE).casefold()


# Placeholders (<CREDIT_CARD_1>) and hash tokens (<CREDIT_CARD:3fa9c2>, CREDIT_CARD_3fa9c2d1) carry
# no customer characters; they are taken out before looking for leaks.
_PLACEHOLDER = re.compile(r"<[^<>\s]{1,80}>|\b[A-Z][A-Z_]{2,}[:#_-][0-9a-fA-F]{6,}\b|\[[A-Z_]{3,}[^\]\s]{0,40}\]")


def _strip_placeholders(s: str) -> str:
    return _PLACEHOLDER.sub(" ", s)


def _flex(value: str, seps: str = r"[\s\-\.]*") -> re.Pattern[str]:
    chars = [re.escape(c) for c in value]
    return re.compile(r"(?<![0-9a-z])" + seps.join(chars) + r"(?![0-9a-z])")


# between the characters of a short value in an obfuscated form: any punctuation or spacing
_ANY_SEPS = r"[\s\-\.,_/:;\"'=&?{}\[\]()<>+*]*"


def survives(message: Message, p: Planted, output: str, window: int = 5) -> str | None:
    """Why ``p`` is still readable in ``output`` (None when it is not).

    A value survives when its rendered form is in the output, or when, after folding (NFKC,
    zero-width removed, case-folded) and removing separators, the output holds more copies of any
    ``window``-character run of the value than the rest of the input did. Runs of 4 (a
    ``****1234`` mask) pass; short values (CVV, PIN, PNR, redress) are checked whole.
    """
    outside = message.text[:p.start] + " \x00 " + message.text[p.end:]
    out = _strip_placeholders(output)
    if p.rendered and out.count(p.rendered) > outside.count(p.rendered):
        return "rendered form in output"
    if p.form in ob.OBFUSCATED_FORMS:
        return _survives_obfuscated(p, out, outside, window)
    if p.words:
        f_out, f_in = _fold(out), _fold(outside)
        for w in p.words:
            pat = re.compile(r"(?<![a-z])" + re.escape(w) + r"(?![a-z])")
            if len(pat.findall(f_out)) > len(pat.findall(f_in)):
                return f"word {w!r} in output"
        if p.kind in ("PERSON", "ADDRESS"):
            return None
    value = canonical(p.value.replace("<", ""))
    if p.kind == "DATE_OF_BIRTH":
        # a date is read by its groups; any order of day, month and year, any separator
        pat = _flex(canonical(p.rendered)) if p.form != "month_name" else re.compile(re.escape(_fold(p.rendered)))
        if len(pat.findall(_fold(out))) > len(pat.findall(_fold(outside))):
            return "date in output"
        return None
    if KINDS[p.kind].short or len(value) < 8:
        pat = _flex(value)
        if len(pat.findall(_fold(out))) > len(pat.findall(_fold(outside))):
            return "value in output"
        return None
    c_out, c_in = canonical(out), canonical(outside)
    for i in range(len(value) - window + 1):
        w = value[i:i + window]
        if c_out.count(w) > c_in.count(w):
            where = "whole value" if value in c_out else f"run {w!r} (chars {i}-{i + window})"
            return f"{where} in output"
    return None


def _survives_obfuscated(p: Planted, out: str, outside: str, window: int) -> str | None:
    """``survives`` for the obfuscated forms: both sides de-obfuscated by the oracle's own
    ``support.obfuscated.reveal`` first, and name or address words checked by 4-character runs
    too (a decomposed accent can leave a name's tail behind: 'Mu' redacted, '\u0308ller' not)."""
    r_out, r_in = ob.reveal(out), ob.reveal(outside)
    if p.words:
        for w in p.words:
            rw = ob.reveal(w)
            pat = re.compile(r"(?<![a-z])" + re.escape(rw) + r"(?![a-z])")
            if len(pat.findall(r_out)) > len(pat.findall(r_in)):
                return f"word {w!r} in output"
            for i in range(len(rw) - 3):
                run = rw[i:i + 4]
                if run.isalpha() and r_out.count(run) > r_in.count(run):
                    return f"part {run!r} of word {w!r} in output"
        if p.kind in ("PERSON", "ADDRESS"):
            return None
    value = canonical(ob.reveal(p.value.replace("<", "")))
    if p.kind == "DATE_OF_BIRTH" or KINDS[p.kind].short or len(value) < 8:
        pat = _flex(value, _ANY_SEPS)
        if len(pat.findall(r_out)) > len(pat.findall(r_in)):
            return "value in output"
        return None
    c_out, c_in = canonical(r_out), canonical(r_in)
    for i in range(len(value) - window + 1):
        w = value[i:i + window]
        if c_out.count(w) > c_in.count(w):
            where = "whole value" if value in c_out else f"run {w!r} (chars {i}-{i + window})"
            return f"{where} in output"
    return None


def survivors(message: Message, output: str, window: int = 5) -> list[tuple[Planted, str]]:
    """The planted values still readable in ``output``, with the reason. ``window``: the
    shortest run of a long value that counts as readable (5 lets a ``****1234`` mask pass)."""
    out = []
    for p in message.planted:
        why = survives(message, p, output, window)
        if why:
            out.append((p, why))
    return out


def mangled(message: Message, output: str) -> list[str]:
    """The must-keep values of ``message`` missing from ``output`` (verbatim)."""
    return [k for k in message.keep if k not in output]
