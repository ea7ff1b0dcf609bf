"""Person names in any letter case: census name lists, English vocabulary and name cues.

spaCy's small English model finds 'Mary Watson' but not 'mary watson' or 'MARY WATSON',
and customers type both. A name is reported when

* a census first name is followed by a surname-like word ('john smith', 'sean o'neil');
* a strong cue ('my name is', 'passenger', 'mr', 'surname') precedes a word that is a
  census name or not an English word;
* a weak cue ('i'm', 'this is', 'thanks,') precedes a word that is not an English word
  or is a census first name.

A name runs on over following words that are census names or not English words, up to four.
First names that are far more often ordinary words ('will', 'may', 'bill') never start a name
on their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from safebot.redaction.recognizers.base import SafebotRecognizer
from safebot.redaction.recognizers.vocabulary import (
    census_first_names,
    census_last_names,
    english_words,
)

# Census names that are, in a customer chat, nearly always ordinary words.
COMMON_WORDS = frozenset(
    """
    a an and are as at be been but by can card cash check close could date day do does
    done down dear early even fine for free from good gate get go going got had has have
    hello her here hi him his hold home hope how i if in is it just king know last late
    lead let like little long love many march may me miles more most much must my new
    next no not now of off ok okay on one only or our out over paid pay please pin rich
    right sale same saw see seat she so some soon still such sun take than thank thanks
    that the their them then there these they this those to today too travel true two up
    us very want was way we well were what when where which while who why will with
    would yes yet you your young bill bank banks mark grace june april august story
    rose summer dawn hunter ray price case lane major sterling booking flight
    green brown white black gray grey short strong street road avenue row class first
    business economy window aisle middle number sure sorry fine help hey dad mum mom
    """.split()
)

STRONG_CUE = re.compile(
    r"(?:\bmy\s+name\s+is|\bmy\s+name's|\bname\s*(?:is|:)|\bcalled|\bpassenger(?:'s)?(?:\s+name)?"
    r"(?:\s+is|\s*:)?|\bmr\.?|\bmrs\.?|\bms\.?|\bmiss|\bdr\.?|\bmx\.?|"
    r"\b(?:first|last|sur|full|middle|maiden|given|family)\s*name\s*(?:is|:|was)?|"
    r"\bsigned,?|\bspelled|\bspelt|\btraveller|\btraveler|\bon\s+behalf\s+of|\bnamed(?:\s+(?:him|her|them))?|"
    r"\b(?:people\s+)?call\s+me)\s+$",
    re.IGNORECASE,
)
WEAK_CUE = re.compile(
    r"(?:\bi\s+am|\bi'm|\bim|\bthis\s+is|\bit's|\bits|\bregards,?|\bthanks,?|\bcheers,?|"
    r"\bbest,?|\bhi,?|\bhello,?|\bdear)\s+$",
    re.IGNORECASE,
)

WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]))*")


_PARTICLES = frozenset("van von der den de da di del della du la le ten ter bin ibn al el y".split())
_LIST_SEP = re.compile(r",[ \t]+(?:and[ \t]+)?|[ \t]+and[ \t]+")
_CAP_BEFORE = re.compile(r"[^\W\d_][\w'’\-]*[ \t]+$")  # a capitalised word right before: 'Corner Becker'
_CAP_AFTER = re.compile(r"[ \t]+[^\W\d_a-z]")  # 'and Abt Associates', 'Lucid and Loveland Technologies'
_BEFORE_CUE = re.compile(
    r"(?:^|(?<=[.!?\n]\s)|(?<=\n))(?P<name>[^\W\d_][^\W\d_'’\-]+)(?:[ \t]+lives[ \t]+(?:on|in|at)\b|,[ \t]+can[ \t]+i\b)",
    re.IGNORECASE,
)
_INITIAL = re.compile(r"[ \t]+[^\W\d_]\.?[ \t]+")


def _parts(word: str) -> list[str]:
    return [p for p in re.split(r"['’\-]", word) if p]


class NameGazetteerRecognizer(SafebotRecognizer):
    """PERSON from census name lists, English vocabulary and name cues, in any letter case."""

    def __init__(self) -> None:
        super().__init__("PERSON", "safebot.person_gazetteer")
        self.first = census_first_names()
        self.last = census_last_names()
        # wordfreq's long tail holds many given names ('dmitri', 'priya', 'ingrid' rank 20,000 to
        # 33,000): only the 20,000 most frequent words count as "an English word" here.
        self.english = english_words(20000)
        # Inside a name already started, or right after 'my name is', only really common words
        # end it ('ebenezer' does not).
        self.common_english = english_words(12000)
        from safebot.redaction.recognizers.common import place_names

        cities, countries = place_names()
        self._places = cities | countries

    # -- word classes -------------------------------------------------------------------------
    def is_first(self, w: str) -> bool:
        if w in COMMON_WORDS:
            return False
        if w in self.first:
            return True
        parts = _parts(w)
        # 'jean-baptiste', 'mary-jane': a census first name joined to another name part.
        return "-" in w and len(parts) > 1 and parts[0] in self.first and all(
            p in self.first or p in self.last or p not in self.english for p in parts[1:]
        )

    def is_last(self, w: str) -> bool:
        if w in COMMON_WORDS:
            return False
        parts = _parts(w)
        if any(p in self.last for p in parts if len(p) > 1):
            return True
        return bool(re.match(r"(?:o['’]|mc|mac|d['’]|n['’])[^\W\d_]{2,}$", w))

    def is_unknown(self, w: str) -> bool:
        """Not an English word: a name, a typo or a foreign word."""
        parts = _parts(w)
        return len(w) >= 3 and w not in COMMON_WORDS and all(p not in self.english for p in parts)

    def name_part(self, w: str) -> bool:
        return self.is_first(w) or self.is_last(w) or self.is_unknown(w)

    def continues_name(self, w: str) -> bool:
        return self.name_part(w) or (
            len(w) >= 3 and w not in COMMON_WORDS and all(p not in self.common_english for p in _parts(w))
        )

    # -- search ---------------------------------------------------------------------------------
    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        yield from self._listed(text)
        yield from self._before_cue(text)
        words = list(WORD.finditer(lower))
        i = 0
        while i < len(words):
            w = words[i].group(0)
            before = lower[max(0, words[i].start() - 40) : words[i].start()]
            strong = STRONG_CUE.search(before) is not None
            weak = not strong and WEAK_CUE.search(before) is not None
            nxt = self._next(lower, words, i)
            score = 0.0
            if nxt is not None and self._case_breaks(text, words, i, i + 1):
                nxt = None  # 'Walker began': a capitalised word and a lower-case one are not one name
            if self.is_first(w) and nxt is not None and (self.is_last(nxt) or self.is_unknown(nxt)):
                score = 0.85 if strong or weak else 0.7
            elif strong and w not in COMMON_WORDS and (
                self.name_part(w) or len(w) >= 2 and w not in self.common_english
            ):
                score = 0.85
            elif self._capitalised_pair(text, words, i) and nxt is not None and (
                (self.is_first(w) or self.is_unknown(w)) and (self.is_last(nxt) or self.is_unknown(nxt))
            ):
                # 'HIROSHI VASQUEZ', 'Ebenezer D'Souza': two capitalised name-like words in a row.
                score = 0.7
            elif weak and (self.is_unknown(w) or self.is_first(w)):
                score = 0.75
            if not score and self._with_initial(text, words, i):
                # 'Elita B Desaulniers', 'Sari J. Paavolainen'
                yield words[i].start(), words[i + 2].end(), 0.7
                i += 3
                continue
            if not score:
                i += 1
                continue
            end = i
            while end - i < 3:
                follow = self._next(lower, words, end)
                if follow is None or not self.continues_name(follow) or self._case_breaks(text, words, i, end + 1):
                    break
                end += 1
                if re.search(r"['’]s$", follow):
                    break  # "Marcil's Cautionary Tales": a possessive ends the name
            yield words[i].start(), words[end].end(), score
            i = end + 1

    def _surname(self, w: str) -> bool:
        """A surname that is not also an English word ('Becker', 'Vasquez', 'Kónya')."""
        lw = w.lower()
        return len(w) >= 3 and lw not in self.english and (lw in self.last or self.is_unknown(lw))

    def _listed(self, text: str) -> Iterable[tuple[int, int, float]]:
        """Capitalised single words in a coordinated list: 'founders: Kónya, Becker and Vasquez',
        'Marrero and Murphy were'. Every item must be a census name or not an English word, at
        least one a census surname that is not an English word; an item of two capitalised words
        in a row ('Abt Associates', 'Walter Road') makes it a company or a street, not names."""
        if " and " not in text:
            return
        words = [m for m in WORD.finditer(text) if m.group(0)[0].isupper()]
        i = 0
        while i < len(words):
            chain = [words[i]]
            j = i + 1
            while j < len(words) and _LIST_SEP.fullmatch(text, chain[-1].end(), words[j].start()):
                chain.append(words[j])
                j += 1
            i = j
            if len(chain) < 2 or " and " not in text[chain[-2].end() : chain[-1].start()]:
                continue
            before, after = text[max(0, chain[0].start() - 40) : chain[0].start()], text[chain[-1].end() :]
            prev = _CAP_BEFORE.search(before)
            if (prev is not None and prev.group(0)[0].isupper()) or _CAP_AFTER.match(after):
                continue
            items = [m.group(0) for m in chain]
            if not all(
                w[1:].islower() and w.lower() not in COMMON_WORDS or w.lower() in self.last
                for w in items
            ) or not all(self.name_part(w.lower()) for w in items):
                continue
            # a census surname among them, and one that is not an English word ('Kadiev and Adams');
            # no city or country ('Frankfurt and Zurich', 'Orlando and Houston' stay readable)
            if not any(w.lower() in self.last for w in items) or not any(self._surname(w) for w in items):
                continue
            if any(w.lower() in self._places for w in items):
                continue
            for m in chain:
                yield m.start(), m.end(), 0.7

    def _before_cue(self, text: str) -> Iterable[tuple[int, int, float]]:
        """A capitalised name-like word before 'lives on', ', can I ...': 'Sandra lives on Via
        Tasso', 'Danial, can I please speak to your boss?'."""
        for m in _BEFORE_CUE.finditer(text):
            w = m.group("name")
            lw = w.lower()
            if w[1:].islower() and lw not in COMMON_WORDS and (self.is_first(lw) or self.is_unknown(lw)):
                yield m.start("name"), m.end("name"), 0.75

    def _with_initial(self, text: str, words: list[re.Match[str]], i: int) -> bool:
        if i + 2 >= len(words):
            return False
        a, mid, b = (text[words[k].start() : words[k].end()] for k in (i, i + 1, i + 2))
        if len(mid) != 1 or not mid.isupper() or not _INITIAL.fullmatch(text, words[i].end(), words[i + 2].start()):
            return False
        if not (a[0].isupper() and b[0].isupper() and len(a) > 1 and len(b) > 1):
            return False
        wa, wb = a.lower(), b.lower()
        return (self.is_first(wa) or self.is_unknown(wa)) and (self.is_last(wb) or self.is_unknown(wb))

    @staticmethod
    def _capitalised_pair(text: str, words: list[re.Match[str]], i: int) -> bool:
        """Word ``i`` and the next are both Title-case or both upper-case in the original."""
        if i + 1 >= len(words):
            return False
        a = text[words[i].start() : words[i].end()]
        b = text[words[i + 1].start() : words[i + 1].end()]
        if len(a) < 2 or len(b) < 2:
            return False
        return (a.isupper() and b.isupper()) or (a[0].isupper() and b[0].isupper() and not a.isupper() and not b.isupper())

    @staticmethod
    def _case_breaks(text: str, words: list[re.Match[str]], i: int, j: int) -> bool:
        """Word ``i`` is capitalised in the original and word ``j`` is all lower case (not 'van')."""
        a = text[words[i].start() : words[i].end()]
        b = text[words[j].start() : words[j].end()]
        return not a.islower() and b.islower() and b not in _PARTICLES

    @staticmethod
    def _next(lower: str, words: list[re.Match[str]], i: int) -> str | None:
        """The next word if only spaces separate it from word ``i``."""
        if i + 1 >= len(words) or lower[words[i].end() : words[i + 1].start()].strip(" ") != "":
            return None
        return words[i + 1].group(0)
