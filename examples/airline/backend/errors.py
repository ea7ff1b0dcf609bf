"""Errors raised by the demo reservations back end.

    BackendError                        storage failure or anything unexpected
     +-- NotFoundError                  no such booking, segment or flight
     +-- InvalidRequestError            the request cannot be carried out as asked
          +-- SeatUnavailableError      the seat exists but someone else has it
          +-- NotEligibleError          e.g. a refund on a non-refundable fare (code = reason)
          +-- TravelDocumentRequiredError   check-in needs passport details first

Every error carries a stable ``code`` a handler can switch on. Messages never
contain customer data (no names, references or passport numbers).
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
    """The booking, segment or flight does not exist (or is not part of this booking)."""

    code = "not_found"


class InvalidRequestError(BackendError):
    """The request is well-formed but cannot be carried out."""

    code = "invalid_request"


class SeatUnavailableError(InvalidRequestError):
    """The requested seat is already taken."""

    code = "seat_unavailable"


class NotEligibleError(InvalidRequestError):
    """The booking is not eligible (the code says why, e.g. ``non_refundable_fare``)."""

    code = "not_eligible"


class TravelDocumentRequiredError(InvalidRequestError):
    """An international flight needs passport details before check-in."""

    code = "travel_document_required"
