"""Loading Rasa 3 nlu.yml: intents, out-of-scope, regex/lookup/synonym, annotations, errors."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from safebot.errors import ConfigError
from safebot.nlu import EntityExtractor, load_nlu_yaml
from safebot.nlu.training_data import EntityAnnotation, parse_annotations

GOOD = dedent(
    """\
    version: "3.1"
    nlu:
    - intent: check_balance
      examples: |
        - what's my balance
        - how much is in my [savings](account_type) account
    - intent: transfer
      examples: |
        - send [50 euros]{"entity": "amount", "value": "50 EUR"} to <PERSON_1>
        - move money to [checking](account_type:checking_account)
    - intent: out_of_scope
      examples: |
        - what's the weather like
    - intent: nlu_fallback
      examples:
        - tell me a joke
        - text: sing a song
          metadata: {source: manual}
    - regex: flight_number
      examples: |
        - \\b[A-Z]{2}\\d{1,4}\\b
    - lookup: airport_code
      examples: |
        - LHR
        - JFK
    - synonym: savings
      examples: |
        - saving
    rules: []
    """
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "nlu.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file(tmp_path: Path) -> None:
    data = load_nlu_yaml(write(tmp_path, GOOD))
    assert data.intents == ("check_balance", "transfer")
    assert data.intent_examples()[1] == ("how much is in my savings account", "check_balance")
    assert data.out_of_scope == ["what's the weather like", "tell me a joke", "sing a song"]
    assert [(r.name, r.pattern) for r in data.regexes] == [
        ("flight_number", r"\b[A-Z]{2}\d{1,4}\b")
    ]
    assert data.lookups == {"airport_code": ["LHR", "JFK"]}
    assert data.synonyms == {"saving": "savings"}
    assert data.examples[0].line == 5


def test_annotations_stripped_and_kept(tmp_path: Path) -> None:
    data = load_nlu_yaml(write(tmp_path, GOOD))
    by_text = {e.text: e for e in data.examples}
    ex = by_text["send 50 euros to <PERSON_1>"]
    assert ex.entities == (EntityAnnotation("amount", "50 EUR", 5, 13),)
    ex = by_text["move money to checking"]
    assert ex.entities == (EntityAnnotation("account_type", "checking_account", 14, 22),)
    assert "[" not in "".join(e.text for e in data.examples)


def test_training_data_feeds_extractor(tmp_path: Path) -> None:
    ex = EntityExtractor.from_training_data(load_nlu_yaml(write(tmp_path, GOOD)))
    assert [(c.entity, c.value) for c in ex.extract("BA117 from LHR")] == [
        ("flight_number", "BA117"),
        ("airport_code", "LHR"),
    ]


@pytest.mark.parametrize(
    ("raw", "text", "entities"),
    [
        ("plain", "plain", ()),
        (
            "[a](x) and [b](y)",
            "a and b",
            (EntityAnnotation("x", "a", 0, 1), EntityAnnotation("y", "b", 6, 7)),
        ),
        (
            '[LHR]{"entity": "airport", "role": "from"}',
            "LHR",
            (EntityAnnotation("airport", "LHR", 0, 3, "from"),),
        ),
    ],
)
def test_parse_annotations(raw: str, text: str, entities: tuple[EntityAnnotation, ...]) -> None:
    assert parse_annotations(raw) == (text, entities)


BAD = [
    # (file content, line, field or None, message fragment)
    ("nlu:\n- intent: greet\n  examples: |\n    - hi\n  - bad\n", 5, None, "invalid YAML"),
    ("nlu:\n- intent: greet\n  exmples: |\n    - hi\n", 3, "nlu[0].exmples", "unknown key"),
    ("nlu:\n- intent: greet\n", 2, "nlu[0].examples", "no 'examples'"),
    (
        "nlu:\n- intent: greet\n  examples: |\n    - hi\n    hello\n",
        5,
        "nlu[0].examples[1]",
        "'- '",
    ),
    (
        "nlu:\n- regex: r\n  examples: |\n    - (unclosed\n",
        4,
        "nlu[0].examples[0]",
        "does not compile",
    ),
    (
        "nlu:\n- intent: a\n  examples: |\n    - ok\n- intent: b\n  regex: c\n  examples: |\n    - x\n",
        5,
        "nlu[1]",
        "exactly one",
    ),
    (
        "nlu:\n- intent: a\n  examples: |\n    - [x]{not json}\n",
        4,
        "nlu[0].examples[0]",
        "not valid JSON",
    ),
    ("nlu:\n- intent: bad name\n  examples: |\n    - x\n", 2, "nlu[0].intent", "not a valid name"),
    ("intents:\n- greet\n", 1, "nlu", "missing the 'nlu' key"),
    ("nlu: 3\n", 1, "nlu", "must be a list"),
    ("nluu:\n- intent: a\n", 1, "nluu", "unknown top-level key"),
    ("- just a list\n", 1, "nlu", "mapping"),
]


@pytest.mark.parametrize(("content", "line", "field", "fragment"), BAD)
def test_malformed_file_raises_config_error(
    tmp_path: Path, content: str, line: int, field: str | None, fragment: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ConfigError) as err:
        load_nlu_yaml(path)
    assert err.value.path == str(path)
    assert err.value.line == line
    assert err.value.field == field
    assert fragment in str(err.value)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("content", ["", b"\xff\xfe\x00bad"])
def test_empty_or_binary_file(tmp_path: Path, content: str | bytes) -> None:
    path = tmp_path / "nlu.yml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(ConfigError):
        load_nlu_yaml(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_nlu_yaml(tmp_path / "nope.yml")
