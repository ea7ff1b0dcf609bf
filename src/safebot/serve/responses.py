"""The server's error responses: subclasses of :class:`~safebot.errors.ChannelError` with a
stable ``code`` each, and the pydantic model of the body they all share (for the OpenAPI
document). Messages are fixed strings or name a field; none carries request content.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from safebot.errors import AuthError, ChannelError

__all__ = [
    "ERROR_RESPONSES",
    "BadRequest",
    "Busy",
    "ErrorBody",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "Overloaded",
    "Throttled",
    "Unavailable",
    "error_headers",
]


class InvalidRequest(ChannelError):
    """The body or a parameter does not match the schema (422)."""

    code = "invalid_request"

    def __init__(self, message: str = "request does not match the schema") -> None:
        super().__init__(message, status=422)


class BadRequest(ChannelError):
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message, status=400)


class Forbidden(AuthError):
    code = "forbidden"

    def __init__(self, message: str = "this key's role may not use this route") -> None:
        super().__init__(message, status=403)


class NotFound(ChannelError):
    """Absent, or belonging to another key: the two are indistinguishable on purpose."""

    code = "not_found"

    def __init__(self, message: str = "not found") -> None:
        super().__init__(message, status=404)


class Throttled(ChannelError):
    """This key sent more than its rate limit (429); ``retry_after`` in seconds."""

    code = "rate_limited"

    def __init__(self, retry_after: str) -> None:
        super().__init__("rate limit exceeded; retry later", status=429)
        self.retry_after = retry_after


class Overloaded(ChannelError):
    """Too many turns are running; try again shortly (503)."""

    code = "overloaded"

    def __init__(self) -> None:
        super().__init__("the server is busy; retry shortly", status=503)
        self.retry_after = "1"


class Busy(ChannelError):
    """The conversation's lock could not be had in time: another turn of it is still running,
    or the lock service (Redis) is down. Nothing was processed; the turn never runs unordered."""

    code = "conversation_busy"

    def __init__(self) -> None:
        super().__init__("the conversation is busy or its lock service is unavailable; nothing was "
                         "processed, retry shortly", status=503)
        self.retry_after = "1"


class Unavailable(ChannelError):
    """A part of the server is not configured or not ready (503)."""

    code = "unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message, status=503)


def error_headers(err: ChannelError) -> dict[str, str]:
    headers: dict[str, str] = {}
    retry_after = getattr(err, "retry_after", None)
    if retry_after:
        headers["Retry-After"] = str(retry_after)
    if err.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return headers


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error response: ``{"error": {"code": "...", "message": "..."}}``."""

    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


def _described(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


#: OpenAPI descriptions of the errors any /v1 route can answer
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _described("Malformed request (e.g. an invalid Content-Length)"),
    401: _described("Missing, wrong or revoked API key"),
    403: _described("The key's role may not use this route"),
    404: _described("No such conversation for this key"),
    408: _described("The request body did not arrive in time"),
    413: _described("The request body is too large"),
    422: _described("Malformed JSON or a body that does not match the schema (never echoed)"),
    429: _described("Rate limit exceeded (see Retry-After)"),
    500: _described("Internal error (no details are returned)"),
    503: _described("Too many turns running, or the conversation lock busy or unavailable (see Retry-After), or not ready"),
}
