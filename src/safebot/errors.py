"""safebot's error tree. Every message here is safe to log: none carries customer text.

::

    SafebotError                  base; .code is stable, .message is safe to show
    ├── ConfigError               a bot.yaml, policy, cases or templates file is wrong (file, line, field)
    │   └── WiringError           handlers name a form, intent or handler that does not exist
    ├── RedactionError            detection failed; the text was blocked (fail closed)
    │   └── RedactionTimeout      detection ran past the policy's time budget (also blocked)
    ├── InputRejected             a message is empty, too long or undecodable; nothing was processed
    ├── RevealError               a handler asked for a value it did not declare
    ├── HandlerError              a handler raised or returned something invalid
    │   └── ActionRejected        a handler refused to run (rasa-sdk's ActionExecutionRejection)
    ├── StoreError                the store could not read or commit
    │   ├── VersionConflict       another writer saved the conversation first (retried once)
    │   ├── LockTimeout           the conversation's lock could not be taken in time
    │   └── VaultError            a vault value or data key could not be decrypted
    ├── KeyProviderError          a key could not be obtained from the key provider
    └── ChannelError              a channel got a request it cannot serve (``.status``: 4xx/5xx)
        ├── AuthError             missing, wrong or revoked credentials (401) or a role (403)
        └── RasaRequestError      a Rasa action call the action server refuses (400/404/413)

Lower-level exceptions are chained with ``raise ... from exc`` only when their text cannot
hold customer data; otherwise they are dropped (``from None``) and only their type is kept.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ActionRejected",
    "AuthError",
    "ChannelError",
    "ConfigError",
    "HandlerError",
    "InputRejected",
    "KeyProviderError",
    "LockTimeout",
    "RasaRequestError",
    "RedactionError",
    "RedactionTimeout",
    "RevealError",
    "SafebotError",
    "StoreError",
    "VaultError",
    "VersionConflict",
    "WiringError",
]


class SafebotError(Exception):
    """Base class. ``str(err)`` is always safe to show and log."""

    code = "safebot_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(SafebotError):
    """A configuration file is invalid. The message names the file, line and field.

    >>> err = ConfigError("policy is invalid", path="policy.yaml", line=12, field="entities.CVV.threshold")
    >>> str(err)
    'policy.yaml:12: entities.CVV.threshold: policy is invalid'
    """

    code = "config_error"

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path, self.line, self.field, self.reason = path, line, field, message
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        if field:
            where += f"{field}: "
        super().__init__(where + message)


class WiringError(ConfigError):
    """The route table refers to something that does not exist (found at ``Bot.load``)."""

    code = "wiring_error"


class RedactionError(SafebotError):
    """Detection failed. Callers must treat the text as blocked.

    ``reason`` is a short code safe to store: an exception type name, or ``timeout``.
    """

    code = "redaction_failed"

    def __init__(self, message: str, *, reason: str = "error") -> None:
        super().__init__(message)
        self.reason = reason


class RedactionTimeout(RedactionError):
    """Detection ran past the policy's time budget; it was abandoned and the text blocked."""

    code = "redaction_timeout"

    def __init__(self, message: str = "detection exceeded its time budget") -> None:
        super().__init__(message, reason="timeout")


class InputRejected(SafebotError):
    """A message was refused before anything saw it: ``reason`` is empty, too_long or undecodable."""

    code = "input_rejected"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class RevealError(SafebotError):
    """A handler tried to reveal a value whose entity type it did not declare."""

    code = "reveal_denied"


class HandlerError(SafebotError):
    """A handler raised or returned an invalid result."""

    code = "handler_error"


class ActionRejected(HandlerError):
    """A handler declined to run for this call (rasa-sdk's ``ActionExecutionRejection``).

    The Rasa action server answers it with rasa-sdk's 400, so Rasa can predict another action.
    """

    code = "action_rejected"


class StoreError(SafebotError):
    """The store could not read or commit."""

    code = "store_error"


class VersionConflict(StoreError):
    """Another writer saved the conversation first; the turn is retried from fresh state."""

    code = "store_conflict"


class LockTimeout(StoreError):
    """The conversation is busy (another turn holds it) and did not free up in time."""

    code = "conversation_busy"


class VaultError(StoreError):
    """A vault value or data key could not be decrypted (wrong key, wrong context, tampered)."""

    code = "vault_error"


class KeyProviderError(SafebotError):
    """A key is missing, malformed or stored unsafely (a key file readable by others)."""

    code = "key_error"


class ChannelError(SafebotError):
    """A channel request is malformed or cannot be served. ``status`` is the HTTP status."""

    code = "channel_error"

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def body(self) -> dict[str, Any]:
        """The JSON error body: a stable code and the safe message, never request content."""
        return {"error": {"code": self.code, "message": self.message}}


class AuthError(ChannelError):
    """Missing, wrong or revoked credentials (401), or a key without the needed role (403)."""

    code = "unauthorized"

    def __init__(self, message: str = "missing or invalid credentials", *, status: int = 401) -> None:
        super().__init__(message, status=status)


class RasaRequestError(ChannelError):
    """A request the Rasa action server refuses. ``str()`` and ``action_name`` are safe to return."""

    code = "rasa_request_error"

    def __init__(self, message: str, *, status: int = 400, action_name: str | None = None) -> None:
        super().__init__(message, status=status)
        self.action_name = action_name

    def body(self) -> dict[str, Any]:
        """The JSON error body, shaped like rasa-sdk's."""
        return {"error": self.message, "action_name": self.action_name}
