"""Opt-out and restart words: the FCC's list in any case and with punctuation, plain-language
requests, START; ordinary messages are not mistaken for them."""

from __future__ import annotations

import pytest

from safebot.notify.consent import classify_keyword


@pytest.mark.parametrize(("text", "expected"), [
    ("STOP", "stop"), ("stop", "stop"), ("Stop.", "stop"), ("  sToP!! ", "stop"), ("STOP ALL", "stop"),
    ("UNSUBSCRIBE", "stop"), ("revoke", "stop"), ("OPT OUT", "stop"), ("opt-out", "stop"), ("optout", "stop"),
    ("CANCEL", "stop_outside_forms"), ("end", "stop_outside_forms"), ("Quit", "stop_outside_forms"),
    ("stop sending me these", "stop"), ("please stop messaging me", "stop"), ("Stop texting me!", "stop"),
    ("don't send me these", "stop"), ("do not message me again", "stop"), ("no more messages please", "stop"),
    ("unsubscribe me", "stop"), ("opt me out", "stop"), ("remove me from this list", "stop"),
    ("I want to unsubscribe", "stop"), ("Don’t send me these", "stop"),
    ("START", "start"), ("start", "start"), ("Unstop", "start"),
])
def test_words_that_stop_or_restart(text: str, expected: str) -> None:
    assert classify_keyword(text) == expected


@pytest.mark.parametrize("text", [
    "stop my card", "can you stop the payment to ElectroMart", "when does the sale end?", "cancel my booking",
    "I want to quit my job", "start a dispute", "hi", "no it wasn't me", "", "stop " * 50,
])
def test_ordinary_messages_are_not_keywords(text: str) -> None:
    assert classify_keyword(text) is None
