"""Placeholders as featurising tokens and entity candidates; regex/lookup entity extraction."""

from __future__ import annotations

import pytest

from safebot.nlu import EntityCandidate, EntityExtractor, extract_entities, normalise_placeholders
from safebot.nlu.features import prepare_text
from safebot.nlu.training_data import RegexPattern


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card <CREDIT_CARD_1>", "card credit_card_placeholder"),
        ("<PERSON_1> and <PERSON_12>", "person_placeholder and person_placeholder"),
        ("to <IBAN_CODE_1>.", "to iban_code_placeholder."),
        ("bare <PERSON> works", "bare person_placeholder works"),
        ("a < b > c and <lower_1>", "a < b > c and <lower_1>"),
    ],
)
def test_normalise_placeholders(text: str, expected: str) -> None:
    assert normalise_placeholders(text) == expected


def test_prepare_text_folds_digits_and_case() -> None:
    assert prepare_text("Send 50 EUR to <PERSON_1>") == "send 00 eur to person_placeholder"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my card is <CREDIT_CARD_1>", [("CREDIT_CARD", "<CREDIT_CARD_1>", 11, 26)]),
        (
            "<PERSON_1> <IBAN_CODE_2>",
            [("PERSON", "<PERSON_1>", 0, 10), ("IBAN_CODE", "<IBAN_CODE_2>", 11, 24)],
        ),
        ("no entities here", []),
    ],
)
def test_placeholders_are_entity_candidates(
    text: str, expected: list[tuple[str, str, int, int]]
) -> None:
    found = extract_entities(text)
    assert found == expected
    for cand in found:
        assert text[cand.start : cand.end] == cand.value


AIRLINE = EntityExtractor(
    regexes=[
        RegexPattern("flight_number", r"\b[A-Z]{2}\s?\d{1,4}\b"),
        RegexPattern("seat", r"\b\d{1,2}[A-F]\b"),
        RegexPattern("amount", r"\b\d+(?:\.\d{2})?\s?(?:euros?|dollars?|EUR|USD)\b"),
    ],
    lookups={"airport_code": ["LHR", "JFK", "CDG"], "city": ["new york", "new york city"]},
    synonyms={"nyc": "new york city"},
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("move me to BA117 seat 14C", [("flight_number", "BA117"), ("seat", "14C")]),
        ("from lhr to jfk", [("airport_code", "lhr"), ("airport_code", "jfk")]),
        ("fly to new york city", [("city", "new york city")]),
        (
            "refund 25.50 euros to <CREDIT_CARD_1>",
            [("amount", "25.50 euros"), ("CREDIT_CARD", "<CREDIT_CARD_1>")],
        ),
        ("LHR<PERSON_1>", [("airport_code", "LHR"), ("PERSON", "<PERSON_1>")]),
    ],
)
def test_regex_and_lookup_entities(text: str, expected: list[tuple[str, str]]) -> None:
    found = AIRLINE.extract(text)
    assert [(c.entity, c.value) for c in found] == expected
    assert all(isinstance(c, EntityCandidate) for c in found)


def test_placeholder_contents_are_never_other_entities() -> None:
    ex = EntityExtractor(regexes=[RegexPattern("word", r"PERSON")])
    assert [c.entity for c in ex.extract("<PERSON_1>")] == ["PERSON"]


def test_synonym_maps_value() -> None:
    ex = EntityExtractor(lookups={"city": ["nyc"]}, synonyms={"nyc": "new york city"})
    assert ex.extract("flights to NYC") == [EntityCandidate("city", "new york city", 11, 14)]
