"""Slot validators for the airline bot's forms.

Each validator takes what the customer typed for one slot (already redacted: placeholders,
never values) and returns a canonical value, or None when it does not fit. Validators see
only the slot's text, so anything that depends on the booking (is the seat free? does the
passport outlive the trip?) is checked by the handler against the back end.

>>> seat("window seat 14d please")
'14D'
>>> seat_kind("can I get a window seat?")
'window'
>>> bag_count("two more bags")
'2'
>>> nationality("I'm British")
'GBR'
>>> yes_no("yes please")
'yes'
"""

from __future__ import annotations

import re
from datetime import date, datetime

from .backend.fares import AIRCRAFT

__all__ = [
    "ASSISTANCE_WORDS",
    "MEAL_WORDS",
    "assistance",
    "bag_count",
    "baggage_issue",
    "expiry_date",
    "meal",
    "nationality",
    "option_pick",
    "parse_day",
    "seat",
    "seat_kind",
    "yes_no",
]

_SEAT = re.compile(r"\b(\d{1,2})\s?([A-Ka-k])\b")


def seat(text: str) -> str | None:
    """A seat that exists on one of our aircraft ('14c' -> '14C'); whether it is free in the
    passenger's cabin is the back end's call."""
    m = _SEAT.search(text)
    if m is None:
        return None
    value = f"{int(m.group(1))}{m.group(2).upper()}"
    return value if any(a.has_seat(value) for a in AIRCRAFT.values()) else None


def seat_kind(text: str) -> str | None:
    """'window' or 'aisle' when the customer asks for one ('an aisle seat please')."""
    kinds = {k for k in ("window", "aisle") if re.search(rf"\b{k}s?\b", text.lower())}
    return kinds.pop() if len(kinds) == 1 else None


_NUMBER_WORDS = {"one": 1, "a": 1, "an": 1, "another": 1, "single": 1, "two": 2, "three": 3}


def bag_count(text: str) -> str | None:
    """How many extra bags, 1 to 3 ('two bags' -> '2'; 'one more' -> '1')."""
    m = re.search(r"\b([1-9])\b", text)
    if m is not None:
        n = int(m.group(1))
    else:
        words = re.findall(r"[a-z]+", text.lower())
        n = next((_NUMBER_WORDS[w] for w in words if w in _NUMBER_WORDS and w not in ("a", "an")), 0)
    return str(n) if 1 <= n <= 3 else None


def baggage_issue(text: str) -> str | None:
    """delayed, lost or damaged, from the customer's words."""
    t = text.lower()
    if re.search(r"damag|broken|broke|crack|ripped|torn|smashed", t):
        return "damaged"
    if re.search(r"\blost\b|stolen|gone for good|never (?:arrived|came)", t):
        return "lost"
    if re.search(r"delay|missing|didn'?t (?:arrive|come|show)|not (?:arrived|here)|hasn'?t (?:arrived|come)|late", t):
        return "delayed"
    return None


_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|y|sure|ok|okay|please do|go ahead|do it|confirm|confirmed|correct|"
    r"absolutely|definitely|of course|that's right|sounds good)\b"
)
_NO = re.compile(r"^(?:no|nope|nah|n|don'?t|do not|not now|negative|no thanks|leave it)\b")


def yes_no(text: str) -> str | None:
    """'yes' or 'no' from a short answer; anything longer is probably a new request."""
    t = text.strip().lower()
    if len(t.split()) > 6:
        return None
    if _YES.search(t):
        return "yes"
    if _NO.search(t):
        return "no"
    return None


_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "one": 1, "two": 2, "three": 3, "four": 4}
_FLIGHT = re.compile(r"\b([A-Za-z]{2})\s?(\d{1,4})\b")
_TIME = re.compile(r"\b(\d{1,2}):(\d{2})\b")


def option_pick(text: str) -> str | None:
    """Which rebooking option: 'opt:2', a flight number 'NW218', or a time 't:17:45'."""
    t = text.strip()
    m = _TIME.search(t)
    if m is not None:
        return f"t:{int(m.group(1)):02d}:{m.group(2)}"
    m = _FLIGHT.search(t)
    if m is not None and m.group(1).lower() not in ("at", "on", "to", "is", "it", "in", "no"):
        return f"{m.group(1).upper()}{int(m.group(2))}"
    m = re.search(r"\b([1-9])\b", t)
    if m is not None:
        return f"opt:{m.group(1)}"
    for word in re.findall(r"[a-z]+", t.lower()):
        if word in _ORDINALS:
            return f"opt:{_ORDINALS[word]}"
    if re.search(r"\b(?:earliest|soonest)\b", t.lower()):
        return "opt:1"
    return None


#: customer words -> IATA special service request code (checked in this order)
ASSISTANCE_WORDS: tuple[tuple[str, str], ...] = (
    (r"can'?t (?:climb|manage) (?:the )?(?:steps|stairs)|no stairs|steps", "WCHS"),
    (r"immobile|can'?t walk at all|carried|to (?:my|his|her|the) seat", "WCHC"),
    (r"wheel ?chair|mobility|walk far|can'?t walk|reduced mobility|ambulift", "WCHR"),
    (r"blind|sight|visually", "BLND"),
    (r"deaf|hearing", "DEAF"),
    (r"service (?:dog|animal)|guide dog|assistance dog", "SVAN"),
    (r"autis|learning disab|intellectual|developmental|dementia", "DPNA"),
    (r"meet|escort|help (?:me |him |her |them )?(?:change|connect|through|at)|connection|elderly|pregnan", "MAAS"),
)

