"""The vault's crypto: round trips, context binding, fingerprints, key handling, no leaks."""

from __future__ import annotations

import base64
import os
import pickle
import stat

import pytest

from safebot.errors import ConfigError, StoreError
from safebot.sensitive import Sensitive
from safebot.stores.vault import (
    MASTER_KEY_ENV,
    DataKey,
    KeyRing,
    VaultError,
    decrypt,
    encrypt,
    fingerprint,
    vault_aad,
)

CARD = "4111 1111 1111 1111"


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.generate()


@pytest.mark.parametrize(
    "value",
    [CARD, "", "GB82 WEST 1234 5698 7654 32", "Zoë Ölçer-Ñúñez 李小龍", "x" * 10_000],
    ids=["card", "empty", "iban", "unicode", "long"],
)
def test_round_trip(ring: KeyRing, value: str) -> None:
    key = ring.data_key("customer:1")
    aad = vault_aad("c1", "<X_1>")
    blob = encrypt(key, Sensitive(value), aad)
    assert value.encode() not in blob or value == ""
    assert decrypt(key, blob, aad).reveal() == value


def test_each_encryption_uses_a_fresh_nonce(ring: KeyRing) -> None:
    key = ring.data_key("k")
    aad = vault_aad("c1", "<X_1>")
    assert encrypt(key, Sensitive(CARD), aad) != encrypt(key, Sensitive(CARD), aad)


@pytest.mark.parametrize(
    "aad",
    [vault_aad("c2", "<CREDIT_CARD_1>"), vault_aad("c1", "<CREDIT_CARD_2>"), b"", vault_aad("c", "1<CREDIT_CARD_1>")],
    ids=["other-conversation", "other-token", "empty", "shifted-separator"],
)
def test_wrong_aad_fails(ring: KeyRing, aad: bytes) -> None:
    key = ring.data_key("k")
    blob = encrypt(key, Sensitive(CARD), vault_aad("c1", "<CREDIT_CARD_1>"))
    with pytest.raises(VaultError) as info:
        decrypt(key, blob, aad)
    assert isinstance(info.value, StoreError)
    assert CARD not in str(info.value)
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_wrong_key_and_tampering_fail(ring: KeyRing) -> None:
    aad = vault_aad("c1", "<X_1>")
    blob = encrypt(ring.data_key("a"), Sensitive(CARD), aad)
    with pytest.raises(VaultError):
        decrypt(ring.data_key("b"), blob, aad)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(VaultError):
        decrypt(ring.data_key("a"), tampered, aad)
    with pytest.raises(VaultError):
        decrypt(ring.data_key("a"), b"short", aad)


def test_encrypt_refuses_a_bare_string(ring: KeyRing) -> None:
    with pytest.raises(TypeError):
        encrypt(ring.data_key("k"), CARD, b"")  # type: ignore[arg-type]


def test_fingerprints(ring: KeyRing) -> None:
    a, b = ring.data_key("customer:a"), ring.data_key("customer:b")
    fp = fingerprint(a, "CREDIT_CARD", Sensitive("4111111111111111"))
    assert fp == fingerprint(a, "CREDIT_CARD", Sensitive("4111111111111111"))
    assert fp == fingerprint(a, "CREDIT_CARD", "4111111111111111")
    assert fp != fingerprint(b, "CREDIT_CARD", Sensitive("4111111111111111"))  # unlinkable across customers
    assert fp != fingerprint(a, "IBAN_CODE", Sensitive("4111111111111111"))
    assert fp != fingerprint(a, "CREDIT_CARD", Sensitive("4111111111111112"))
    assert len(fp) == 32 and int(fp, 16) >= 0
    assert "4111" not in fp


def test_data_key_is_created_once_and_forgotten(ring: KeyRing) -> None:
    key = ring.data_key("k")
    assert ring.data_key("k") == key
    assert ring.existing_data_key("k") == key
    blob = encrypt(key, Sensitive(CARD), b"aad")
    assert ring.forget("k") is True
    assert ring.existing_data_key("k") is None
    assert ring.forget("k") is False
    # A new key for the same id cannot read what the old one wrote: crypto-shredded.
    with pytest.raises(VaultError):
        decrypt(ring.data_key("k"), blob, b"aad")


def test_wrapped_key_is_bound_to_master_and_key_id(ring: KeyRing) -> None:
    wrapped = ring.wrap("k", ring.data_key("k"))
    assert ring.unwrap("k", wrapped) == ring.data_key("k")
    with pytest.raises(VaultError):
        ring.unwrap("other", wrapped)
    with pytest.raises(VaultError):
        KeyRing.generate().unwrap("k", wrapped)


def test_no_key_material_in_repr_or_pickle(ring: KeyRing) -> None:
    key = ring.data_key("k")
    for obj in (key, ring):
        assert "***" in repr(obj) and "***" in str(obj)
        with pytest.raises(TypeError):
            pickle.dumps(obj)
    assert repr(key._key) not in repr(key)
    with pytest.raises(AttributeError):
        key._key = b"x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        DataKey(b"too short")


def test_master_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = os.urandom(32)
    monkeypatch.setenv(MASTER_KEY_ENV, base64.b64encode(raw).decode())
    a, b = KeyRing.from_env(), KeyRing.from_env()
    assert a.unwrap("k", b.wrap("k", b.data_key("k"))) == b.data_key("k")


@pytest.mark.parametrize(
    "value, message",
    [
        ("not base64 !!! secret-ish", "not valid base64"),
        (base64.b64encode(b"sixteen bytes!!!").decode(), "32 bytes"),
    ],
)
def test_bad_master_key_in_env(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, value)
    with pytest.raises(ConfigError) as info:
        KeyRing.from_env()
    assert message in str(info.value)
    assert value not in str(info.value)


def test_missing_env_and_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=MASTER_KEY_ENV):
        KeyRing.from_env()
    with pytest.raises(ConfigError, match=MASTER_KEY_ENV):
        KeyRing.load(None)


def test_key_file_is_created_private_and_reused(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MASTER_KEY_ENV, raising=False)
    path = tmp_path / ".safebot" / "master.key"
    first = KeyRing.load(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp file left
    second = KeyRing.load(path)
    assert second.unwrap("k", first.wrap("k", first.data_key("k"))) == first.data_key("k")


def test_env_wins_over_key_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, base64.b64encode(os.urandom(32)).decode())
    KeyRing.load(tmp_path / "master.key")
    assert not (tmp_path / "master.key").exists()


def test_key_file_readable_by_others_is_refused(tmp_path) -> None:
    path = tmp_path / "master.key"
    KeyRing.from_file(path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        KeyRing.from_file(path)


def test_missing_key_file_without_create(tmp_path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        KeyRing.from_file(tmp_path / "nope.key", create=False)
