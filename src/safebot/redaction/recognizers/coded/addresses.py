"""ADDRESS: street addresses and the address blocks that follow them.

Written the European way ('28245 Puruntie 82 Apt. 595\\n LAPPEENRANTA'), number-number-street
('3369 24 Clarke Avenue'), US military (PSC/Unit/USNS ... APO/FPO/DPO), 'the corner of X and Y',
and US street addresses extended over the unit, city, region, country and postcode lines that
follow. Word lists: data/street_suffixes.txt, street_words_intl.txt, street_word_endings.txt,
address_connectors.txt.
"""

from __future__ import annotations

from collections.abc import Iterable

from safebot.redaction.recognizers.budget import IGNORECASE, compile_rx
from safebot.redaction.recognizers.engines.base import SafebotRecognizer
from safebot.redaction.recognizers.vocabulary import english_words
from safebot.redaction.recognizers.words import alternation, entries, words

__all__ = ["SafebotAddressBlockRecognizer"]

_SUFFIX = alternation(entries("street_suffixes") + entries("street_suffixes_usps"))
_W = r"[^\W\d_](?:[^\W\d_]|['’.\-](?=[^\W\d_]))*\.?"
_UNIT = r"(?:apt|apartment|suite|ste|unit|flat|box|#)\.?[ \t]*#?\d+[a-z]?"
_UNIT_RX = compile_rx(_UNIT, IGNORECASE)
_UNIT_WORD = compile_rx(r"(?:apt|apartment|suite|ste|unit|flat|box)\.?", IGNORECASE)
# 'Puruntie 82', 'Rua do Arenque 1634' after a building number: number, words, number.
_INTL_CORE = compile_rx(
    rf"(?<![\w.,])(?<!\d[ \t])(?:{_UNIT}[ \t]+)?\d{{1,6}}[a-z]?[ \t]+(?P<street>{_W}(?:[ \t]+{_W}){{0,3}})[ \t]+\d{{1,5}}[a-z]?\b(?![:/.,]?\d)\.?"
    rf"(?:,?[ \t]*\n?[ \t>]*{_UNIT})?",
    IGNORECASE,
)
_NUM_NUM_STREET = compile_rx(
    rf"(?<![\w.,])\d{{1,6}}[ \t]+\d{{1,4}}[a-z]?[ \t]+(?P<street>{_W}(?:[ \t]+{_W}){{0,4}})",
    IGNORECASE,
)
# US military addresses: 'PSC 6293, Box 8158\nAPO AP 04336', 'USNS Møller\nFPO AA 85844'.
_MILITARY = compile_rx(
    r"\b(?:(?:psc|unit|cmr)[ \t]+\d{3,5},?[ \t]+box[ \t]+\d{3,5}|(?:usns|usnv|uss|usnh|uscgc)[ \t]+[^\W\d_][\w'’\-]*)"
    r"[ \t]*,?[ \t]*\n?[ \t]*(?:apo|fpo|dpo)[ \t]+a[aep][ \t]+\d{5}\b",
    IGNORECASE,
)
# Between the parts of an address block: a comma and/or line breaks ('\n, RS\n Brazil').
_PART_SEP = r"(?=[ \t]*[,\n])[ \t]*(?:\n[ \t>]*){0,2},?[ \t]*(?:\n[ \t>]*){0,2}"
# Lines or comma-separated parts after a street: city, region, country ('\n Suite 282\n Domoszló\n Hungary').
_PLACE_PART = compile_rx(
    rf"{_PART_SEP}(?P<part>{_UNIT}|{_W}(?:[ \t]+{_W}){{0,5}})"
    r"(?:[ \t]*\([^()\n]{1,24}\))?(?:[ \t]+\d{3,6}(?:[ \-]\d{2,4})?)?(?=[ \t]*(?:[,\n.?)]|$)|(?<=[\d)])[ \t]+[a-z])",
    IGNORECASE,
)
# Also part of an address block: another unit after a space ('Suite 991 Suite 636'), a region or
# postcode of digits alone on its line or after a comma ('Cite Essanaouber\n, 32\n 60810').
_SPACED_UNIT = compile_rx(rf"[ \t]+(?:\d{{1,4}}[a-z]?[ \t]+)?{_UNIT}\b", IGNORECASE)
_NUMERIC_PART = compile_rx(_PART_SEP + r"\d{1,6}(?:[ \-]\d{2,4})?(?=[ \t]*(?:[,\n.?]|$)|[ \t]+[a-z])")
_REST_OF_LINE = compile_rx(rf"[ \t]+(?P<part>{_W}(?:[ \t]+{_W}){{0,3}})(?=[ \t]*\n)")
_ENDS_IN_UNIT = compile_rx(rf"{_UNIT}$", IGNORECASE)
# 'Storgarden 52 Trajanka Forks\n Suite 894': street words, a number, street words, then a unit line.
_NUM_INSIDE = compile_rx(
    rf"(?<![\w.,'’])(?P<pre>{_W}(?:[ \t]+{_W}){{0,2}})[ \t]+\d{{1,5}}[ \t]+{_W}(?:[ \t]+{_W}){{0,3}}"
    rf"(?=[ \t]*\n[ \t>]*{_UNIT})",
    IGNORECASE,
)
# A city right after a unit on the same line ('Apt. 934 OULU', 'Suite 274 Ljubljana nan').
_SPACED_PLACE = compile_rx(rf"[ \t]+(?P<part>{_W}(?:[ \t]+{_W}){{0,2}})(?=[ \t]*(?:[,\n.?]|$))")
# 'the corner of Pachergasse 64 and Radolič Harbor'
_CORNER = compile_rx(
    r"(?P<head>\b(?:the\s+)?corner\s+of\s+(?:the\s+)?)(?P<a>(?=[^\n,?!]*[\dA-ZÀ-Þ])[^\n,?!]{2,60}?)\s+and\s+"
    r"(?P<b>[^\W\d_][\w'’\-]*\.?(?:[ \t]+[^\W\d_][\w'’\-]*\.?){0,3})"
)
# 'Via Tasso 129', 'Hansinegata 120', 'ul. Miła 53', 'Király u. 15.': street words (one of them a
# street word of another language), then the house number.
_STREET_NUMBER = compile_rx(
    rf"(?<![\w.,'’])(?P<street>{_W}(?:[ \t]+{_W}){{0,3}})[ \t]+(?P<num>\d{{1,5}}[a-z]?)\b(?![:/.,]?\d)\.?"
)
_US_STREET = compile_rx(
    rf"\b\d{{1,6}}[a-z]?(?:[ \-]\d{{1,4}})?\s+(?:[a-z][a-z'\-]*\.?\s+){{0,4}}{_SUFFIX}\b\.?", IGNORECASE
)