#: customer words -> IATA special meal code
MEAL_WORDS: tuple[tuple[str, str], ...] = (
    (r"vegan|plant", "VGML"),
    (r"vegetarian|veggie|no meat|don'?t eat meat", "VLML"),
    (r"gluten|coeliac|celiac", "GFML"),
    (r"kosher", "KSML"),
    (r"halal|muslim", "MOML"),
    (r"hindu", "HNML"),
    (r"child|kid", "CHML"),
    (r"baby|infant", "BBML"),
    (r"diabet", "DBML"),
    (r"salt|sodium", "LSML"),
    (r"lactose|dairy", "NLML"),
)


def _first_code(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    t = text.lower()
    return next((code for pattern, code in table if re.search(pattern, t)), None)


def assistance(text: str) -> str | None:
    """The assistance code for what the customer describes ('a wheelchair' -> 'WCHR')."""
    code = _first_code(ASSISTANCE_WORDS, text)
    if code is None and re.fullmatch(r"\s*(WCHR|WCHS|WCHC|BLND|DEAF|DPNA|SVAN|MAAS)\s*", text.upper()):
        code = text.strip().upper()
    return code


def meal(text: str) -> str | None:
    """The special meal code for what the customer asks for ('vegan' -> 'VGML')."""
    return _first_code(MEAL_WORDS, text)


#: nationality words and country names -> ISO 3166 alpha-3 (the codes a passport carries)
_COUNTRIES: dict[str, str] = {
    "british": "GBR", "uk": "GBR", "united kingdom": "GBR", "england": "GBR", "english": "GBR",
    "scottish": "GBR", "welsh": "GBR", "great britain": "GBR", "britain": "GBR",
    "irish": "IRL", "ireland": "IRL", "american": "USA", "usa": "USA",
    "united states": "USA", "canadian": "CAN", "canada": "CAN", "german": "DEU", "germany": "DEU",
    "french": "FRA", "france": "FRA", "polish": "POL", "poland": "POL", "spanish": "ESP",
    "spain": "ESP", "italian": "ITA", "italy": "ITA", "dutch": "NLD", "netherlands": "NLD",
    "nigerian": "NGA", "nigeria": "NGA", "indian": "IND", "india": "IND", "australian": "AUS",
    "australia": "AUS", "vietnamese": "VNM", "vietnam": "VNM", "chinese": "CHN", "china": "CHN",
    "japanese": "JPN", "japan": "JPN", "mexican": "MEX", "mexico": "MEX", "brazilian": "BRA",
    "brazil": "BRA", "portuguese": "PRT", "portugal": "PRT", "swedish": "SWE", "sweden": "SWE",
    "new zealand": "NZL", "kiwi": "NZL", "south african": "ZAF", "south africa": "ZAF",
    "pakistani": "PAK", "pakistan": "PAK", "filipino": "PHL", "philippines": "PHL",
}
#: codes accepted when typed bare ('GBR'); a word like 'yes' must not pass as a country
_KNOWN_CODES = frozenset(_COUNTRIES.values()) | {
    "AUT", "BEL", "CHE", "CZE", "DNK", "FIN", "GRC", "HUN", "ISR", "KEN", "KOR", "NOR", "ROU",
    "SGP", "THA", "TUR", "UKR", "ARE", "ARG", "COL", "EGY", "GHA", "IDN", "MYS", "SAU",
}
_CODE = re.compile(r"^\s*(?:it'?s\s+|nationality\s+)?([A-Za-z]{3})\s*\.?\s*$")


def nationality(text: str) -> str | None:
    """An ISO alpha-3 nationality code from 'British', 'I'm from Ireland' or 'GBR'."""
    t = " " + re.sub(r"[^a-z ]", " ", text.lower()) + " "
    for name in sorted(_COUNTRIES, key=len, reverse=True):
        if f" {name} " in t:
            return _COUNTRIES[name]
    m = _CODE.match(text)
    code = m.group(1).upper() if m is not None else None
    return code if code in _KNOWN_CODES else None


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y")


def _parse_date(text: str) -> date | None:
    cleaned = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text.replace(",", " "))
    candidates = re.findall(
        r"\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{4}|\d{1,2}\s+[A-Za-z]+\s+\d{4}|[A-Za-z]+\s+\d{1,2}\s+\d{4}",
        cleaned,
    )
    for candidate in candidates:
        candidate = " ".join(candidate.split())
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
    m = re.search(r"\b(\d{1,2})[/.](\d{4})\b|\b([A-Za-z]+)\s+(\d{4})\b", cleaned)
    if m is not None:  # month and year only: passports are valid to the end of that month
        try:
            if m.group(1):
                first = date(int(m.group(2)), int(m.group(1)), 1)
            else:
                first = datetime.strptime(f"1 {m.group(3)[:3]} {m.group(4)}", "%d %b %Y").date()
        except ValueError:
            return None
        nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        return date.fromordinal(nxt.toordinal() - 1)
    return None


def expiry_date(text: str) -> str | None:
    """A passport expiry date in the future, as ISO 'YYYY-MM-DD' (day first for 04/05/2031)."""
    parsed = _parse_date(text)
    return parsed.isoformat() if parsed is not None and parsed > date.today() else None


def parse_day(text: str | None, today: date) -> date | None:
    """'today', 'tomorrow', 'yesterday' or an ISO date, for flight look-ups."""
    if not text:
        return None
    t = text.strip().lower()
    offsets = {"today": 0, "tonight": 0, "this morning": 0, "this evening": 0, "tomorrow": 1, "yesterday": -1}
    if t in offsets:
        return date.fromordinal(today.toordinal() + offsets[t])
    return _parse_date(text)
