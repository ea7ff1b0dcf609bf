"""A second line of defence for logs: a ``logging.Filter`` that redacts what got through.

Attach it to the *handlers* that receive safebot's loggers (a filter on a logger does not
see records propagated from child loggers; a handler filter sees them all)::

    handler = logging.StreamHandler()
    handler.addFilter(RedactingLogFilter(redactor))
    logging.getLogger("safebot").addHandler(handler)

The message is formatted, redacted for the ``transcript`` destination and put back with no
args. An exception is rendered to text, redacted, and kept only as ``exc_text``: ``exc_info``
is dropped so no later formatter (rich, structlog, a JSON formatter) can render the exception
message or the frames' local variables itself. If redaction fails, the whole message becomes
``<REDACTED_MESSAGE>`` (fail closed). Extra attributes (``extra={...}``) are not inspected:
do not put text in them.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Protocol

from safebot.redaction.policy import Destination
from safebot.redaction.types import BLOCKED_TEXT, RedactedText

__all__ = ["RedactingLogFilter", "TextRedactor"]


class TextRedactor(Protocol):
    """What the filter needs from a :class:`~safebot.redaction.Redactor`."""

    def redact(self, text: str, destination: Destination = "transcript") -> RedactedText: ...


class RedactingLogFilter(logging.Filter):
    """Redacts each record's message and exception text in place; never drops a record.

    >>> record = logging.LogRecord("safebot.x", logging.INFO, __file__, 1, "card %s", ("4111 1111 1111 1111",), None)
    >>> RedactingLogFilter(redactor).filter(record)   # doctest: +SKIP
    True
    >>> record.getMessage()                            # doctest: +SKIP
    'card <CREDIT_CARD_1>'
    """

    def __init__(self, redactor: TextRedactor) -> None:
        super().__init__()
        self._redactor = redactor
        # The redactor logs its own failures; a record raised while we are redacting on this
        # thread must not recurse into the redactor.
        self._active = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(self._active, "busy", False):
            _replace(record, BLOCKED_TEXT, None)
            return True
        self._active.busy = True
        try:
            message = self._redact(_message(record))
            exc_text = None
            if record.exc_info and record.exc_info[0] is not None:
                exc_text = self._redact(_render_exception(record))
            elif record.exc_text:
                exc_text = self._redact(record.exc_text)
            if record.stack_info:
                record.stack_info = self._redact(record.stack_info)
            _replace(record, message, exc_text)
        except Exception:  # noqa: BLE001 - a logging filter must never raise or fail open
            _replace(record, BLOCKED_TEXT, None)
            record.stack_info = None
        finally:
            self._active.busy = False
        return True

    def _redact(self, text: str) -> str:
        try:
            result = self._redactor.redact(text, destination="transcript")
        except Exception:  # noqa: BLE001 - any failure blocks the text
            return BLOCKED_TEXT
        return BLOCKED_TEXT if result.blocked else result.text


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # noqa: BLE001 - bad format args: redact the parts, not the failure
        return " ".join([str(record.msg), *map(str, record.args or ())])


def _render_exception(record: logging.LogRecord) -> str:
    exc_type, exc, tb = record.exc_info or (None, None, None)
    # The standard rendering: no local variables (unlike rich or structlog's dev tracebacks).
    return "".join(traceback.format_exception(exc_type, exc, tb)).rstrip("\n")


def _replace(record: logging.LogRecord, message: str, exc_text: str | None) -> None:
    record.msg = message
    record.args = None
    record.exc_info = None
    record.exc_text = exc_text
    # A formatter may have cached the unredacted text already.
    if hasattr(record, "message"):
        record.message = message
