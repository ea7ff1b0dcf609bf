"""The TF-IDF analysers safebot runs at serving time are scikit-learn's, re-stated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from safebot.nlu.features import Featuriser, char_wb_grams, prepare_text, word_grams

TEXTS = [
    *json.loads((Path(__file__).parent / "data" / "encoder_reference.json").read_text("utf-8"))[
        "sentences"
    ],
    "",
    "a",
    "ab",
    "abcd",
    "I  lost\t\tmy   card\n\nyesterday",
    "top-up/refund: 00 eur (pending?)",
    "credit_card_placeholder and iban_code_placeholder",
    "İstanbul ǅemal ß straße ﬁne",
    "x" * 40,
]


@pytest.mark.parametrize("text", TEXTS)
def test_analysers_match_scikit_learn(text: str) -> None:
    word = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b").build_analyzer()
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()
    assert word_grams(text) == word(text)
    assert char_wb_grams(text) == char(text)


def test_rows_match_tfidf_vectorizer_and_survive_a_round_trip() -> None:
    import numpy as np

    prepared = [prepare_text(t) for t in TEXTS]
    feat = Featuriser().fit(prepared)
    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
    expected = np.hstack(
        [word.fit_transform(prepared).toarray(), char.fit_transform(prepared).toarray()]
    )
    np.testing.assert_allclose(feat.sparse(prepared).toarray(), expected, atol=1e-6)
    meta, arrays = feat.state()
    again = Featuriser.from_state(json.loads(json.dumps(meta)), arrays)
    np.testing.assert_array_equal(again.sparse(prepared).toarray(), feat.sparse(prepared).toarray())
