"""IntentClassifier on a small synthetic bank set: predictions, out-of-scope, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from safebot.errors import ConfigError
from safebot.nlu import ClassifierConfig, IntentClassifier, Prediction


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("how much do i have in my account", "check_balance"),
        ("my card got stolen yesterday", "lost_card"),
        ("send money to <PERSON_2>", "transfer"),
        ("transfer to <IBAN_CODE_3> please", "transfer"),
        ("hello there", "greet"),
    ],
)
def test_predicts_trained_intent(classifier: IntentClassifier, text: str, intent: str) -> None:
    p = classifier.predict(text)
    assert p.intent == intent
    assert 0.0 <= p.confidence <= 1.0


@pytest.mark.parametrize(
    "text",
    [
        "what's the weather in paris",
        "who won the football game last night",
        "recommend a good pasta recipe",
    ],
)
def test_out_of_scope_returns_none(classifier: IntentClassifier, text: str) -> None:
    p = classifier.predict(text)
    assert p.intent is None
    assert 0.0 <= p.confidence <= 1.0
    assert p.ranking  # the best guess is still available to the dialogue engine


def test_out_of_scope_examples_are_used(
    encoder: object, bank_examples: list[tuple[str, str]]
) -> None:
    oos = [
        "tell me a joke",
        "what's the weather like",
        "play some music",
        "who is the president",
        "book me a table for two",
        "what time is it in tokyo",
    ]
    clf = IntentClassifier.train(bank_examples, out_of_scope=oos, encoder=encoder)  # type: ignore[arg-type]
    assert clf.predict("tell me a funny joke").intent is None
    assert clf.predict("what's my balance please").intent == "check_balance"
    assert "out_of_scope" not in " ".join(clf.intents)


def test_predict_many_matches_predict(classifier: IntentClassifier) -> None:
    texts = ["i lost my card", "what's the weather in paris", "balance"]
    many = classifier.predict_many(texts)
    one = [classifier.predict(t) for t in texts]
    assert [p.intent for p in many] == [p.intent for p in one]
    assert [p.confidence for p in many] == pytest.approx([p.confidence for p in one], abs=1e-5)
    assert classifier.predict_many([]) == []


def test_placeholder_index_does_not_matter(classifier: IntentClassifier) -> None:
    a = classifier.predict("send money to <PERSON_1>")
    b = classifier.predict("send money to <PERSON_7>")
    assert a.intent == b.intent
    assert a.confidence == pytest.approx(b.confidence, abs=1e-5)


@pytest.mark.parametrize("fixture", ["classifier", "sparse_classifier"])
def test_save_load_round_trip(fixture: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    clf: IntentClassifier = request.getfixturevalue(fixture)
    path = tmp_path / "model" / "intents.npz"
    clf.save(path)
    loaded = IntentClassifier.load(path)
    texts = ["i lost my card", "what's the weather in paris", "send money to <PERSON_1>", "hi"]
    assert loaded.predict_many(texts) == clf.predict_many(texts)
    assert loaded.operating_point == clf.operating_point
    assert loaded.config == clf.config


def test_sparse_only_model_still_classifies(sparse_classifier: IntentClassifier) -> None:
    assert sparse_classifier.predict("my card was stolen").intent == "lost_card"
    assert sparse_classifier.predict("how much is my balance").intent == "check_balance"


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not a model", "not a safebot intent model"), (None, "not found")],
)
def test_load_bad_file_is_config_error(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "intents.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError, match=message) as err:
        IntentClassifier.load(path)
    assert err.value.path == str(path)


@pytest.mark.parametrize(
    ("examples", "oos"),
    [([], []), ([("hi", "greet"), ("hello", "greet")], [])],
)
def test_train_rejects_degenerate_data(examples: list[tuple[str, str]], oos: list[str]) -> None:
    with pytest.raises(ValueError):
        IntentClassifier.train(examples, out_of_scope=oos, encoder=None)


def test_one_intent_plus_out_of_scope_trains() -> None:
    clf = IntentClassifier.train(
        [("hi", "greet"), ("hello", "greet"), ("hey", "greet")],
        out_of_scope=["tax advice", "weather"],
        encoder=None,
    )
    assert clf.intents == ("greet",)
    assert isinstance(clf.predict("hello"), Prediction)


def test_config_is_honoured(encoder: object, bank_examples: list[tuple[str, str]]) -> None:
    strict = ClassifierConfig(false_reject_rate=0.2)
    clf = IntentClassifier.train(bank_examples, config=strict, encoder=encoder)  # type: ignore[arg-type]
    assert clf.config.false_reject_rate == 0.2
    assert clf.operating_point.false_reject_rate is not None
    assert clf.operating_point.false_reject_rate > 0.1


def test_saved_model_is_private(sparse_classifier: IntentClassifier, tmp_path: Path) -> None:
    # The model holds training vocabulary: 0600 in a 0700 directory, whatever the umask.
    import os

    old = os.umask(0o022)
    try:
        path = tmp_path / "new" / "intent-model"
        sparse_classifier.save(path)
        sparse_classifier.save(path)  # replacing keeps the mode too
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["intent-model"]  # no temp left


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_load_picks_the_encoder_the_model_was_trained_with(
    precision: str, bank_examples: list[tuple[str, str]], tmp_path: Path
) -> None:
    from safebot.nlu.encoder import encoder_available, encoder_name, get_encoder

    if not encoder_available():
        pytest.skip("sentence encoder not installed")
    enc = get_encoder(precision)  # type: ignore[arg-type]
    clf = IntentClassifier.train(bank_examples, encoder=enc)
    clf.save(tmp_path / "m.npz")
    loaded = IntentClassifier.load(tmp_path / "m.npz")  # encoder="auto"
    assert loaded._encoder is not None and loaded._encoder.name == encoder_name(precision)  # type: ignore[arg-type]
    assert loaded.predict("i lost my card") == clf.predict("i lost my card")
    with pytest.raises(ConfigError, match="trained with the sentence encoder"):
        IntentClassifier.load(tmp_path / "m.npz", encoder="none")


def test_minilm_setting_without_the_encoder_is_config_error(
    monkeypatch: pytest.MonkeyPatch, bank_examples: list[tuple[str, str]]
) -> None:
    from safebot.nlu import classifier as module

    monkeypatch.setattr(module, "encoder_available", lambda: False)
    with pytest.raises(ConfigError, match="not installed"):
        IntentClassifier.train(bank_examples, encoder="minilm")
    # "auto" falls back to TF-IDF only
    assert IntentClassifier.train(bank_examples, encoder="auto")._encoder is None
