"""API keys: ``sbk_<id>_<secret>``, shown once, stored as a SHA-256 of the whole key.

A key has a unique ``name`` and a ``role``: ``customer`` for the /v1 chat API, ``compliance``
for the console (issue 12). Verification looks the row up by ``id`` (the public part) and
compares hashes in constant time, so neither a timing difference nor a database index on the
secret tells an attacker anything.

>>> store = SqlStore("sqlite://", keyring=KeyRing.generate())            # doctest: +SKIP
>>> info, key = create_key(store, "mobile-app")                          # doctest: +SKIP
>>> verify_key(store, key.reveal()).name                                 # doctest: +SKIP
'mobile-app'
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from sqlalchemy import insert, select, update

from safebot.errors import AuthError, ConfigError
from safebot.sensitive import Sensitive
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import now
from safebot.stores._serving_schema import ApiKeyRow

if TYPE_CHECKING:  # pragma: no cover
    from safebot.stores import SqlStore

__all__ = ["ROLES", "ApiKey", "Role", "create_key", "list_keys", "parse_bearer", "revoke_key", "verify_key"]

#: ``notifier``: POST/GET /v1/notifications (issue 10)
Role = Literal["customer", "compliance", "metrics", "notifier"]
ROLES: tuple[str, ...] = get_args(Role)
PREFIX = "sbk_"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_KEY = re.compile(r"sbk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class ApiKey:
    """A key as the server knows it (never the secret)."""

    id: str
    name: str
    role: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(store: SqlStore, name: str, role: str = "customer") -> tuple[ApiKey, Sensitive[str]]:
    """A new key; the returned secret is the only copy there will ever be."""
    if not isinstance(name, str) or _NAME.fullmatch(name) is None:
        raise ConfigError("a key name is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    if role not in ROLES:
        raise ConfigError(f"unknown role; expected one of: {', '.join(ROLES)}")
    key_id = secrets.token_hex(8)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    stamp = now()
    with mapped_errors(), store.write_engine.begin() as conn:
        taken = conn.execute(select(ApiKeyRow.id).where(ApiKeyRow.name == name)).first()
        if taken is not None:
            raise ConfigError("a key with this name already exists (names stay taken after revocation)")
        conn.execute(
            insert(ApiKeyRow).values(id=key_id, name=name, role=role, secret_hash=_digest(key), created_at=stamp)
        )
    return ApiKey(key_id, name, role, stamp), Sensitive(key)


def list_keys(store: SqlStore) -> list[ApiKey]:
    """Every key, oldest first, revoked ones included."""
    k = ApiKeyRow
    with mapped_errors(), store.engine.connect() as conn:
        rows = conn.execute(select(k.id, k.name, k.role, k.created_at, k.revoked_at).order_by(k.created_at, k.id))
        return [ApiKey(r.id, r.name, r.role, r.created_at, r.revoked_at) for r in rows]


def revoke_key(store: SqlStore, name_or_id: str) -> ApiKey:
    """Revoke by name or id; revoking twice is harmless. ConfigError if there is no such key."""
    k = ApiKeyRow
    with mapped_errors(), store.write_engine.begin() as conn:
        row = conn.execute(
            select(k.id, k.name, k.role, k.created_at, k.revoked_at).where((k.name == name_or_id) | (k.id == name_or_id))
        ).first()
        if row is None:
            raise ConfigError("no key with that name or id")
        revoked = row.revoked_at or now()
        if row.revoked_at is None:
            conn.execute(update(k).where(k.id == row.id).values(revoked_at=revoked))
    return ApiKey(row.id, row.name, row.role, row.created_at, revoked)


def verify_key(store: SqlStore, presented: str) -> ApiKey | None:
    """The active key ``presented`` is, or None (unknown, malformed, wrong secret or revoked)."""
    m = _KEY.fullmatch(presented) if isinstance(presented, str) else None
    if m is None:
        return None
    k = ApiKeyRow
    with mapped_errors(), store.engine.connect() as conn:
        row = conn.execute(
            select(k.id, k.name, k.role, k.created_at, k.revoked_at, k.secret_hash).where(k.id == m.group(1))
        ).first()
    if row is None:
        # Same work as a hit, so a miss is not faster.
        hmac.compare_digest(_digest(presented), "0" * 64)
        return None
    if not hmac.compare_digest(_digest(presented), row.secret_hash) or row.revoked_at is not None:
        return None
    return ApiKey(row.id, row.name, row.role, row.created_at, None)


def parse_bearer(header: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; AuthError(401) otherwise."""
    if not header:
        raise AuthError("missing API key: send 'Authorization: Bearer <key>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("the Authorization header must be 'Bearer <key>'")
    return token.strip()
