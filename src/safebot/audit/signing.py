"""Signatures for audit checkpoints, retention anchors and erasure receipts.

Ed25519, with the private key derived from the bot's ``audit`` key (safebot.keys: the
environment, a key directory or a KMS hook; never the policy or bot.yaml). Ed25519 rather than
HMAC so that whoever checks a checkpoint or a receipt needs only the public key
(``safebot audit public-key BOT_DIR``): a regulator or a customer can verify without being able
to sign.

>>> signer = AuditSigner(bytes(32))
>>> sig = signer.sign(checkpoint_message(10, "ab" * 32))
>>> signer.verifier.verify(checkpoint_message(10, "ab" * 32), sig)
True
>>> signer.verifier.verify(checkpoint_message(11, "ab" * 32), sig)
False
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safebot.errors import KeyProviderError

__all__ = ["AuditSigner", "AuditVerifier", "anchor_message", "checkpoint_message"]

_SEED_LABEL = b"safebot/audit-signing/ed25519/v1"


def checkpoint_message(seq: int, hash_hex: str) -> bytes:
    """What a checkpoint signs: the position and hash of the last record it covers."""
    return b"safebot/audit-checkpoint/v1\x00" + f"{int(seq)}:{hash_hex}".encode("ascii", "replace")


def anchor_message(seq: int, hash_hex: str, time: str) -> bytes:
    """What a retention anchor signs: where the chain now starts, and when that was decided."""
    return b"safebot/audit-anchor/v1\x00" + f"{int(seq)}:{hash_hex}:{time}".encode("ascii", "replace")


class AuditVerifier:
    """Checks signatures with the public key only."""

    __slots__ = ("_key", "public_key_hex")

    def __init__(self, public_key: bytes) -> None:
        if len(public_key) != 32:
            raise KeyProviderError("an audit public key is 32 bytes (64 hex characters)")
        self._key = Ed25519PublicKey.from_public_bytes(public_key)
        self.public_key_hex = public_key.hex()

    @classmethod
    def from_hex(cls, value: str) -> AuditVerifier:
        try:
            return cls(bytes.fromhex(value.strip()))
        except ValueError:
            raise KeyProviderError("the audit public key must be 64 hex characters") from None

    def __repr__(self) -> str:
        return f"AuditVerifier(key_id={self.key_id!r})"

    @property
    def key_id(self) -> str:
        """A short public name for the key (recorded beside every signature)."""
        return hashlib.sha256(bytes.fromhex(self.public_key_hex)).hexdigest()[:16]

    def verify(self, message: bytes, signature: object) -> bool:
        if not isinstance(signature, str):
            return False
        try:
            self._key.verify(base64.b64decode(signature, validate=True), message)
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


class AuditSigner:
    """Signs with the Ed25519 key derived from the 32-byte ``audit`` key. Masks itself."""

    __slots__ = ("_key", "verifier")

    def __init__(self, audit_key: bytes) -> None:
        if len(audit_key) < 32:
            raise KeyProviderError("the audit key must be at least 32 bytes")
        # A label keeps this use of the key apart from any other: the key signs, nothing else.
        seed = hmac.digest(audit_key, _SEED_LABEL, "sha256")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.verifier = AuditVerifier(self._key.public_key().public_bytes_raw())

    def __repr__(self) -> str:
        return f"AuditSigner(key_id={self.key_id!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("AuditSigner cannot be pickled")

    @property
    def key_id(self) -> str:
        return self.verifier.key_id

    def sign(self, message: bytes) -> str:
        """Base64 Ed25519 signature of ``message``."""
        return base64.b64encode(self._key.sign(message)).decode("ascii")
