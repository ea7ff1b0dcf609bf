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

_SUFFIX = alternation(entries("street_suffixes"))
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
    rf"{_PART_SEP}(?P<part>{_UNIT}|{_W}(?:[ \t]+{_W}){{0,3}})"
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
    r"\bcorner\s+of\s+(?:the\s+)?(?P<a>(?=[^\n,.?!]*[\dA-ZÀ-Þ])[^\n,?!]{2,60}?)\s+and\s+"
    r"(?P<b>[^\W\d_][\w'’\-]*\.?(?:[ \t]+[^\W\d_][\w'’\-]*\.?){0,3})"
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
        self._street_words = words("street_suffixes") | words("street_words_intl")
        self._intl_words = words("street_words_intl")
        self._endings = tuple(entries("street_word_endings"))

    def _streetish(self, lw: str) -> bool:
        """A lower-case word that is a street name in another language ('hersnapvej', 'rua')."""
        return lw.endswith(self._endings) or lw in self._intl_words

    def _placeish(self, parts: list[str], need_unknown: bool) -> bool:
        unknown = False
        for w in parts:
            lw = w.lower().strip(".")
            if lw in self._connectors:
                continue
            if w.isupper() and len(w) <= 3 and not need_unknown:
                continue  # 'SK', 'NO': region codes on a line of their own
            if w.isupper() and len(w) <= 3:
                return False  # 'to JFK on': flights and airports, not streets
            if not w[0].isupper() and (need_unknown is False or not self._streetish(lw)):
                return False  # lower case only with a street word: 'hersnapvej', 'rua do sol'
            if lw not in (self._english if w[0].isupper() else self._english_all):
                unknown = True
        return unknown or not need_unknown

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float, int]]:
        for s, e in self._spans(text, lower):
            yield s, e, self._score, 0

    def _spans(self, text: str, lower: str) -> Iterable[tuple[int, int]]:
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
                    if not (w[0].isupper() or w.lower().strip(".") in self._connectors):
                        break
                    taken += 1
                if taken:
                    yield m.start("a"), m.start("b") + len(" ".join(b[:taken]))
        if "\n" in text:
            for m in _NUM_INSIDE.finditer(text):
                pre = m.group("pre").split()
                while pre and not pre[0][0].isupper():
                    pre.pop(0)
                if pre and self._placeish(pre + m.group(0)[len(m.group("pre")) :].split()[1:], need_unknown=False):
                    start = m.start("pre") + m.group("pre").rfind(" ".join(pre))
                    yield start, self._extend(text, m.end())
        for m in _US_STREET.finditer(text):
            # '370 3911 Fourth Avenue Suite 697 Apt. 397, Mora de Rubielos, Spain 16200'
            end = self._extend(text, m.end())
            if end > m.end():
                yield m.start(), end
        for m in _INTL_CORE.finditer(text):
            street = m.group("street").split()
            if not self._placeish(street, need_unknown=True):
                continue
            yield m.start(), self._extend(text, m.end())
        for m in _NUM_NUM_STREET.finditer(text):
            found = self._num_num_street(text, m)
            if found is not None:
                yield found

    def _num_num_street(self, text: str, m: object) -> tuple[int, int] | None:
        street_words = m.group("street").split()  # type: ignore[attr-defined]
        # the street words run to a street word ('Avenue', 'Lane') or start with one ('Rue')
        cut = next((k for k, w in enumerate(street_words) if w.lower().strip(".") in self._street_words), None)
        if cut is None:
            return None
        keep = street_words[: cut + 1] if cut > 0 else street_words
        if cut > 0:
            # 'Devon Street West', 'Crown Street Kishiev Squares': capitalised words after it
            for w in street_words[cut + 1 :]:
                if not w[0].isupper() or _UNIT_RX.fullmatch(w) or w.lower() in ("suite", "apt", "apt.", "unit"):
                    break
                keep.append(w)
        if cut == 0:
            # 'Rue de Tanger': capitalised words and connectors after the street word
            keep = [street_words[0]]
            for w in street_words[1:]:
                if _UNIT_WORD.fullmatch(w):
                    break
                if w.lower() in self._connectors or w[0].isupper():
                    keep.append(w)
                else:
                    break
        joined = " ".join(keep)
        if joined != m.group("street")[: len(joined)]:  # type: ignore[attr-defined]
            return None
        return m.start(), self._extend(text, m.start("street") + len(joined))  # type: ignore[attr-defined]

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
            after_unit = bool(_UNIT_RX.match(part.group("part")))
            after_comma = "," in text[end : part.start("part")]
            parts = part.group("part").split()
            if parts[0].lower() == "nan":
                end = part.end()  # an empty field exported as 'nan' in a pasted address block
                continue
            if not after_unit and not self._placeish(parts, need_unknown=False):
                break
            end = part.end()
        return end
