"""Console sign-in: a compliance key is checked once, the browser then holds a session cookie.

Why a session and not the key in a cookie, or the header alone: a browser cannot send an
``Authorization`` header on a plain link, and a key kept in the cookie jar would be a
long-lived secret there. The cookie carries a random 256-bit token; the store keeps only its
SHA-256 (``console_sessions``), with the key's id and name and an expiry, in the same
database every server process shares, so any process can serve any request, and revoking
the key (``safebot keys revoke``) ends its sessions at their next request.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page
can make the browser send it), ``Path=/console`` and ``Secure`` behind TLS. Requests that
change something (sign-in, sign-out) also need an ``Origin`` (or ``Sec-Fetch-Site``) of this
site, and sign-out a per-session CSRF token from the form.

>>> token, csrf = open_session(store, key)                   # doctest: +SKIP
>>> find_session(store, token).key_name                       # doctest: +SKIP
'reviewer'
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select

from safebot.console._tables import SessionRow
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import now
from safebot.stores._serving_schema import ApiKeyRow

if TYPE_CHECKING:  # pragma: no cover
    from safebot.serve.auth import ApiKey
    from safebot.stores import SqlStore

__all__ = ["COOKIE", "SESSION_SECONDS", "Session", "close_session", "find_session", "open_session"]

COOKIE = "safebot_console"
#: a session ends this long after sign-in, whatever happens
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    key_id: str
    key_name: str
    csrf: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(store: SqlStore, key: ApiKey) -> tuple[str, str]:
    """A new session for ``key``; returns (cookie token, CSRF token). Expired ones are swept."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    with mapped_errors(), store.write_engine.begin() as conn:
        conn.execute(delete(SessionRow).where(SessionRow.expires_at < time.time()))
        conn.execute(insert(SessionRow).values(
            token_hash=_hash(token), key_id=key.id, key_name=key.name, csrf=csrf, created_at=now(),
            expires_at=time.time() + SESSION_SECONDS,
        ))
    return token, csrf


def find_session(store: SqlStore, token: str | None) -> Session | None:
    """The live session of a cookie token whose key is still active with the compliance role."""
    if not token or len(token) > 100:
        return None
    s, k = SessionRow, ApiKeyRow
    stmt = (
        select(s.key_id, s.key_name, s.csrf, s.expires_at, k.role, k.revoked_at)
        .join(k, k.id == s.key_id).where(s.token_hash == _hash(token))
    )
    with mapped_errors(), store.engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None or row.expires_at < time.time() or row.revoked_at is not None or row.role != "compliance":
        return None
    return Session(row.key_id, row.key_name, row.csrf)


def close_session(store: SqlStore, token: str | None) -> None:
    if not token:
        return
    with mapped_errors(), store.write_engine.begin() as conn:
        conn.execute(delete(SessionRow).where(SessionRow.token_hash == _hash(token)))
