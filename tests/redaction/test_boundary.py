"""The boundary is a structure: nothing outside safebot.redaction can make a redacted value,
and the session checks every value that is stored or sent."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest

from safebot.events import RedactedEvent
from safebot.redaction import Redactor
from safebot.redaction.redactor import Analysis
from safebot.redaction.session import PlaceholderMemory
from safebot.redaction.types import RedactedText, is_sealed
from safebot.sinks import CapturingSink

CARD = "4111 1111 1111 1111"


def _forgeries(real: RedactedText) -> list[Any]:
    out: list[Any] = []
    # 1. assembled by hand, bypassing __init__
    forged = object.__new__(RedactedText)
    for name, value in (("_text", f"card {CARD}"), ("_findings", ()), ("_destination", "transcript"),
                        ("_policy_hash", real.policy_hash), ("_blocked", False), ("_vault_tokens", ())):
        object.__setattr__(forged, name, value)
    out.append(forged)
    # 2. a real one with its text swapped afterwards (the seal no longer matches)
    tampered = object.__new__(RedactedText)
    for name in RedactedText.__slots__:
        object.__setattr__(tampered, name, getattr(real, name))
    object.__setattr__(tampered, "_text", f"card {CARD}")
    out.append(tampered)
    # 3. a subclass pretending
    class Fake(RedactedText):
        def __init__(self) -> None:
            pass

    out.append(Fake())
    # 4. a plain string and a duck
    out.append(f"card {CARD}")
    out.append(type("Duck", (), {"text": CARD, "destination": "transcript", "entity_types": ()})())
    return out


def test_the_constructor_refuses_everyone() -> None:
    with pytest.raises(TypeError):
        RedactedText(f"card {CARD}", (), "transcript", "hash")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Analysis()


def test_forged_redacted_text_is_refused_by_events_and_sinks(bank_redactor: Redactor) -> None:
    real = bank_redactor.redact(f"card {CARD}")
    assert is_sealed(real) and real.text == "card <CREDIT_CARD_1>"
    sink = CapturingSink("transcript")
    for forged in _forgeries(real):
        assert not is_sealed(forged)
        with pytest.raises(TypeError):
            sink.emit(RedactedEvent("user", "c1", 1, "transcript", forged))
    assert sink.events == []


def test_redacted_text_cannot_be_changed_pickled_or_replaced(bank_redactor: Redactor) -> None:
    import dataclasses

    real = bank_redactor.redact(f"card {CARD}")
    with pytest.raises(AttributeError):
        real._text = CARD  # type: ignore[misc]
    with pytest.raises(TypeError):
        pickle.dumps(real)
    with pytest.raises(TypeError):
        dataclasses.replace(real, text=CARD)  # type: ignore[type-var]
    assert copy.copy(real) is real and copy.deepcopy(real) is real


def test_an_analysis_built_outside_cannot_be_rendered(bank_redactor: Redactor) -> None:
    real = bank_redactor.analyze(f"card {CARD}")
    forged = object.__new__(Analysis)
    for name in Analysis.__slots__:
        object.__setattr__(forged, name, getattr(real, name))
    object.__setattr__(forged, "_detections", ())  # "nothing found": would render the raw text
    with pytest.raises(TypeError):
        bank_redactor.render(forged, "transcript")
    assert CARD not in bank_redactor.render(real, "transcript").text


@pytest.mark.parametrize("name,value,leaks", [
    ("note", f"card {CARD}", "4111"),
    ("card_number", 4111111111111111, "4111111111111111"),
    ("amount_paid", 4111111111111111.0, "4111111111111111"),
    ("ssn", "536228801", "536228801"),
    ("ssn", 536228801, "536228801"),
    ("phone", "+1 415 555 0123", "555"),
])
def test_every_slot_value_of_any_type_is_checked(bank_redactor: Redactor, name: str, value: Any, leaks: str) -> None:
    session = bank_redactor.session("c-test", PlaceholderMemory())
    cleaned = session.clean_slot(name, value)
    assert leaks not in str(cleaned), cleaned


@pytest.mark.parametrize("name,value", [("amount", "120.00"), ("count", 3), ("vip", True), ("none", None),
                                        ("card", "<CREDIT_CARD_1>"), ("last_four", "4242")])
def test_safe_slot_values_are_kept(bank_redactor: Redactor, name: str, value: Any) -> None:
    session = bank_redactor.session("c-test", PlaceholderMemory())
    assert session.clean_slot(name, value) == value


def test_slot_of_an_unsupported_type_is_refused(bank_redactor: Redactor) -> None:
    session = bank_redactor.session("c-test", PlaceholderMemory())
    with pytest.raises(TypeError):
        session.clean_slot("cards", [CARD])


def test_a_value_the_customer_gave_is_redacted_in_a_bot_reply(bank_redactor: Redactor) -> None:
    session = bank_redactor.session("c-test", PlaceholderMemory())
    inbound = session.inbound(bank_redactor.analyze("hi, I'm Agnieszka Wisniewska"))
    assert "Agnieszka" not in inbound.text("transcript").text
    reply = session.outbound("Thanks Agnieszka Wisniewska, your card is frozen.")
    for dest in ("customer", "transcript", "analytics"):
        assert "Agnieszka" not in reply.text(dest).text and "Wisniewska" not in reply.text(dest).text  # type: ignore[arg-type]
    assert reply.text("transcript").text == "Thanks <PERSON_1>, your card is frozen."


def test_placeholders_keep_their_number_across_turns(bank_redactor: Redactor) -> None:
    memory = PlaceholderMemory()
    first = bank_redactor.session("c-test", memory)
    assert first.inbound(bank_redactor.analyze(f"card {CARD}")).text("transcript").text == "card <CREDIT_CARD_1>"
    second = bank_redactor.session("c-test", first.memory)
    text = second.inbound(bank_redactor.analyze(f"5555 5555 5555 4444 and {CARD.replace(' ', '-')}")).text("transcript").text
    assert text == "<CREDIT_CARD_2> and <CREDIT_CARD_1>"
    assert CARD.replace(" ", "") not in repr(second.memory.to_json())  # fingerprints only


def test_an_identifier_split_over_two_messages_is_redacted_in_both(bank_redactor: Redactor) -> None:
    first = bank_redactor.session("c-split", PlaceholderMemory())
    one = first.inbound(bank_redactor.analyze("my card is 4539 1488 ...")).text("transcript").text
    second = bank_redactor.session("c-split", first.memory)
    two = second.inbound(bank_redactor.analyze("and the rest is 0343 6467")).text("transcript").text
    assert "4539" not in one and "1488" not in one, one
    assert "0343" not in two and "6467" not in two, two


def test_the_session_audits_every_finding_and_block(bank_redactor: Redactor) -> None:
    session = bank_redactor.session("c-audit", PlaceholderMemory())
    inbound = session.inbound(bank_redactor.analyze(f"card {CARD}, mail me at ann@example.com"))
    for dest in ("transcript", "analytics", "nlu"):
        inbound.text(dest)  # type: ignore[arg-type]
    redacted = [r for r in session.audit_records if r.event == "redacted"]
    assert len(redacted) == 2 * 3 and {r.destination for r in redacted} == {"transcript", "analytics", "nlu"}
    assert all(r.conversation_id == "c-audit" for r in redacted)
    assert CARD not in repr(session.audit_records)
