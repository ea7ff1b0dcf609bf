"""Encryption for values a handler may need later, built for crypto-shredding.

::

    master key (32 bytes, env SAFEBOT_MASTER_KEY or a 0600 key file; never in a policy or bot.yaml)
      └── wraps one data key per customer (random 32 bytes, AES-256-GCM), kept by the store
            └── encrypts that customer's vault values (AES-256-GCM, aad = conversation id + token)
            └── derives the fingerprint key (HMAC-SHA256) used to find an already-vaulted value

Deleting a customer's wrapped data key makes every value encrypted under it unreadable, in
every table and every backup that does not also hold the old key row ("crypto-shredding").

>>> ring = KeyRing.generate()
>>> key = ring.data_key("customer-42")
>>> blob = encrypt(key, Sensitive("4111 1111 1111 1111"), vault_aad("c1", "<CREDIT_CARD_1>"))
>>> decrypt(key, blob, vault_aad("c1", "<CREDIT_CARD_1>")).reveal()
'4111 1111 1111 1111'
>>> key
DataKey('***')

Nothing here puts key material or plaintext into a ``repr``, ``str`` or exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import stat
import sys
from pathlib import Path
from typing import NoReturn, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from safebot.errors import ConfigError, VaultError
from safebot.sensitive import Sensitive

__all__ = [
    "MASTER_KEY_ENV",
    "DataKey",
    "KeyRing",
    "KeyStorage",
    "MemoryKeyStorage",
    "VaultError",
    "decrypt",
    "encrypt",
    "fingerprint",
    "vault_aad",
]

MASTER_KEY_ENV = "SAFEBOT_MASTER_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12  # the AES-GCM standard nonce; random per encryption
FINGERPRINT_HEX = 32  # 128 bits: collisions are not a concern at conversation scale

# Domain-separation labels: the same key never serves two purposes with the same input.
_WRAP_LABEL = b"safebot/data-key/v1\x00"
_VAULT_LABEL = b"safebot/vault/v1\x00"
_FINGERPRINT_LABEL = b"safebot/fingerprint/v1"
_INDEX_LABEL = b"safebot/value-index/v1"


class DataKey:
    """One customer's data key. Masks itself; the bytes never reach a repr, log or pickle."""

    __slots__ = ("_fingerprint_key", "_key")
    _key: bytes
    _fingerprint_key: bytes

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a data key is {KEY_BYTES} bytes")
        object.__setattr__(self, "_key", bytes(key))
        # A separate HMAC key, so fingerprints never reuse the encryption key directly.
        object.__setattr__(self, "_fingerprint_key", hmac.digest(key, _FINGERPRINT_LABEL, "sha256"))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("DataKey is immutable")

    def __repr__(self) -> str:
        return "DataKey('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataKey) and hmac.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(("DataKey", self._fingerprint_key))

    def __reduce__(self) -> NoReturn:
        raise TypeError("DataKey cannot be pickled")


class KeyStorage(Protocol):
    """Where wrapped data keys live (the store's ``data_keys`` table, or memory in tests)."""

    def get_wrapped(self, key_id: str) -> bytes | None: ...

    def add_wrapped(self, key_id: str, wrapped: bytes) -> bytes:
        """Store ``wrapped`` unless a key for ``key_id`` exists; return the stored one.

        Returning the winner makes concurrent first use safe: both writers use one key.
        """
        ...

    def delete_wrapped(self, key_id: str) -> bool: ...


class MemoryKeyStorage:
    """Wrapped keys in a dict: for tests and for a keyring used without a store."""

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}

    def get_wrapped(self, key_id: str) -> bytes | None:
        return self._keys.get(key_id)

    def add_wrapped(self, key_id: str, wrapped: bytes) -> bytes:
        return self._keys.setdefault(key_id, wrapped)

    def delete_wrapped(self, key_id: str) -> bool:
        return self._keys.pop(key_id, None) is not None

    def __repr__(self) -> str:
        return f"MemoryKeyStorage({len(self._keys)} keys)"


