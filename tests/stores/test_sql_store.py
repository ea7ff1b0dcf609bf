"""SqlStore on SQLite and PostgreSQL: unit of work, trackers, vault, shredding, outbox, no leaks."""

from __future__ import annotations

import traceback

import pytest
from sqlalchemy import insert, select
from store_helpers import CARD, CARD_DIGITS, TOKEN, all_rows_text, event, put_card

from safebot.errors import StoreError
from safebot.redaction.audit import AuditRecord
from safebot.sensitive import Sensitive
from safebot.stores import SqlStore, VersionConflict
from safebot.stores._schema import Base, Conversation


# -- unit of work ---------------------------------------------------------------------------
def test_turn_round_trip(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.ensure_conversation("c1", "whatsapp")
        assert uow.get_tracker("c1") is None
        assert uow.tracker_version("c1") is None
        uow.append(event())
        uow.append(event("Thanks, <PERSON_1>.", kind="bot", entities=("PERSON",), data={"intent": "greet", "confidence": 0.9}))
        uow.append(event(None, kind="intent", data={"intent": "block_card", "confidence": 0.97, "oos": False}))
        assert uow.save_tracker("c1", {"slots": {"card": TOKEN}, "turn": 1}, None) == 1
        uow.audit(AuditRecord("redacted", "policy-hash", entity_type="CREDIT_CARD", recognizer="CreditCardRecognizer",
                              score=0.95, destination="transcript", treatment="placeholder", conversation_id="c1"))
        uow.consent("c1", "transcript", True)
    rows = store.transcript("c1")
    assert [r["kind"] for r in rows] == ["user", "bot", "intent"]
    assert rows[0]["text"] == "my card is <CREDIT_CARD_1>" and rows[0]["entities"] == ["CREDIT_CARD"]
    assert rows[1]["data"] == {"intent": "greet", "confidence": 0.9}
    assert rows[2]["text"] is None and rows[2]["data"]["oos"] is False
    assert store.conversations() == ["c1"]
    [audit] = store.audit_log("c1")
    assert audit["entity_type"] == "CREDIT_CARD" and audit["score"] == 0.95 and audit["treatment"] == "placeholder"
    assert store.audit_log("other") == []
    assert [(c["kind"], c["granted"]) for c in store.consents("c1")] == [("transcript", True)]
    with store.unit_of_work() as uow:
        assert uow.get_tracker("c1") == {"slots": {"card": TOKEN}, "turn": 1}
        assert uow.tracker_version("c1") == 1
        assert uow.save_tracker("c1", {"turn": 2}, 1) == 2


def test_writers_create_the_conversation(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.append(event(cid="auto"))
        uow.save_tracker("auto2", {}, None)
    assert store.conversations() == ["auto", "auto2"]


def test_customer_link(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.ensure_conversation("c1", "console")
        uow.ensure_conversation("c2", "console", "customer:7")
        uow.set_customer("c1", "customer:7")
        uow.ensure_conversation("c3", "console")
    assert store.conversations(customer_key_id="customer:7") == ["c1", "c2"]


def test_everything_a_turn_writes_rolls_back_together(store: SqlStore) -> None:
    with pytest.raises(RuntimeError, match="handler blew up"), store.unit_of_work() as uow:
        uow.ensure_conversation("c1", "console")
        uow.append(event())
        uow.save_tracker("c1", {"turn": 1}, None)
        uow.audit(AuditRecord("revealed", "p", entity_type="CREDIT_CARD", conversation_id="c1"))
        fp = uow.fingerprint("customer:1", "CREDIT_CARD", Sensitive(CARD_DIGITS))
        uow.vault_put("c1", TOKEN, "CREDIT_CARD", Sensitive(CARD), fp, "customer:1")
        uow.outbox_add(event(destination="analytics"))
        uow.consent("c1", "analytics", False)
        raise RuntimeError("handler blew up")
    assert store.conversations() == []
    assert store.transcript("c1") == []
    assert store.audit_log() == []
    assert store.outbox_pending() == []
    assert store.consents("c1") == []
    with store.unit_of_work() as uow:
        assert uow.get_tracker("c1") is None
        assert uow.vault_get("c1", TOKEN) is None


def test_unit_of_work_cannot_be_used_after_it_ends(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        pass
    with pytest.raises(StoreError, match="closed"):
        uow.append(event())


# -- optimistic concurrency -----------------------------------------------------------------
@pytest.mark.parametrize(
    "stored_version, expected_version",
    [(None, 1), (1, None), (2, 1), (1, 2)],
    ids=["no-tracker-yet", "already-created", "stale", "from-the-future"],
)
def test_version_conflict(store: SqlStore, stored_version: int | None, expected_version: int | None) -> None:
    with store.unit_of_work() as uow:
        uow.ensure_conversation("c1", "console")
        version = None
        for _ in range(stored_version or 0):
            version = uow.save_tracker("c1", {"v": version}, version)
    with pytest.raises(VersionConflict) as info, store.unit_of_work() as uow:
        uow.append(event())  # rolled back with the failed save
        uow.save_tracker("c1", {"mine": True}, expected_version)
    assert isinstance(info.value, StoreError) and info.value.code == "store_conflict"
    assert store.transcript("c1") == []
    with store.unit_of_work() as uow:
        assert uow.tracker_version("c1") == stored_version


def test_two_writers_one_wins(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        uow.save_tracker("c1", {"turn": 0}, None)
    with store.unit_of_work() as a:
        a_state, a_version = a.get_tracker("c1"), a.tracker_version("c1")
    with store.unit_of_work() as b:
        b.save_tracker("c1", {"turn": 1, "by": "b"}, b.tracker_version("c1"))
    with pytest.raises(VersionConflict), store.unit_of_work() as a:
        a.save_tracker("c1", {**(a_state or {}), "by": "a"}, a_version)
    with store.unit_of_work() as uow:
        assert uow.get_tracker("c1") == {"turn": 1, "by": "b"}
        assert uow.tracker_version("c1") == 2


# -- only redacted events, only for the right destination -----------------------------------
@pytest.mark.parametrize(
    "method, bad",
    [
        ("append", f"my card is {CARD}"),
        ("append", {"text": CARD}),
        ("append", None),
        ("append", event(destination="analytics")),
        ("append", event(destination="agent")),
        ("outbox_add", f"my card is {CARD}"),
        ("outbox_add", event(destination="transcript")),
        ("audit", {"event": "redacted"}),
    ],
    ids=["raw-str", "dict", "none", "analytics-to-transcript", "agent-to-transcript",
         "raw-str-outbox", "transcript-to-outbox", "dict-audit"],
)
def test_only_redacted_events_for_the_right_destination(store: SqlStore, method: str, bad: object) -> None:
    with pytest.raises(TypeError) as info, store.unit_of_work() as uow:
        getattr(uow, method)(bad)
    assert CARD not in str(info.value)
    assert store.transcript("c1") == [] and store.outbox_pending() == []


def test_event_data_must_be_plain_values(store: SqlStore) -> None:
    with pytest.raises(TypeError) as info, store.unit_of_work() as uow:
        uow.append(event(data={"slot": Sensitive(CARD)}))  # type: ignore[dict-item]
    assert CARD not in str(info.value)


# -- vault ----------------------------------------------------------------------------------
def test_vault_round_trip_find_and_tokens(store: SqlStore) -> None:
    fp = put_card(store)
    with store.unit_of_work() as uow:
        value = uow.vault_get("c1", TOKEN)
        assert value is not None and value.reveal() == CARD
        assert uow.vault_find("c1", "CREDIT_CARD", fp) == TOKEN
        assert uow.vault_find("c1", "IBAN_CODE", fp) is None
        assert uow.vault_find("c2", "CREDIT_CARD", fp) is None
        assert uow.fingerprint("customer:1", "CREDIT_CARD", Sensitive(CARD_DIGITS)) == fp
        iban_fp = uow.fingerprint("customer:1", "IBAN_CODE", Sensitive("GB82WEST12345698765432"))
        uow.vault_put("c1", "<IBAN_CODE_1>", "IBAN_CODE", Sensitive("GB82 WEST 1234 5698 7654 32"), iban_fp, "customer:1")
        assert uow.vault_tokens("c1") == [TOKEN, "<IBAN_CODE_1>"]
        assert uow.vault_tokens("c1", "IBAN_CODE") == ["<IBAN_CODE_1>"]
        assert uow.vault_get("c1", "<CREDIT_CARD_9>") is None


def test_vault_put_is_idempotent_and_never_renumbers(store: SqlStore) -> None:
    fp = put_card(store)
    with store.unit_of_work() as uow:
        uow.vault_put("c1", TOKEN, "CREDIT_CARD", Sensitive(CARD), fp, "customer:1")
    other = "5500 0000 0000 0004"
    with pytest.raises(StoreError) as info, store.unit_of_work() as uow:
        other_fp = uow.fingerprint("customer:1", "CREDIT_CARD", Sensitive(other))
        uow.vault_put("c1", TOKEN, "CREDIT_CARD", Sensitive(other), other_fp, "customer:1")
    assert other not in str(info.value)
    with store.unit_of_work() as uow:
        assert uow.vault_get("c1", TOKEN) == Sensitive(CARD)


@pytest.mark.parametrize(
    "token, entity_type, fp, value",
    [
        (CARD, "CREDIT_CARD", "ab" * 16, Sensitive(CARD)),          # a value passed as the token
        (TOKEN, CARD, "ab" * 16, Sensitive(CARD)),                  # a value passed as the type
        (TOKEN, "CREDIT_CARD", CARD_DIGITS + "x", Sensitive(CARD)), # a value passed as the fingerprint
    ],
    ids=["token", "entity-type", "fingerprint"],
)
def test_vault_columns_stored_in_clear_refuse_values(store: SqlStore, token: str, entity_type: str, fp: str, value: Sensitive[str]) -> None:
    with pytest.raises(ValueError) as info, store.unit_of_work() as uow:
        uow.vault_put("c1", token, entity_type, value, fp, "customer:1")
    assert CARD not in str(info.value) and CARD_DIGITS not in str(info.value)
    assert CARD not in all_rows_text(store)


def test_vault_put_refuses_a_bare_string(store: SqlStore) -> None:
    with pytest.raises(TypeError), store.unit_of_work() as uow:
        uow.vault_put("c1", TOKEN, "CREDIT_CARD", CARD, "ab" * 16, "customer:1")  # type: ignore[arg-type]


def test_forget_crypto_shreds(store: SqlStore) -> None:
    """Chosen behaviour: after ``forget``, ``vault_get`` returns None (as for a value never
    stored) and ``vault_find``/``vault_tokens`` no longer list the shredded rows."""
    fp = put_card(store, "c1", "customer:1")
    with store.unit_of_work() as uow:
        fp2 = uow.fingerprint("customer:1", "IBAN_CODE", Sensitive("X"))
        uow.vault_put("c2", "<IBAN_CODE_1>", "IBAN_CODE", Sensitive("GB82 WEST"), fp2, "customer:1")
    put_card(store, "c9", "customer:2")
    assert store.forget("customer:1") == 2
    assert store.forget("customer:1") == 2  # rows still there, key already gone
    with store.unit_of_work() as uow:
        assert uow.vault_get("c1", TOKEN) is None
        assert uow.vault_get("c2", "<IBAN_CODE_1>") is None
        assert uow.vault_find("c1", "CREDIT_CARD", fp) is None
        assert uow.vault_tokens("c1") == []
        assert uow.vault_get("c9", TOKEN) == Sensitive(CARD)  # another customer is untouched
    # The rows stay: ciphertext without a key.
    assert CARD not in all_rows_text(store)
    assert store.forget("never-seen") == 0


def test_vault_value_is_bound_to_its_conversation_and_token(store: SqlStore) -> None:
    put_card(store)
    with store.unit_of_work() as uow:
        uow.ensure_conversation("c2", "console")
        row = uow._conn.execute(select(*[c for c in Base.metadata.tables["vault"].columns if c.name != "id"])).one()._mapping
        uow._conn.execute(insert(Base.metadata.tables["vault"]).values({**row, "conversation_id": "c2"}))
    # VaultError (a StoreError): the copied row does not decrypt elsewhere.
    with pytest.raises(StoreError) as info, store.unit_of_work() as uow:
        uow.vault_get("c2", TOKEN)
    assert info.value.code == "vault_error"


# -- no leaks -------------------------------------------------------------------------------
def test_planted_value_is_only_ever_encrypted(store: SqlStore) -> None:
    put_card(store)
    with store.unit_of_work() as uow:
        uow.append(event())
        uow.save_tracker("c1", {"slots": {"card": TOKEN}}, None)
        uow.audit(AuditRecord("redacted", "p", entity_type="CREDIT_CARD", conversation_id="c1"))
        uow.outbox_add(event(destination="analytics", text="card <CREDIT_CARD_a1b2c3>"))
    everything = all_rows_text(store)
    for planted in (CARD, CARD_DIGITS, "1111 1111"):
        assert planted not in everything


def test_store_error_holds_no_bound_values(store: SqlStore) -> None:
    planted = f"conv-{CARD}"
    with pytest.raises(StoreError) as info, store.unit_of_work() as uow:
        for _ in range(2):  # a primary-key violation whose key is the planted value
            uow._conn.execute(insert(Conversation).values(id=planted, channel="x", created_at="t", updated_at="t"))
    err = info.value
    assert str(err) == "store operation failed (IntegrityError)"
    assert err.__cause__ is None and err.__context__ is None
    rendered = "".join(traceback.format_exception(err))
    assert CARD not in rendered and planted not in rendered
    assert planted not in repr(err)


def test_unreachable_database_is_a_store_error() -> None:
    from safebot.stores.vault import KeyRing

    with pytest.raises(StoreError, match=r"store operation failed \(OperationalError\)"):
        SqlStore("postgresql://postgres:hunter2@127.0.0.1:1/test", keyring=KeyRing.generate())


def test_repr_shows_no_url(store: SqlStore) -> None:
    assert "127.0.0.1" not in repr(store) and "sqlite:///" not in repr(store)


# -- outbox ---------------------------------------------------------------------------------
def test_outbox(store: SqlStore) -> None:
    with store.unit_of_work() as uow:
        first = uow.outbox_add(event(destination="analytics", text="card <CREDIT_CARD_h:ab12>"))
        second = uow.outbox_add(event(destination="analytics", turn=2), target="webhook")
    pending = store.outbox_pending()
    assert [p["id"] for p in pending] == [first, second]
    assert pending[0]["payload"]["text"] == "card <CREDIT_CARD_h:ab12>"
    assert pending[0]["destination"] == "analytics" and pending[1]["destination"] == "webhook"
    assert [p["id"] for p in store.outbox_pending(target="webhook")] == [second]
    assert store.mark_failed([second]) == 1
    assert store.outbox_pending(target="webhook")[0]["attempts"] == 1
    assert store.mark_sent([first]) == 1
    assert store.mark_sent([first]) == 0
    assert store.mark_sent([]) == 0
    assert [p["id"] for p in store.outbox_pending(limit=10)] == [second]
    assert store.outbox_pending(limit=0) == []
