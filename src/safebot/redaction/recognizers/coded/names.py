"""PERSON in any letter case: census name lists, English vocabulary and name cues.

spaCy's small English model finds 'Mary Watson' but not 'mary watson' or 'MARY WATSON',
and customers type both. A name is reported when

* a census first name is followed by a surname-like word ('john smith', 'sean o'neil');
* a strong cue ('my name is', 'passenger', 'mr', 'surname') precedes a word that is a
  census name or not an English word;
* a weak cue ('i'm', 'this is', 'thanks,') precedes a word that is not an English word
  or is a census first name.

A name runs on over following words that are census names or not English words, up to four.
Census names that are far more often ordinary words (data/common_name_words.txt: 'will',
'may', 'bill') never start a name on their own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from safebot.redaction.recognizers.budget import IGNORECASE, Rx, compile_rx
from safebot.redaction.recognizers.engines.base import SafebotRecognizer
from safebot.redaction.recognizers.vocabulary import (
    census_first_names,
    census_last_names,
    english_words,
    ner_can_matter,
)
from safebot.redaction.recognizers.words import words

__all__ = ["SafebotNameRecognizer"]

# A cue ends right where the name starts: each pattern matches the cue and the spaces after it.
_STRONG_CUE = compile_rx(
    r"(?:\bmy\s+name\s+is|\bmy\s+name's|\bname\s*(?:is|:)|\bcalled|\bpassenger(?:'s)?(?:\s+name)?"
    r"(?:\s+is|\s*:)?|\bmr\.?|\bmrs\.?|\bms\.?|\bmiss|\bdr\.?|\bmx\.?|"
    r"\b(?:first|last|sur|full|middle|maiden|given|family)\s*name\s*(?:is|:|was)?|"
    r"\bsigned,?|\bspelled|\bspelt|\btraveller|\btraveler|\bon\s+behalf\s+of|\bnamed(?:\s+(?:him|her|them))?|"
    r"\b(?:account|card)\s*holder(?:'s)?(?:\s+name)?(?:\s+is|\s*:)?|\bin\s+the\s+name\s+of|"
    r"\b(?:booked|booking)\s+under(?:\s+the\s+name)?|"
    r"\b(?:people\s+)?call\s+me)\s+",
    IGNORECASE,
)
_WEAK_CUE = compile_rx(
    r"(?:\bi\s+am|\bi'm|\bim|\bthis\s+is|\bit's|\bits|\bregards,?|\bthanks,?|\bcheers,?|"
    r"\bbest,?|\bhi,?|\bhello,?|\bdear|\bsays|\bsaid|\baccording\s+to)\s+",
    IGNORECASE,
)

WORD = compile_rx(r"[^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]))*")
_PART_SPLIT = compile_rx(r"['’\-]")
_IRISH_SCOTS = compile_rx(r"(?:o['’]|mc|mac|d['’]|n['’])[^\W\d_]{2,}$")
_LIST_SEP = compile_rx(r",[ \t]+(?:and[ \t]+)?|[ \t]+and[ \t]+")
_CAP_BEFORE = compile_rx(r"[^\W\d_][\w'’\-]*[ \t]+$")  # a capitalised word right before: 'Corner Becker'
_CAP_AFTER = compile_rx(r"[ \t]+[^\W\d_a-z]")  # 'and Abt Associates', 'Lucid and Loveland Technologies'
_BEFORE_CUE = compile_rx(
    r"(?:^|(?<=[.!?\n]\s)|(?<=\n))(?P<name>[^\W\d_][^\W\d_'’\-]+)(?:[ \t]+lives[ \t]+(?:on|in|at)\b|,[ \t]+can[ \t]+i\b"
    r"|[ \t]+(?:began|had\s+given|has\s+been|wrote|told\s+me|will\s+be)\b)",
    IGNORECASE,
)
# A speaker's name at the start of a line: 'Vsevolod: "Who are you?"', '>Zuzana: I think'
_SPEAKER = compile_rx(r"(?:^|(?<=\n))[ \t>]*(?P<name>[^\W\d_][^\W\d_'’\-]+):[ \t]*(?=[\"“'’]|[^\W\d_])")
_INITIAL = compile_rx(r"[ \t]+[^\W\d_]\.?[ \t]+")


def _plain(word: str) -> str:
    """'josé' -> 'jose', 'müller' -> 'muller': the census lists are unaccented."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _parts(word: str) -> list[str]:
    return [p for p in _PART_SPLIT.split(word) if p]


