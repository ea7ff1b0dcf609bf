"""Reading what customers type: dates of birth, last-four digits, amounts, accounts, merchants.

Pure functions with no I/O, so they are easy to test and never see more than they are given.

Dates of birth arrive in many shapes (``12/03/1984``, ``1984-03-12``, ``March 12 1984``,
``12 March 1984``, ``12th of March, 1984``). A numeric date whose first two fields could both
be a day or a month (``04/05/1990``) is ambiguous between dd/mm and mm/dd; we return *both*
readings and verification accepts the customer if either matches the record. That is safe
enough for a factor checked together with the card's last four digits and limited to three
attempts, and it spares customers from guessing which convention we use.

>>> [d.isoformat() for d in dob_candidates("12/03/1984")]
['1984-03-12', '1984-12-03']
>>> [d.isoformat() for d in dob_candidates("March 12th, 1984")]
['1984-03-12']
>>> last_four("it ends in 4242")
'4242'
>>> money("$1,200.50")
'1200.50'
>>> external_payee("can I send money to my sister's account <IBAN_CODE_1>")
True
>>> external_payee("move $50 from savings to my checking")
False
>>> explicit_yes("yes, that was me"), explicit_yes("ok"), explicit_yes("yes but it wasn't me")
(True, False, False)
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from safebot.nlu.placeholders import PLACEHOLDER_RE

__all__ = [
    "CONTACT_TYPES",
    "PLACEHOLDER_RE",
    "account_type",
    "card_choice",
    "card_kind",
    "contact_placeholders",
    "day_range",
    "dob_candidates",
    "explicit_yes",
    "external_payee",
    "last_four",
    "merchant_name",
    "money",
    "strip_placeholders",
]

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_NUMERIC = re.compile(r"\b(\d{1,4})[/.\-\s](\d{1,2})[/.\-\s](\d{2,4})\b")
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_MONTH = r"([a-z]+)\.?"
_YEAR = r"(\d{4}|\d{2})"
_DAY_MONTH_YEAR = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR}\b")
_MONTH_DAY_YEAR = re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b")


def _year(text: str, today: date) -> int:
    """A four-digit year as is; a two-digit one in the past century (a DOB is never ahead)."""
    year = int(text)
    if len(text) == 4:
        return year
    return 2000 + year if 2000 + year <= today.year else 1900 + year


def _make(year: int, month: int, day: int, today: date) -> date | None:
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    return value if date(1900, 1, 1) <= value <= today else None


def dob_candidates(text: str, today: date | None = None) -> list[date]:
    """Every plausible reading of a typed date of birth, most likely first (may be empty)."""
    today = today or date.today()
    lowered = " ".join(text.lower().replace(",", " , ").split()).replace(" ,", ",")
    found: list[date | None] = []
    for m in _NUMERIC.finditer(lowered):
        a, b, c = m.groups()
        if len(a) == 4:  # ISO order: year, month, day
            found.append(_make(int(a), int(b), int(c), today))
            continue
        full_year = _year(c, today)
        found.append(_make(full_year, int(b), int(a), today))  # dd/mm/yyyy
        found.append(_make(full_year, int(a), int(b), today))  # mm/dd/yyyy
    for m in _DAY_MONTH_YEAR.finditer(lowered):
        day_text, month_name, year_text = m.groups()
        if month_name in _MONTHS:
            found.append(_make(_year(year_text, today), _MONTHS[month_name], int(day_text), today))
    for m in _MONTH_DAY_YEAR.finditer(lowered):
        month_name, day_text, year_text = m.groups()
        if month_name in _MONTHS:
            found.append(_make(_year(year_text, today), _MONTHS[month_name], int(day_text), today))
    return list(dict.fromkeys(d for d in found if d is not None))


def strip_placeholders(text: str) -> str:
    """The text without redactor placeholders, so '<DATE_OF_BIRTH_1>' is not read as a '1'."""
    return PLACEHOLDER_RE.sub(" ", text)


_FOUR = re.compile(r"(?<![\d.,$£€])\d{4}(?![\d.,]\d)")


def last_four(text: str) -> str | None:
    """The one standalone group of four digits in ``text`` ('4242', 'ends in 4242'), else None."""
    groups = _FOUR.findall(strip_placeholders(text))
    return groups[0] if len(set(groups)) == 1 else None


_MONEY = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?![\d,])")
_MAX_AMOUNT = Decimal(1000000)


def money(text: str) -> str | None:
    """A positive amount of money with two decimals ('$1,200.5' -> '1200.50'), else None.

    Placeholders are removed first so '<CREDIT_CARD_1>' never reads as one dollar.
    """
    m = _MONEY.search(strip_placeholders(text))
    if m is None:
        return None
    try:
        value = Decimal(m.group(1).replace(",", "") + "." + (m.group(2) or "0"))
    except InvalidOperation:
        return None
    if not Decimal(0) < value < _MAX_AMOUNT:
        return None
    return f"{value.quantize(Decimal('0.01'))}"


_ACCOUNTS = {
    "checking": "checking", "chequing": "checking", "current account": "checking", "everyday": "checking",
    "savings": "savings", "saving": "savings", "rainy day": "savings",
}


def account_type(text: str) -> str | None:
    """'checking' or 'savings' when ``text`` names exactly one of them, else None."""
    lowered = text.lower()
    kinds = {kind for word, kind in _ACCOUNTS.items() if re.search(rf"\b{word}\b", lowered)}
    return kinds.pop() if len(kinds) == 1 else None


# Words that make a free-text answer a sentence rather than a shop's name.
_NOT_A_MERCHANT = frozenset(
    ["i", "me", "my", "you", "your", "we", "our", "is", "are", "was", "what", "how", "can", "could", "would", "please", "want", "need", "talk", "speak", "human", "agent", "person", "balance", "card", "account", "help", "cancel", "stop", "transfer", "money", "why", "when"]
)
_FILLER = re.compile(r"^(?:it\s+was\s+|it's\s+|the\s+one\s+|the\s+charge\s+|the\s+payment\s+)?(?:at|from|by)?\s*", re.IGNORECASE)


def merchant_name(text: str) -> str | None:
    """A short shop or company name ('Starbucks', 'at whole foods'), else None.

    Rejects sentences, so a customer who asks something else in the middle of a dispute is
    understood as asking, not as naming a merchant.
    """
    cleaned = _FILLER.sub("", strip_placeholders(text).strip().rstrip(".!?")).strip()
    cleaned = re.sub(r"\s+(?:charge|payment|transaction|purchase)$", "", cleaned, flags=re.IGNORECASE)
    words = cleaned.split()
    if not 1 <= len(words) <= 4 or any(w.lower() in _NOT_A_MERCHANT for w in words):
        return None
    if not re.fullmatch(r"[\w'&.\- ]+", cleaned) or not re.search(r"[A-Za-z]", cleaned):
        return None
    return cleaned


# -- cards ----------------------------------------------------------------------------------------


def card_kind(text: str) -> str | None:
    """'debit' or 'credit' when the text names exactly one kind of card, else None."""
    kinds = {k for k in ("debit", "credit") if re.search(rf"\b{k}\b", text.lower())}
    return kinds.pop() if len(kinds) == 1 else None


def card_choice(text: str) -> str | None:
    """Which card a customer means: a card-number placeholder, four digits, 'debit' or 'credit'."""
    m = re.search(r"<CREDIT_CARD_\d+>", text)
    if m is not None:
        return m.group(0)
    return last_four(text) or card_kind(text)


# -- contact details --------------------------------------------------------------------------------

#: redactor entity types that a customer may send on purpose as their new contact details
CONTACT_TYPES = ("ADDRESS", "PHONE_NUMBER", "EMAIL_ADDRESS")


def contact_placeholders(text: str) -> list[str]:
    """The contact-detail placeholders in a redacted text, in order ('<PHONE_NUMBER_1>', ...)."""
    return [m.group(0) for m in PLACEHOLDER_RE.finditer(text) if m.group(1) in CONTACT_TYPES]


# -- days -----------------------------------------------------------------------------------------

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def day_range(text: str, today: date | None = None) -> tuple[date, date] | None:
    """The days a customer refers to ('yesterday', 'last week', 'on Monday', '2024-05-01').

    Returns an inclusive (first, last) pair, or None when no day is mentioned.
    """
    today = today or date.today()
    lowered = text.lower()
    iso = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", lowered)
    if iso is not None:
        try:
            day = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            return None
        return day, day
    if re.search(r"\b(today|this morning)\b", lowered):
        return today, today
    if re.search(r"\b(yesterday|last night)\b", lowered):
        return today - timedelta(days=1), today - timedelta(days=1)
    if re.search(r"\b(this|past|last) week\b", lowered):
        return today - timedelta(days=7), today
    if re.search(r"\b(this|past|last) month\b", lowered):
        return today - timedelta(days=31), today
    for number, name in enumerate(_WEEKDAYS):
        if re.search(rf"\b{name}\b", lowered):
            back = (today.weekday() - number) % 7
            day = today - timedelta(days=back)
            return day, day
    return None


# -- transfers and answers ----------------------------------------------------------------------------

#: placeholders of an account that is not one of the customer's own (the bot moves money only
#: between those, which it names by type: checking, savings)
_PAYEE_TYPES = ("IBAN_CODE", "BANK_ACCOUNT", "ABA_ROUTING_NUMBER", "SWIFT_CODE")
_PAYEE_WORDS = re.compile(
    r"\b(?:some(?:one|body)(?: else)?|another (?:person|bank|customer)|other (?:people|person|bank)|"
    r"(?:my |a |his |her |their )(?:sister|brother|sibling|mom|mum|mother|dad|father|parents?|son|daughter|"
    r"kids?|children|wife|husband|partner|spouse|fianc[eé]e?|friend|landlord|family|cousin|aunt|uncle|"
    r"grand(?:ma|pa|mother|father|son|daughter)|niece|nephew|boyfriend|girlfriend|roommate|flatmate|"
    r"colleague|boss|neighbou?r)(?:'?s)?|external|abroad|overseas|international|wire|zelle|venmo|paypal)\b",
    re.IGNORECASE,
)
_TO_A_PERSON = re.compile(r"\b(?:to|pay|for)\s+<PERSON_\d+>")


def external_payee(text: str) -> bool:
    """Does a (redacted) transfer request name someone else's account or a person to pay?"""
    if any(m.group(1) in _PAYEE_TYPES for m in PLACEHOLDER_RE.finditer(text)):
        return True
    return bool(_PAYEE_WORDS.search(text) or _TO_A_PERSON.search(text))


_YES = re.compile(
    r"\b(?:yes|yeah|yea|yep|yup|aye|correct|(?:that|it) (?:was|is) (?:me|mine)|that'?s (?:me|mine)|"
    r"i (?:did|made (?:it|that|this|the payment))|it'?s mine)\b",
    re.IGNORECASE,
)
_NOT = re.compile(r"\b(?:no|not|nope|never|wasn'?t|isn'?t|didn'?t|don'?t)\b|n't\b", re.IGNORECASE)


def explicit_yes(text: str) -> bool:
    """A clear yes ('yes', 'yes that was me', 'I made it'), with no 'no' or 'not' in it.

    Money and security decisions need one: 'ok', 'fine', 'hmm' or a blank line are not a yes.
    """
    return bool(_YES.search(text)) and not _NOT.search(text)