class SafebotAddressBlockRecognizer(SafebotRecognizer):
    """Street addresses written the European way ('28245 Puruntie 82 Apt. 595\\n LAPPEENRANTA').

    A building number, one to four street words of which one is not an English word, a house
    number; then an optional unit and up to seven lines or comma-separated parts that look like
    a city, region or country (every word capitalised).
    """

    def __init__(self, entity: str, name: str, *, score: float = 0.9, min_digits: int = 2, priority: int = 50) -> None:
        super().__init__(entity, name, min_digits=min_digits, priority=priority)
        self._score = score
        self._english = english_words(20000)
        self._english_all = english_words(40000)
        self._connectors = words("address_connectors")
        self._street_words = words("street_suffixes") | words("street_suffixes_usps") | words("street_words_intl")
        self._intl_words = words("street_words_intl")
        self._endings = tuple(entries("street_word_endings"))

    def _streetish(self, lw: str) -> bool:
        """A lower-case word that is a street name in another language ('hersnapvej', 'rua', 'ul.')."""
        return lw.endswith(self._endings) or lw in self._intl_words or lw.strip(".") in self._intl_words

    def _placeish(self, parts: list[str], need_unknown: bool, lc: bool = False) -> bool:
        """Do ``parts`` look like a street, city, region or country? ``lc``: the message is
        all lower case, so capitals say nothing ('2613 avenida praia 1 suite 463, mohács')."""
        unknown = False
        street = lc and any(self._streetish(w.lower().strip(".")) for w in parts)
        for w in parts:
            lw = w.lower().strip(".")
            if lw in self._connectors:
                continue
            if w.isupper() and len(w) <= 3 and not need_unknown:
                continue  # 'SK', 'NO': region codes on a line of their own
            if w.isupper() and len(w) <= 3:
                return False  # 'to JFK on': flights and airports, not streets
            # lower case in a lower-case message: a place part ('hungary') counts as capitalised; a
            # street word only beside a street word of another language ('avenida praia')
            capital = w[0].isupper() or (lc and (not need_unknown or (street and lw not in self._english)))
            if not capital and (need_unknown is False or not self._streetish(lw)):
                return False  # lower case only with a street word: 'hersnapvej', 'rua do sol'
            if lw not in (self._english if capital else self._english_all):
                unknown = True
        return unknown or not need_unknown

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float, int]]:
        for s, e in self._spans(text, lower):
            yield s, e, self._score, 0

    def _spans(self, text: str, lower: str) -> Iterable[tuple[int, int]]:
        lc = text == lower
        if "apo" in lower or "fpo" in lower or "dpo" in lower:
            for m in _MILITARY.finditer(text):
                yield m.start(), m.end()
        if "corner" in lower:
            for m in _CORNER.finditer(text):
                b = m.group("b").split()
                taken = 0
                for w in b:
                    if w.lower().strip(".") in ("st", "street") and taken:
                        break
                    if not (w[0].isupper() or lc or w.lower().strip(".") in self._connectors):
                        break
                    taken += 1
                if taken:
                    # 'the corner of' belongs to the address: alone it says where the two streets meet
                    yield m.start("head"), m.start("b") + len(" ".join(b[:taken]))
        if "\n" in text:
            for m in _NUM_INSIDE.finditer(text):
                pre = m.group("pre").split()
                while pre and not (pre[0][0].isupper() or (lc and pre[0] not in self._english)):
                    pre.pop(0)
                if pre and self._placeish(pre + m.group(0)[len(m.group("pre")) :].split()[1:], False, lc):
                    start = m.start("pre") + m.group("pre").rfind(" ".join(pre))
                    yield start, self._extend(text, m.end(), lc)
        for m in _US_STREET.finditer(text):
            # '370 3911 Fourth Avenue Suite 697 Apt. 397, Mora de Rubielos, Spain 16200'
            end = self._extend(text, m.end(), lc)
            if end > m.end():
                yield m.start(), end
        for m in _INTL_CORE.finditer(text):
            street = m.group("street").split()
            if not self._placeish(street, True, lc):
                continue
            yield m.start(), self._extend(text, m.end(), lc)
        for m in _NUM_NUM_STREET.finditer(text):
            found = self._num_num_street(text, m, lc)
            if found is not None:
                yield found
        for m in _STREET_NUMBER.finditer(text):
            found = self._street_then_number(text, m, lc)
            if found is not None:
                yield found

    def _street_then_number(self, text: str, m: object, lc: bool) -> tuple[int, int] | None:
        street_words: list[str] = m.group("street").split()  # type: ignore[attr-defined]
        # from the first street word on ('lives on Via Tasso 129' -> 'Via Tasso 129')
        first = next((k for k, w in enumerate(street_words) if self._streetish(w.lower())), None)
        if first is None:
            return None
        kept = street_words[first:]
        if first == len(street_words) - 1 and first > 0:
            # the street word after the name ('Király u. 15.', 'Váci út 12'): the capitalised words before it
            k = first
            while k > 0 and street_words[k - 1][0].isupper() and street_words[k - 1].lower() not in self._english:
                k -= 1
            kept = street_words[k:]
        if not all(w[0].isupper() or lc or w.lower().strip(".") in self._connectors or self._streetish(w.lower())
                   for w in kept):
            return None
        if len(kept) == 1 and not kept[0].lower().endswith(self._endings):
            return None  # 'Via 3', 'Calle 5': a street word alone before a number is not enough
        start = m.start("street") + m.group("street").rfind(" ".join(kept))  # type: ignore[attr-defined]
        return start, self._extend(text, m.end(), lc)  # type: ignore[attr-defined]

    def _num_num_street(self, text: str, m: object, lc: bool) -> tuple[int, int] | None:
        street_words = m.group("street").split()  # type: ignore[attr-defined]
        # the street words run to a street word ('Avenue', 'Lane') or start with one ('Rue')
        cut = next((k for k, w in enumerate(street_words) if w.lower().strip(".") in self._street_words), None)
        if cut is None:
            # '94941 2505 Heatherleigh Suite 620': number, number, a name and a unit
            unit = next((k for k, w in enumerate(street_words) if _UNIT_WORD.fullmatch(w)), None)
            if not unit or not self._placeish(street_words[:unit], True, lc):
                return None
            joined = " ".join(street_words[:unit])
            return m.start(), self._extend(text, m.start("street") + len(joined), lc)  # type: ignore[attr-defined]
        keep = street_words[: cut + 1] if cut > 0 else street_words
        if cut > 0:
            # 'Devon Street West', 'Crown Street Kishiev Squares': capitalised words after it
            for w in street_words[cut + 1 :]:
                if not (w[0].isupper() or lc) or _UNIT_RX.fullmatch(w) or w.lower() in ("suite", "apt", "apt.", "unit"):
                    break
                keep.append(w)
        if cut == 0:
            # 'Rue de Tanger': capitalised words and connectors after the street word
            keep = [street_words[0]]
            for w in street_words[1:]:
                if _UNIT_WORD.fullmatch(w):
                    break
                if w.lower() in self._connectors or w[0].isupper() or (lc and w not in self._english):
                    keep.append(w)
                else:
                    break
        joined = " ".join(keep)
        if joined != m.group("street")[: len(joined)]:  # type: ignore[attr-defined]
            return None
        return m.start(), self._extend(text, m.start("street") + len(joined), lc)  # type: ignore[attr-defined]

    def _extend(self, text: str, end: int, lc: bool = False) -> int:
        """Past up to seven unit, city, region, country or postcode parts after the street."""
        after_unit = _ENDS_IN_UNIT.search(text, max(0, end - 24), end) is not None
        rest = _REST_OF_LINE.match(text, end)
        if rest is not None and all(w[0].isupper() or lc for w in rest.group("part").split()):
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
                if spaced is not None and self._placeish(spaced.group("part").split(), False, lc):
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
            after_unit = bool(_UNIT_RX.match(part.group("part")))
            after_comma = "," in text[end : part.start("part")]
            parts = part.group("part").split()
            if parts[0].lower() == "nan":
                end = part.end()  # an empty field exported as 'nan' in a pasted address block
                continue
            if not after_unit and not self._placeish(parts, False, lc):
                break
            end = part.end()
        return end
