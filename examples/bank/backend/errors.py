"""Errors raised by the demo core-banking back end.

    BackendError                 storage failure or anything unexpected
     +-- NotFoundError           no such customer, account, card, transaction or alert
     |                           (also when it exists but belongs to another customer)
     +-- InvalidRequestError     the request cannot be carried out as asked
          +-- InsufficientFundsError
          +-- CardStateError     the card is in the wrong state for the operation

Every error carries a stable ``code`` a handler can switch on. Messages never
contain customer data (no names, numbers or amounts), so they are safe to log.
"""

from __future__ import annotations


class BackendError(Exception):
    """Base class of every error raised by the back end."""

    code: str = "backend_error"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        super().__init__(message or self.code.replace("_", " "))


class NotFoundError(BackendError):
    """The record does not exist, or does not belong to this customer."""

    code = "not_found"


class InvalidRequestError(BackendError):
    """The request is well-formed but cannot be carried out."""

    code = "invalid_request"


class InsufficientFundsError(InvalidRequestError):
    """The source account does not hold enough money for the transfer."""

    code = "insufficient_funds"


class CardStateError(InvalidRequestError):
    """The card's status does not allow the operation (e.g. unfreezing a lost card)."""

    code = "card_state"