class KeyRing:
    """The master key plus the storage of wrapped per-customer data keys.

    Build it with :meth:`load` (env first, then a key file), :meth:`from_env`,
    :meth:`from_file` or :meth:`generate` (tests). A store binds it to its own table with
    :meth:`with_storage`; the master key is shared, the original keyring is not changed.

    >>> ring = KeyRing.generate()
    >>> ring.data_key("cust-1") == ring.data_key("cust-1")
    True
    >>> ring.forget("cust-1")
    True
    >>> ring
    KeyRing('***')
    """

    __slots__ = ("_index_key", "_master", "_storage")

    def __init__(self, master_key: bytes, *, storage: KeyStorage | None = None) -> None:
        if len(master_key) != KEY_BYTES:
            raise ConfigError(f"the master key must be {KEY_BYTES} bytes")
        self._master = AESGCM(master_key)
        # Finds every conversation that holds the same value (erasure); never leaves the process.
        self._index_key = hmac.digest(master_key, _INDEX_LABEL, "sha256")
        self._storage: KeyStorage = storage if storage is not None else MemoryKeyStorage()

    def __repr__(self) -> str:
        return "KeyRing('***')"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("KeyRing cannot be pickled")

    # -- construction ------------------------------------------------------------------------
    @classmethod
    def generate(cls) -> KeyRing:
        """A keyring with a fresh random master key, lost at exit (tests, throwaway bots)."""
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_env(cls, env: str = MASTER_KEY_ENV) -> KeyRing:
        """The master key from a base64 environment variable.

        >>> import base64, os
        >>> os.environ["SAFEBOT_MASTER_KEY"] = base64.b64encode(bytes(32)).decode()
        >>> KeyRing.from_env()
        KeyRing('***')
        >>> del os.environ["SAFEBOT_MASTER_KEY"]
        """
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"environment variable {env} is not set")
        return cls(_decode_key(value, f"environment variable {env}"))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, create: bool = True) -> KeyRing:
        """The master key from a key file (base64), created with mode 0600 on first use.

        A file readable by group or others is refused, as ssh refuses such a private key.
        """
        path = Path(path)
        if create and not path.exists():
            _create_key_file(path)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise ConfigError("master key file not found", path=str(path)) from None
        with os.fdopen(fd, "rb") as fh:
            mode = os.fstat(fh.fileno()).st_mode
            if sys.platform != "win32" and mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(
                    "master key file is readable by other users; run 'chmod 600' on it",
                    path=str(path),
                )
            content = fh.read().decode("ascii", errors="replace").strip()
        return cls(_decode_key(content, "master key file"))

    @classmethod
    def load(cls, key_file: str | os.PathLike[str] | None = None) -> KeyRing:
        """``SAFEBOT_MASTER_KEY`` if set, else ``key_file`` (created on first use).

        The key is deliberately never read from a policy or ``bot.yaml``: those files are
        committed and reviewed; the key must not be.
        """
        if os.environ.get(MASTER_KEY_ENV):
            return cls.from_env()
        if key_file is None:
            raise ConfigError(f"no master key: set {MASTER_KEY_ENV} or give a key file path")
        return cls.from_file(key_file)

    def with_storage(self, storage: KeyStorage) -> KeyRing:
        """The same master key, wrapped data keys kept in ``storage``."""
        ring = object.__new__(KeyRing)
        ring._master = self._master
        ring._index_key = self._index_key
        ring._storage = storage
        return ring

    # -- data keys ---------------------------------------------------------------------------
    def data_key(self, key_id: str) -> DataKey:
        """The data key for ``key_id`` (a customer key id), created on first use."""
        wrapped = self._storage.get_wrapped(key_id)
        if wrapped is None:
            fresh = secrets.token_bytes(KEY_BYTES)
            wrapped = self._storage.add_wrapped(key_id, self.wrap(key_id, DataKey(fresh)))
        return self.unwrap(key_id, wrapped)

    def existing_data_key(self, key_id: str) -> DataKey | None:
        """The data key for ``key_id``, or None if it was never made or has been forgotten."""
        wrapped = self._storage.get_wrapped(key_id)
        return None if wrapped is None else self.unwrap(key_id, wrapped)

    def forget(self, key_id: str) -> bool:
        """Delete the data key: every value encrypted under it becomes unreadable."""
        return self._storage.delete_wrapped(key_id)

    def index_fingerprint(self, entity_type: str, canonical: Sensitive[str]) -> str:
        """The same value in any conversation gives the same fingerprint (keyed by the master
        key): how erasure finds a customer's values in conversations never verified."""
        message = entity_type.encode() + b"\x00" + canonical.reveal().encode("utf-8")
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()[:FINGERPRINT_HEX]

    def wrap(self, key_id: str, key: DataKey) -> bytes:
        """``nonce || AES-GCM(master, data key)``, bound to ``key_id`` so rows cannot be swapped."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._master.encrypt(nonce, key._key, _WRAP_LABEL + key_id.encode())

    def unwrap(self, key_id: str, wrapped: bytes) -> DataKey:
        try:
            raw = self._master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _WRAP_LABEL + key_id.encode())
        except (InvalidTag, ValueError):
            raise VaultError("data key could not be unwrapped (wrong master key or tampered row)") from None
        return DataKey(raw)


# -- values ------------------------------------------------------------------------------------
def vault_aad(conversation_id: str, token: str) -> bytes:
    """Associated data binding a ciphertext to its conversation and placeholder.

    A ciphertext copied to another conversation or token then fails to decrypt.
    """
    return _VAULT_LABEL + conversation_id.encode() + b"\x00" + token.encode()


def encrypt(data_key: DataKey, plaintext: Sensitive[str], aad: bytes) -> bytes:
    """AES-256-GCM: returns ``nonce (12 bytes) || ciphertext+tag``.

    >>> k = KeyRing.generate().data_key("c")
    >>> len(encrypt(k, Sensitive("x"), b"aad")) == 12 + 1 + 16
    True
    """
    if not isinstance(plaintext, Sensitive):
        raise TypeError("encrypt takes a Sensitive[str], never a bare value")
    value = plaintext.reveal()
    if not isinstance(value, str):
        raise TypeError("encrypt takes a Sensitive[str]")
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(data_key._key).encrypt(nonce, value.encode("utf-8"), aad)


def decrypt(data_key: DataKey, blob: bytes, aad: bytes) -> Sensitive[str]:
    """Inverse of :func:`encrypt`; raises :class:`VaultError` on a wrong key, aad or tampering."""
    try:
        raw = AESGCM(data_key._key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise VaultError("vault value could not be decrypted (wrong key, context or tampered)") from None
    return Sensitive(raw.decode("utf-8"))


def fingerprint(data_key: DataKey, entity_type: str, canonical_value: Sensitive[str] | str) -> str:
    """Keyed HMAC-SHA256 (hex, 128 bits) of a canonical value, to find an already-vaulted one.

    Keyed with the customer's data key: equal for the same value and key, unlinkable across
    customers, and meaningless once the key is shredded.

    >>> ring = KeyRing.generate()
    >>> a = fingerprint(ring.data_key("c"), "CREDIT_CARD", Sensitive("4111111111111111"))
    >>> a == fingerprint(ring.data_key("c"), "CREDIT_CARD", Sensitive("4111111111111111"))
    True
    >>> len(a)
    32
    """
    value = canonical_value.reveal() if isinstance(canonical_value, Sensitive) else canonical_value
    message = entity_type.encode() + b"\x00" + str(value).encode("utf-8")
    return hmac.new(data_key._fingerprint_key, message, hashlib.sha256).hexdigest()[:FINGERPRINT_HEX]


# -- helpers -----------------------------------------------------------------------------------
def _decode_key(value: str, where: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"{where} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise ConfigError(f"{where} must decode to {KEY_BYTES} bytes")
    return key


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Write a private temp file, then link it into place: the link fails if another process
    # won the race, and no reader ever sees a half-written key file.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
