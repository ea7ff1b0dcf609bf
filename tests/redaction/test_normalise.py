from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safebot.redaction.normalise import normalise
from safebot.sensitive import Sensitive

CASES = [
    ("plain ascii", "plain ascii"),
    ("4111\u200b1111", "41111111"),
    ("\uff14\uff11\uff11\uff11", "4111"),
    ("a\u00a0b", "a b"),
    ("12\u201334", "12-34"),
    ("o\u2019neil", "o'neil"),
]


@pytest.mark.parametrize(("raw", "normal"), CASES)
def test_normalise(raw: str, normal: str) -> None:
    assert normalise(raw).text == normal


@given(st.text(max_size=40))
def test_spans_map_inside_the_original(text: str) -> None:
    n = normalise(text)
    for start in range(len(n.text) + 1):
        for end in range(start, len(n.text) + 1):
            s, e = n.span(start, end)
            assert 0 <= s <= e <= len(text)


def test_sensitive_masks_everywhere() -> None:
    s = Sensitive("4111 1111 1111 1111")
    assert "4111" not in repr(s) and "4111" not in str(s) and "4111" not in f"{s}" and "4111" not in f"{s!r}"
    assert s.reveal() == "4111 1111 1111 1111"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)
