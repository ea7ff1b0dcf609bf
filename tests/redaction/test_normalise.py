"""The normaliser: what each pass folds, what ordinary text keeps, and the way back to offsets."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from safebot.redaction.normalise import PASSES, normalise
from safebot.redaction.normalise._trace import Edit, Trace
from safebot.sensitive import Sensitive

ROOT = Path(__file__).resolve().parents[2]

# (raw, normalised): one or more rows per pass
FOLDED = [
    # chars: compatibility forms, invisible and control characters, any decimal digit, marks
    ("4111\u200b1111", "41111111"),
    ("\uff14\uff11\uff11\uff11", "4111"),
    ("a\u00a0b", "a b"),
    ("12\u201334", "12-34"),
    ("o\u2019neil", "o'neil"),
    ("\u0664\u0661\u0661\u0661 \u0661\u0661\u0661\u0661", "4111 1111"),  # Arabic-Indic
    ("\u096a\u0967\u0967\u0967", "4111"),  # Devanagari
    ("\u06f4\u06f1 \u0e54\u0e51 \u09ea\u09e7", "41 41 41"),  # Persian, Thai, Bengali
    ("Jose\u0301 Mu\u0308ller", "Jos\u00e9 M\u00fcller"),  # NFD composed: one word each
    ("41\u030311\u20e3", "4111"),  # a combining mark inside digits
    ("4111\x001111\x001111", "4111-1111-1111"),  # NUL between groups
    ("a\x07b", "a b"),
    # encodings
    ('{"card":"4111111111111111"}', "  card : 4111111111111111  "),
    ('{"card_number": "4111"}', "  card number :  4111  "),
    ('[{"field": "cvv", "value": "108"}]', "         :  cvv ,        :  108   "),
    ("?card=4111%201111&amount=20", " card 4111 1111 amount 20"),
    ("%34%31%31%31", "4111"),
    ("caf%C3%A9", "caf\u00e9"),
    ("\\u0034\\u0031", "41"),
    # emails
    ("mary.jones [at] example [dot] com", "mary.jones@example.com"),
    ("mary.jones(at)example(dot)co(dot)uk", "mary.jones@example.co.uk"),
    ("mary dot jones at example dot com", "mary.jones@example.com"),
    ("mary.jones @ example.com", "mary.jones@example.com"),
    ("slindqvist at example.com please", "slindqvist@example.com please"),
    ("mary.jones%40example.com", "mary.jones@example.com"),
    ("MARY AT EXAMPLE DOT ORG", "MARY@EXAMPLE.ORG"),
    # homoglyphs (only inside identifier-shaped tokens)
    ("GB82 W\u0415S\u0422 1234", "GB82 WEST 1234"),
    ("\u041e111 1111", "0111 1111"),  # Cyrillic O, then O for 0
    ("BIC: YNTO NL \u0423\u0417", "BIC: YNTO NL Y3"),
    ("cvc 9 \u039f 7", "cvc 9 0 7"),
    # lookalikes
    ("4lll 1111 O111 1111", "4111 1111 0111 1111"),
    ("my pin is l777", "my pin is 1777"),
    ("GB82WESTl2345698765432", "GB82WEST12345698765432"),
    ("NLO4LHLC2928729220", "NL04LHLC2928729220"),
    ("ssn I23 I5 OII7", "ssn 123 15 0117"),
    ("the back is I 3 2 I", "the back is 1321"),
    # spelled digits
    ("four five three nine one four eight eight", "45391488"),
    ("forty five thirty nine, oh two double four", "4539 0244"),
    ("nineteen eighty four", "1984"),
    ("four hundred and twelve", "412"),
    ("triple seven", "777"),
    ("cvv is one two three", "cvv is 123"),
    ("my card is four five three nine_1488", "my card is 4539-1488"),
    ("PNR eight Q F seven T L", "PNR 8QF7TL"),
    ("I E double five H X C O eighty four", "IE55HXCO84"),
    # separators
    ("4111_1111_1111_1111", "4111-1111-1111-1111"),
    ("4111,1111,1111,1111", "4111-1111-1111-1111"),
    ("4111\t1111", "4111-1111"),
    ("4111    1111", "4111-1111"),
    ("card 4111\n1111\n1111\n1111 thanks", "card 4111-1111-1111-1111 thanks"),
    ("4539 1488 and then 0343 6467", "4539 1488-0343 6467"),
    ("routing 251,777,632", "routing 251-777-632"),
    ("my card is 4111 1111, 1111 1111", "my card is 4111 1111-1111 1111"),
    ("05_04_1948", "05-04-1948"),
    ("DEUT_DE_FF_XXX", "DEUT DE FF XXX"),
    ("IDPY,ES,PY", "IDPY ES PY"),
    ("record locator is ESH\n968", "record locator is ESH 968"),
    # characters typed one at a time
    ("4 1 1 1 1 1 1 1", "41111111"),
    ("T M 4 9 8 L", "TM498L"),
    ("I D P Y E S P Y", "IDPYESPY"),
    ("is B E 0 3 3 9 6 3 4 1 a valid", "is BE03396341 a valid"),
]

# ordinary text the recognizers and NER must see as written
KEPT = [
    "plain ascii",
    "I want to go to one of your branches",
    "one or two, maybe three",
    "I have twenty five dollars and two A levels",
    "gate B two",
    "want to activate the new card with last four 7714",
    "O'Brien paid 1,200 dollars",
    "I sent $1,845.00 and 1,200,000 dollars, 12,50 EUR",
    "I was born on March 12, 1984",
    "in 2019, 2020 and 2021",
    "Yes, 2 please",
    "Hello2024 Apollo13 O2",
    "call 555 1234 I think",
    "I paid 20",
    "meet me at example.com",
    "look at google.com now",
    "he said: \"hello\"",
    "3... 2... 1... liftoff",
    "<CREDIT_CARD_1> and <IBAN_CODE:3fa9c2> and <PERSON_2>",
    "Flat 2\n10 Downing Street",
    "Box 8144\nAPO AA 42323",
    "Suite 464\n OULU\n\n Finland",
    "Nicosia\n, NI\n 61089\n28-64-66-98",
    "\u041c\u043e\u0441\u043a\u0432\u0430 2024",  # Moscow 2024: a Russian word stays Cyrillic
    "\u0441 10 \u0434\u043e 12",  # 'from 10 to 12'
    "\u0391\u03b8\u03ae\u03bd\u03b1 2024",  # Athens
    "Jos\u00e9 M\u00fcller, caf\u00e9, na\u00efve",
]


@pytest.mark.parametrize(("raw", "normal"), FOLDED)
def test_folds(raw: str, normal: str) -> None:
    assert normalise(raw).text == normal


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_text_is_kept(text: str) -> None:
    assert normalise(text).text == text


def _training_messages() -> list[str]:
    out = []
    for bot in ("bank", "airline"):
        data = yaml.safe_load((ROOT / "examples" / bot / "nlu.yml").read_text(encoding="utf-8"))
        for block in data.get("nlu", []):
            if "regex" in block:  # patterns, not messages
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    out.append(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", line[2:]))
    return out


def test_the_example_bots_training_messages_are_kept() -> None:
    messages = _training_messages()
    assert len(messages) > 500
    changed = [(m, normalise(m).text) for m in messages if normalise(m).text != m]
    assert changed == []


# offsets: normalised span -> original span
SPANS = [
    ("Jose\u0301 Mu\u0308ller", (0, 11), (0, 13)),  # the whole name, marks included
    ("Jose\u0301 Mu\u0308ller", (5, 11), (6, 13)),  # the surname: 'Mu' + U+0308 + 'ller'
    ("Jose\u0301", (0, 3), (0, 3)),
    ("Jose\u0301", (3, 4), (3, 5)),
    ("4111\u0303", (0, 4), (0, 5)),  # a mark after the last digit belongs to the span
    ("%34%31", (0, 2), (0, 6)),
    ("forty five thirty nine", (0, 1), (0, 5)),  # '4' came from 'forty'
    ("forty five thirty nine", (1, 2), (6, 10)),
    ("forty five thirty nine", (0, 4), (0, 22)),
    ("mary [at] example [dot] com", (0, 22), (0, 27)),
    ("4111\u200b\uff11\uff11\uff11\uff11", (4, 8), (5, 9)),
    ("ab\u200b", (0, 2), (0, 2)),  # a zero-width character after the span is not in it
]


@pytest.mark.parametrize(("raw", "span", "original"), SPANS)
def test_spans_map_to_whole_original_characters(raw: str, span: tuple[int, int], original: tuple[int, int]) -> None:
    assert normalise(raw).span(*span) == original


PIECES = st.sampled_from(
    ["4111", "1111", " ", "  ", "    ", "_", ",", ", ", "\n", "\r\n", "\t", "\x00", "-", ".", "/",
     "\u0303", "\u0301", "\u200b", "\u0664\u0661", "\uff14", "O", "l", "I", "\u041e", "\u0415",
     "Mary", "mu\u0308ller", "four", "forty", "five", "oh", "double", "hundred", "and then", "at",
     "[at]", "dot", "@", "example", "com", "%34", "%40", "{\"card\":\"", "\"}", "?ssn=", "&", "a",
     "B", "E", "x"]
)
MIXED = st.one_of(st.lists(PIECES, max_size=24).map("".join), st.text(max_size=40))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(MIXED)
def test_spans_stay_inside_the_original_in_order(text: str) -> None:
    n = normalise(text)
    last_start = 0
    for i in range(len(n.text)):
        s, e = n.span(i, i + 1)
        assert 0 <= s < e <= len(text)
        assert s >= last_start  # normalised order is original order
        last_start = s
        # never ends inside a grapheme: no combining mark right after the span
        assert e == len(text) or unicodedata.category(text[e])[0] != "M"
    for start in range(0, len(n.text) + 1, 3):
        for end in range(start, len(n.text) + 1, 2):
            s, e = n.span(start, end)
            assert 0 <= s <= e <= len(text)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(MIXED)
def test_every_original_character_survives_or_is_folded(text: str) -> None:
    """Each original letter or digit is covered by some normalised character's span: nothing
    identifier-like is dropped on the floor (only invisible, format and mark characters go)."""
    n = normalise(text)
    covered = set()
    for i in range(len(n.text)):
        s, e = n.span(i, i + 1)
        covered.update(range(s, e))
    for k, ch in enumerate(text):
        if ch.isalnum() and unicodedata.category(ch)[0] != "M":
            assert k in covered, (text, k, n.text)


def test_ascii_without_triggers_is_left_alone() -> None:
    n = normalise("what is my balance please")
    assert n.text == "what is my balance please" and not n.changed
    assert n.span(8, 15) == (8, 15)


def test_every_pass_has_a_cheap_test_that_says_no_to_plain_text() -> None:
    plain = "hello there, what is my balance today"
    assert [p.name for p in PASSES if p.applies(plain)] == []


def test_edits_must_be_sorted_and_disjoint() -> None:
    trace = Trace("abcdef")
    with pytest.raises(ValueError):
        trace.apply([Edit(2, 4, "x"), Edit(3, 5, "y")])
    with pytest.raises(ValueError):
        trace.apply([Edit(2, 2, "x")])


def test_sensitive_masks_everywhere() -> None:
    s = Sensitive("4111 1111 1111 1111")
    assert "4111" not in repr(s) and "4111" not in str(s) and "4111" not in f"{s}" and "4111" not in f"{s!r}"
    assert s.reveal() == "4111 1111 1111 1111"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)
