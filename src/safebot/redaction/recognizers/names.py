"""Person names without capital letters: a gazetteer of US census first and last names.

spaCy's small English model finds 'Mary Watson' but not 'mary watson' or 'MARY WATSON', and
customers type both. A name is reported when a known first name is followed by a known last
name (or a hyphenated/apostrophe surname), or when a name cue ('my name is', 'passenger',
'mr') precedes one or two name-shaped words. First names that are also common English
words ('will', 'may', 'bill') count only before a known last name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from safebot.redaction.recognizers.base import SafebotRecognizer

# Words that are census first or last names but far more often ordinary words in a chat.
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
    rose summer dawn hunter ray price case love lane major sterling booking flight
    green brown white black gray grey long short young strong street road avenue
    """.split()
)

NAME_CUES = re.compile(
    r"(?:\bmy\s+name\s+is|\bmy\s+name's|\bname\s*(?:is|:)|\bthis\s+is|\bi\s+am|\bi'm|\bim|"
    r"\bcalled|\bpassenger(?:\s+name)?(?:\s+is|:)?|\bfor|\bmr\.?|\bmrs\.?|\bms\.?|\bmiss|\bdr\.?|"
    r"\b(?:first|last|sur|full|middle|maiden)\s*name\s*(?:is|:)?|\bsurname\s*(?:is|:)?|"
    r"\bsigned,?|\bregards,?|\bthanks,?|\bcheers,?|\bspelled|\bspelt)\s+$",
    re.IGNORECASE,
)

WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]")


@lru_cache(maxsize=1)
def _census() -> tuple[frozenset[str], frozenset[str]]:
    root = resources.files("names")
    first: set[str] = set()
    for fname in ("dist.male.first", "dist.female.first"):
        first.update(line.split()[0].lower() for line in root.joinpath(fname).read_text().splitlines() if line.strip())
    last_lines = root.joinpath("dist.all.last").read_text().splitlines()
    # The long tail of the census surname list is mostly rare spellings of ordinary words.
    last = {line.split()[0].lower() for line in last_lines[:30000] if line.strip()}
    return frozenset(first), frozenset(last)


def _parts(word: str) -> list[str]:
    return [p for p in re.split(r"['’\-]", word.lower()) if p]


class NameGazetteerRecognizer(SafebotRecognizer):
    """PERSON from census name lists and name cues, in any letter case."""

    def __init__(self) -> None:
        super().__init__("PERSON", "safebot.person_gazetteer")
        self.first, self.last = _census()

    def _is_first(self, w: str) -> bool:
        return w.lower() in self.first and w.lower() not in COMMON_WORDS

    def _is_last(self, w: str) -> bool:
        parts = _parts(w)
        if not parts or w.lower() in COMMON_WORDS:
            return False
        # o'neil, smith-jones, mcdonald: any census part, or an o'/mc/mac prefix.
        if any(p in self.last for p in parts if len(p) > 1):
            return True
        return bool(re.match(r"(?:o['’]|mc|mac|d['’])[a-z]{2,}$", w.lower()))

    def _name_shaped(self, w: str) -> bool:
        lw = w.lower()
        return len(lw) >= 2 and lw not in COMMON_WORDS and not lw.isdigit()

    def find(self, text: str, lower: str) -> Iterable[tuple[int, int, float]]:
        words = list(WORD.finditer(text))
        i = 0
        while i < len(words):
            w = words[i].group(0)
            nxt = words[i + 1].group(0) if i + 1 < len(words) else None
            adjacent = nxt is not None and text[words[i].end() : words[i + 1].start()].strip() == ""
            cue = NAME_CUES.search(text, max(0, words[i].start() - 40), words[i].start()) is not None
            if nxt is not None and adjacent and (
                (self._is_first(w) or (w.lower() in self.first and self._is_last(nxt)))
                and (self._is_last(nxt) or (cue and self._name_shaped(nxt)))
            ):
                end = i + 1
                # A third part: 'mary jane watson', 'jean-luc de la cruz' stays simple.
                if end + 1 < len(words) and self._is_last(words[end + 1].group(0)) and \
                        text[words[end].end() : words[end + 1].start()].strip() == "":
                    end += 1
                yield words[i].start(), words[end].end(), 0.85 if cue else 0.7
                i = end + 1
                continue
            if cue and self._name_shaped(w) and (self._is_first(w) or self._is_last(w)):
                end = i
                if nxt is not None and adjacent and self._name_shaped(nxt) and (
                    self._is_last(nxt) or self._is_first(nxt)
                ):
                    end = i + 1
                yield words[i].start(), words[end].end(), 0.8
                i = end + 1
                continue
            i += 1
