"""Normalisation before detection, with offsets mapped back to the original text.

Customers type identifiers in forms no recognizer should have to know, and people trying to
slip data past a filter choose those forms on purpose. Detection (recognizers and spaCy NER)
runs on a normalised copy; every finding is mapped back with :meth:`Normalised.span`, so a
span always covers whole original characters: the '%34' triples of a decoded digit, the word
'forty' of '45', a combining mark after the last character.

The passes, in order (each a module of this package, each with a cheap test that skips it):

1. ``encodings``   percent-encoding, JSON escapes, JSON and URL-query structure as plain words
2. ``chars``       NFKC per grapheme (NFD accents composed), zero-width/format characters out,
                   NUL and other controls as spaces, every decimal digit as ASCII, stray
                   combining marks off Latin letters and digits
3. ``emails``      'mary [at] example [dot] com', 'mary @ example.com' -> 'mary@example.com'
4. ``homoglyphs``  Cyrillic/Greek look-alikes inside identifier-shaped tokens only
5. ``lookalikes``  O and l/I for 0 and 1 inside numbers
6. ``words``       digits spelled out ('four five three nine', 'forty five thirty nine')
7. ``separators``  underscores, commas, tabs, line breaks, four spaces, 'and then' between groups
8. ``separators``  characters typed one at a time, closed up ('4 1 1 1 ...')

Plain ASCII text with none of the triggers costs a handful of substring and regex checks;
every pass is linear in the text's length, and between passes the detection's time budget
(``recognizers.budget``) is checked, so a pathological message is blocked, not waited for. What is
deliberately left alone, so that ordinary text reaches NER and the recognizers as written:
a lone number word ('one of your branches'), an amount ('1,200,000 dollars'), a word with O
or l in it ('O'Brien', 'Hello'), a Russian or Greek word, 'at' in a sentence ('meet me at
example.com' stays; 'mary.jones at example.com' does not).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from safebot.redaction.normalise import (
    chars,
    emails,
    encodings,
    homoglyphs,
    lookalikes,
    separators,
    words,
)
from safebot.redaction.normalise._trace import Edit, Normalised, Trace
from safebot.redaction.recognizers import budget

__all__ = ["PASSES", "Normalised", "Pass", "normalise"]


class Pass(NamedTuple):
    """One normalisation step: a cheap test whether it can apply, and the edits it makes."""

    name: str
    applies: Callable[[str], bool]
    edits: Callable[[str], list[Edit]]


PASSES: tuple[Pass, ...] = (
    Pass("encodings", encodings.needs_decode, encodings.decode),
    Pass("chars", chars.needs_fold, chars.fold_chars),
    Pass("emails", emails.needs_emails, emails.fold_emails),
    Pass("homoglyphs", homoglyphs.needs_homoglyphs, homoglyphs.fold_homoglyphs),
    Pass("lookalikes", lookalikes.needs_lookalikes, lookalikes.fold_lookalikes),
    Pass("words", words.needs_number_words, words.fold_number_words),
    Pass("separators", separators.needs_separators, separators.fold_separators),
    Pass("spaced", separators.needs_close_spaced, separators.close_spaced),
)


def normalise(text: str) -> Normalised:
    """The text detection runs on, and the way back to the original's offsets.

    >>> n = normalise("4111\\u200b１１１１")
    >>> n.text
    '41111111'
    >>> n.span(4, 8)
    (5, 9)
    >>> n = normalise("my card is four five three nine_1488")
    >>> n.text
    'my card is 4539-1488'
    >>> n.span(11, 20)
    (11, 36)
    """
    trace = Trace(text)
    for p in PASSES:
        current = trace.text
        if p.applies(current):
            trace.apply(p.edits(current))
            budget.check()  # inside a detection's deadline, an overrun fails closed here too
    return trace.result()
