"""Prometheus metrics of one server, in their own registry (text format at ``/metrics``).

Every label value comes from a closed set decided here or by the code (channel names, route
templates, status codes, outcome names, the policy's entity type names): never a path, a
conversation id, a key name or anything a client sent. Entity types outside the policy's
list are counted as ``OTHER``.

Findings and blocked messages come from the bot's analytics events (a sink on the bot: the
engine hands it every turn's redacted events after the commit); turns and their latency from
the channel that ran them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from safebot.events import RedactedEvent, ensure_redacted
from safebot.redaction.policy import Destination

__all__ = ["CONTENT_TYPE", "Metrics", "MetricsSink"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
_ENTITY = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
CHANNELS = ("rest", "whatsapp")
#: turn latency buckets (seconds): a turn is tens of ms to a few seconds
_TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The server's counters. ``entity_types`` is the policy's closed list of entity names."""

    def __init__(self, entity_types: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.entity_types = frozenset(e for e in entity_types if _ENTITY.fullmatch(e))
        r = self.registry
        self.turns = Counter("safebot_turns", "Turns run, by channel and outcome (ok, blocked, error).",
                             ["channel", "outcome"], registry=r)
        self.turn_seconds = Histogram("safebot_turn_seconds", "Time to run one turn (bot.handle), by channel.",
                                      ["channel"], buckets=_TURN_BUCKETS, registry=r)
        self.turns_running = Gauge("safebot_turns_running", "Turns running now.", ["channel"], registry=r)
        self.findings = Counter("safebot_findings", "Redaction findings in customer messages, by entity type.",
                                ["entity_type"], registry=r)
        self.blocked = Counter("safebot_blocked_messages", "Customer messages blocked by the redaction boundary (fail closed).",
                               ["channel"], registry=r)
        self.requests = Counter("safebot_http_requests", "HTTP requests, by route template, method and status.",
                                ["route", "method", "status"], registry=r)
        self.rejections = Counter("safebot_http_rejections", "Requests refused by a limit, by reason.",
                                  ["reason"], registry=r)
        self.webhook_deliveries = Counter("safebot_webhook_deliveries", "WhatsApp webhook deliveries, by result.",
                                          ["result"], registry=r)
        self.webhook_ack_seconds = Histogram("safebot_webhook_ack_seconds", "Time from a webhook delivery's arrival to its answer.",
                                             buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0), registry=r)
        self.whatsapp_messages = Counter("safebot_whatsapp_messages", "Inbound WhatsApp messages, by kind (duplicate: a redelivery).",
                                         ["kind"], registry=r)
        self.whatsapp_statuses = Counter("safebot_whatsapp_statuses", "WhatsApp status updates received, by status.",
                                         ["status"], registry=r)
        self.graph_requests = Counter("safebot_graph_requests", "Graph API send attempts, by outcome.",
                                      ["outcome"], registry=r)
        for ch in CHANNELS:
            self.turns_running.labels(ch).set(0)

    def entity_label(self, entity_type: str) -> str:
        return entity_type if entity_type in self.entity_types else "OTHER"

    def observe_turn(self, channel: str, seconds: float, *, blocked: bool, error: bool = False) -> None:
        outcome = "error" if error else ("blocked" if blocked else "ok")
        self.turns.labels(channel, outcome).inc()
        self.turn_seconds.labels(channel).observe(seconds)
        if blocked:
            self.blocked.labels(channel).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsSink:
    """Counts the entity types found in each customer message (analytics events, no text read)."""

    destination: Destination = "analytics"

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def emit(self, event: RedactedEvent) -> None:
        event = ensure_redacted(event)
        if event.kind != "user" or event.text is None:
            return
        for entity_type in event.text.entity_types:
            self._metrics.findings.labels(self._metrics.entity_label(entity_type)).inc()

    def close(self) -> None:
        pass
