"""Shared fixtures: one small synthetic bank dataset, one encoder and one trained model per session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from safebot.nlu import IntentClassifier
from safebot.nlu.encoder import Encoder, encoder_available, get_encoder

INTENTS: dict[str, list[str]] = {
    "check_balance": [
        "what's my balance",
        "how much money do i have",
        "show my account balance",
        "balance please",
        "how much is in my checking account",
        "what is left on my account",
        "tell me my current balance",
        "can i see my balance",
        "what's the balance on my savings",
        "how much cash is in my account",
    ],
    "lost_card": [
        "i lost my card",
        "my card was stolen",
        "i can't find my credit card",
        "report a stolen card",
        "someone took my wallet with my card",
        "block my card it is lost",
        "my debit card is missing",
        "freeze my lost card",
        "i think i lost my card <CREDIT_CARD_1>",
        "card stolen what do i do",
    ],
    "transfer": [
        "send money to <PERSON_1>",
        "transfer 50 dollars to my savings",
        "wire money to <IBAN_CODE_1>",
        "i want to make a transfer",
        "move money between accounts",
        "pay my friend",
        "send 200 euros to my sister",
        "transfer funds to another bank",
        "make a payment to <PERSON_1>",
        "send cash to my brother",
    ],
    "greet": [
        "hi",
        "hello",
        "hey there",
        "good morning",
        "good evening",
        "hi there",
        "hello bot",
        "hey",
        "greetings",
        "morning",
    ],
}
EXAMPLES = [(text, intent) for intent, texts in INTENTS.items() for text in texts]


@pytest.fixture(scope="session")
def bank_examples() -> list[tuple[str, str]]:
    return list(EXAMPLES)


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    if not encoder_available():
        pytest.skip("the embeddings extra is not installed")
    return get_encoder()


@pytest.fixture(scope="session")
def classifier(encoder: Encoder) -> IntentClassifier:
    return IntentClassifier.train(EXAMPLES, encoder=encoder)


@pytest.fixture(scope="session")
def sparse_classifier() -> IntentClassifier:
    return IntentClassifier.train(EXAMPLES, encoder=None)
