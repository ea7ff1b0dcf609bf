"""Everything that receives events. Each sink has a ``destination`` and an ``emit`` that
accepts a :class:`~safebot.events.RedactedEvent` rendered for that destination and nothing
else (``TypeError`` for a raw string or a mismatched rendering), plus ``close()``.

=====================  =============  =================================================
sink                   destination    goes to
=====================  =============  =================================================
TranscriptSink         transcript     the store (one transaction per event)
LoggingSink            transcript     a logger, one JSON line per event
JsonlExporter          analytics      a JSON-lines file (0600)
WebhookExporter        analytics      an HTTP endpoint; failures kept for retry
CapturingSink          any            a list, for tests
=====================  =============  =================================================

:class:`RedactingLogFilter` is not a sink: it redacts log records that reach a handler.
Fan-out to several sinks is the engine's job.
"""

from __future__ import annotations

from safebot.sinks._base import checked
from safebot.sinks.exporters import JsonlExporter, WebhookExporter
from safebot.sinks.logfilter import RedactingLogFilter, TextRedactor
from safebot.sinks.memory import CapturingSink, LoggingSink, TranscriptSink

__all__ = [
    "CapturingSink",
    "JsonlExporter",
    "LoggingSink",
    "RedactingLogFilter",
    "TextRedactor",
    "TranscriptSink",
    "WebhookExporter",
    "checked",
]
