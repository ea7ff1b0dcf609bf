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
    # odd forms: full-width, spelt out, look-alike letters, emoji, zero-width and no-break spaces
    ("ＳＴＯＰ", "stop"), ("S T O P", "stop"), ("S.T.O.P.", "stop"), ("\u0405\u0422\u041e\u0420", "stop"),
    ("\U0001f6d1", "stop"), ("STOP \U0001f6d1", "stop"), ("stop\U0001f64f", "stop"), ("\u200bSTOP\u200b", "stop"),
    ("stop\u00a0", "stop"), ("opt_out", "stop"), ("please stop", "stop"), ("STOP NOW", "stop"), ("Stop stop", "stop"),
    ("stop it", "stop"), ("OK STOP", "stop"), ("Stop. Thanks", "stop"), ("stop sending", "stop"),
    # other languages
    ("STOPP", "stop"), ("Abmelden", "stop"), ("BAJA", "stop"), ("parar", "stop"), ("Arrêt", "stop"),
    ("ARRET", "stop"), ("désabonner", "stop"), ("basta", "stop"), ("afmelden", "stop"), ("СТОП", "stop"),
    ("отписаться", "stop"), ("cancelar", "stop_outside_forms"), ("annuler", "stop_outside_forms"),
    ("Sair", "stop_outside_forms"), ("ende", "stop_outside_forms"),
])
def test_words_that_stop_or_restart(text: str, expected: str) -> None:
    assert classify_keyword(text) == expected


@pytest.mark.parametrize("text", [
    "stop my card", "can you stop the payment to ElectroMart", "when does the sale end?", "cancel my booking",
    "I want to quit my job", "start a dispute", "hi", "no it wasn't me", "", "stop " * 50,
    "stop the payment", "Москва", "I am ok", "a b c d e", "alta", "stop my card please", "fin du mois",
])
def test_ordinary_messages_are_not_keywords(text: str) -> None:
    assert classify_keyword(text) is None
