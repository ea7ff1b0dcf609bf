"""safebot's error hierarchy. Every message here is safe to log: none carries customer text.

::

    SafebotError                 base; .code is stable, .message is safe to show
    ├── ConfigError              a bot.yaml, policy.yaml or cases file is wrong (file, line, field)
    ├── RedactionError           detection failed; the text was blocked (fail closed)
    ├── RevealError              a handler asked for a value it did not declare
    ├── HandlerError             a handler raised or returned something invalid
    ├── StoreError               the store could not commit a turn
    └── ChannelError             a channel got a request it cannot serve (maps to 4xx)

Lower-level exceptions are chained with ``raise ... from exc`` only when their text cannot
hold customer data; otherwise they are dropped (``from None``) and only their type is kept.
"""

from __future__ import annotations

__all__ = [
    "SafebotError",
    "ConfigError",
    "RedactionError",
    "RevealError",
    "HandlerError",
    "StoreError",
    "ChannelError",
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


class RedactionError(SafebotError):
    """Detection failed or ran past its budget. Callers must treat the text as blocked."""

    code = "redaction_failed"


class RevealError(SafebotError):
    """A handler tried to reveal a value whose entity type it did not declare."""

    code = "reveal_denied"


class HandlerError(SafebotError):
    """A handler raised or returned an invalid result."""

    code = "handler_error"


class StoreError(SafebotError):
    """The store could not read or commit."""

    code = "store_error"


class ChannelError(SafebotError):
    """A channel request is malformed or cannot be served. ``status`` is the HTTP status."""

    code = "channel_error"

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
