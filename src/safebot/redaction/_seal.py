"""The process-lifetime key that seals every RedactedText the redaction package makes.

It is not a secret against code running in the process (nothing is); it makes "redacted" a
property a value cannot acquire by accident or by construction outside this package.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_KEY = secrets.token_bytes(32)


def seal(data: bytes) -> bytes:
    return hmac.digest(_KEY, data, hashlib.sha256)[:16]


def check(data: bytes, tag: bytes) -> bool:
    return isinstance(tag, bytes) and hmac.compare_digest(seal(data), tag)