class _Word:
    """A word of the message, a possessive's "'s" cut off: "Szczepańska's" is judged, and
    redacted, as 'Szczepańska' (an English 's' would make any name look like a word)."""

    __slots__ = ("_end", "_start", "_text", "possessive")

    def __init__(self, m: object) -> None:
        text: str = m.group(0)  # type: ignore[attr-defined]
        self._start: int = int(m.start())  # type: ignore[attr-defined]
        self.possessive = len(text) > 3 and text[-2] in "'’" and text[-1] == "s"
        self._text = text[:-2] if self.possessive else text
        self._end = self._start + len(self._text)

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._end

    def group(self, _: int = 0) -> str:
        return self._text


def _cue_ends(rx: Rx, lower: str) -> set[int]:
    """Positions where a cue (and the spaces after it) ends."""
    return {m.end() for m in rx.finditer(lower)}


class SafebotNameRecognizer(SafebotRecognizer):
    """PERSON from census name lists, English vocabulary and name cues, in any letter case."""

    def __init__(
        self, entity: str, name: str, *, strong: float = 0.85, plain: float = 0.7, weak: float = 0.75,
        priority: int = 50,
    ) -> None:
        super().__init__(entity, name, priority=priority)
        self._strong_score, self._plain_score, self._weak_score = strong, plain, weak
        self.first = census_first_names()
        self.last = census_last_names()
        self.common = words("common_name_words") | words("not_names")
        self.particles = words("name_particles")
        # wordfreq's long tail holds many given names ('dmitri', 'priya', 'ingrid' rank 20,000 to
        # 33,000): only the 20,000 most frequent words count as "an English word" here.
        self.english = english_words(20000)
        # Inside a name already started, or right after 'my name is', only really common words
        # end it ('ebenezer' does not).
        self.common_english = english_words(12000)
        from safebot.redaction.recognizers.coded.places import place_names

        cities, countries = place_names()
        self._places = cities | countries

    def applies(self, text: str, digit_count: int) -> bool:
        # Only words outside the common vocabulary can start a name: a message made of common
        # English words that are not names (the NER-free words) has none.
        return ner_can_matter(text)

    # -- word classes -------------------------------------------------------------------------
    def is_first(self, w: str) -> bool:
        if w in self.common:
            return False
        if w in self.first or _plain(w) in self.first:
            return True
        parts = _parts(w)
        # 'jean-baptiste', 'mary-jane': a census first name joined to another name part.
        return "-" in w and len(parts) > 1 and parts[0] in self.first and all(
            p in self.first or p in self.last or p not in self.english for p in parts[1:]
        )

    def is_last(self, w: str) -> bool:
        if w in self.common:
            return False
        parts = _parts(w)
        if any(p in self.last or _plain(p) in self.last for p in parts if len(p) > 1):
            return True
        return bool(_IRISH_SCOTS.match(w))

    def is_unknown(self, w: str) -> bool:
        """Not an English word: a name, a typo or a foreign word."""
        parts = _parts(w)
        return len(w) >= 3 and w not in self.common and all(p not in self.english for p in parts)

    def name_part(self, w: str) -> bool:
        return self.is_first(w) or self.is_last(w) or self.is_unknown(w)

    def continues_name(self, w: str) -> bool:
        return self.name_part(w) or (
            len(w) >= 3 and w not in self.common and all(p not in self.common_english for p in _parts(w))
        )

    # -- search ---------------------------------------------------------------------------------
    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float, int]]:
        for s, e, score in self._find(text, lower):
            yield s, e, score, 0

    def _find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        yield from self._listed(text)
        yield from self._before_cue(text)
        words_ = [_Word(m) for m in WORD.finditer(lower)]
        if not words_:
            return
        strong_at, weak_at = _cue_ends(_STRONG_CUE, lower), _cue_ends(_WEAK_CUE, lower)
        i = 0
        while i < len(words_):
            w = words_[i].group(0)
            start = words_[i].start()
            strong = start in strong_at
            weak = not strong and start in weak_at
            nxt = self._next(lower, words_, i) if not words_[i].possessive else None
            score = 0.0
            if nxt is not None and self._case_breaks(text, words_, i, i + 1):
                nxt = None  # 'Walker began': a capitalised word and a lower-case one are not one name
            if self.is_first(w) and nxt is not None and (self.is_last(nxt) or self.is_unknown(nxt)):
                score = self._strong_score if strong or weak else self._plain_score
            elif strong and w not in self.common and (
                self.name_part(w) or (len(w) >= 2 and w not in self.common_english)
            ):
                score = self._strong_score
            elif self._capitalised_pair(text, words_, i) and nxt is not None and (
                (self.is_first(w) or self.is_unknown(w)) and (self.is_last(nxt) or self.is_unknown(nxt))
            ):
                # 'HIROSHI VASQUEZ', 'Ebenezer D'Souza': two capitalised name-like words in a row.
                score = self._plain_score
            elif weak and (self.is_unknown(w) or self.is_first(w)):
                score = self._weak_score
            if not score and self._with_initial(text, words_, i):
                # 'Elita B Desaulniers', 'Sari J. Paavolainen'
                yield words_[i].start(), words_[i + 2].end(), self._plain_score
                i += 3
                continue
            if not score:
                i += 1
                continue
            end = i
            while end - i < 3 and not words_[end].possessive:  # "Marcil's Cautionary Tales"
                follow = self._next(lower, words_, end)
                if follow is None or not self.continues_name(follow) or self._case_breaks(text, words_, i, end + 1):
                    break
                end += 1
            yield words_[i].start(), words_[end].end(), score
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
        caps = [m for m in WORD.finditer(text) if m.group(0)[0].isupper()]
        i = 0
        while i < len(caps):
            chain = [caps[i]]
            j = i + 1
            while j < len(caps) and _LIST_SEP.fullmatch(text, chain[-1].end(), caps[j].start()):
                chain.append(caps[j])
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
                (w[1:].islower() and w.lower() not in self.common) or w.lower() in self.last
                for w in items
            ) or not all(self.name_part(w.lower()) or w.lower() in self.last for w in items):
                continue
            # a census surname among them, and one that is not an English word ('Kadiev and Adams');
            # not a list of places ('Frankfurt and Zurich', 'Orlando and Houston' stay readable),
            # though a surname may also name a town ('Abramovich and Wilson')
            if not any(w.lower() in self.last for w in items) or not any(self._surname(w) for w in items):
                continue
            if not any(self._surname(w) and w.lower() not in self._places for w in items):
                continue
            for m in chain:
                yield m.start(), m.end(), self._plain_score

    def _before_cue(self, text: str) -> Iterable[tuple[int, int, float]]:
        """A capitalised name-like word before 'lives on', ', can I ...', 'began', 'had given'
        ('Sandra lives on Via Tasso', 'Danial, can I please speak to your boss?'), or alone at
        the start of a line before a colon, as a speaker ('Vsevolod: "Who are you?"')."""
        for rx in (_BEFORE_CUE, _SPEAKER):
            for m in rx.finditer(text):
                w = m.group("name")
                lw = w.lower()
                if w[1:].islower() and lw not in self.common and (self.is_first(lw) or self.is_unknown(lw)):
                    yield m.start("name"), m.end("name"), self._weak_score

    def _with_initial(self, text: str, words_: list, i: int) -> bool:  # type: ignore[type-arg]
        if i + 2 >= len(words_):
            return False
        a, mid, b = (text[words_[k].start() : words_[k].end()] for k in (i, i + 1, i + 2))
        if len(mid) != 1 or not mid.isupper() or not _INITIAL.fullmatch(text, words_[i].end(), words_[i + 2].start()):
            return False
        if not (a[0].isupper() and b[0].isupper() and len(a) > 1 and len(b) > 1):
            return False
        wa, wb = a.lower(), b.lower()
        return (self.is_first(wa) or self.is_unknown(wa)) and (self.is_last(wb) or self.is_unknown(wb))

    @staticmethod
    def _capitalised_pair(text: str, words_: list, i: int) -> bool:  # type: ignore[type-arg]
        """Word ``i`` and the next are both Title-case or both upper-case in the original."""
        if i + 1 >= len(words_):
            return False
        a = text[words_[i].start() : words_[i].end()]
        b = text[words_[i + 1].start() : words_[i + 1].end()]
        if len(a) < 2 or len(b) < 2:
            return False
        return (a.isupper() and b.isupper()) or (a[0].isupper() and b[0].isupper() and not a.isupper() and not b.isupper())

    def _case_breaks(self, text: str, words_: list, i: int, j: int) -> bool:  # type: ignore[type-arg]
        """Word ``i`` is capitalised in the original and word ``j`` is all lower case (not 'van')."""
        a = text[words_[i].start() : words_[i].end()]
        b = text[words_[j].start() : words_[j].end()]
        return not a.islower() and b.islower() and b not in self.particles

    @staticmethod
    def _next(lower: str, words_: list, i: int) -> str | None:  # type: ignore[type-arg]
        """The next word if only spaces separate it from word ``i``."""
        if i + 1 >= len(words_) or lower[words_[i].end() : words_[i + 1].start()].strip(" ") != "":
            return None
        return str(words_[i + 1].group(0))
