"""``notifications:`` in bot.yaml: where the broker and the shared rate limits live, and the
limits themselves. No secret belongs here (a broker password comes from the environment,
``SAFEBOT_BROKER_URL`` / ``SAFEBOT_REDIS_URL`` override the URLs).

.. code-block:: yaml

    notifications:
      broker_url: amqp://guest:guest@127.0.0.1:5672/%2F   # Dramatiq on RabbitMQ; omit: in-process
      redis_url: redis://127.0.0.1:6379/0                 # rate limits shared by every worker
      per_number_per_second: 80                           # WhatsApp's first tier; up to 1000

Without ``broker_url`` the outbox is drained in the process that queued it (or by
``safebot worker``), so the quick start needs no server. Without ``redis_url`` the rate
limits are kept in that one process.
"""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BROKER_ENV", "REDIS_ENV", "NotifyConfig"]

BROKER_ENV = "SAFEBOT_BROKER_URL"
REDIS_ENV = "SAFEBOT_REDIS_URL"


class NotifyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the notification templates file, relative to the bot directory
    templates: str = "notifications.yaml"
    #: ``amqp://...``: deliveries fan out through Dramatiq on this RabbitMQ
    broker_url: Annotated[str, Field(pattern=r"^amqps?://\S+$")] | None = None
    #: ``redis://...``: the per-number and per-recipient limits shared by all workers
    redis_url: Annotated[str, Field(pattern=r"^rediss?://\S+$")] | None = None
    #: the Dramatiq queue the deliveries go through
    queue: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")] = "safebot_notify"
    #: messages a second from the sending number (WhatsApp: 80 at first, up to 1,000)
    per_number_per_second: Annotated[int, Field(ge=1, le=1000)] = 80
    #: slots are spaced this much wider than the limit, so no one-second window exceeds it
    #: (a send leaving its worker some milliseconds after its grant, a window starting on a slot);
    #: 0 sends at the limit exactly
    rate_headroom: Annotated[float, Field(ge=0, le=0.5)] = 0.05
    #: seconds between two messages to the same customer (WhatsApp's pair limit, 131056)
    per_recipient_seconds: Annotated[float, Field(ge=0, le=3600)] = 6.0
    #: tries of one delivery (throttling and transient errors) before it fails for good
    max_tries: Annotated[int, Field(ge=1, le=50)] = 8
    #: delivery ids per broker message (one message moves this many deliveries)
    batch_size: Annotated[int, Field(ge=1, le=500)] = 100
    #: a `sending` row whose worker has held it this long without an answer is reconciled
    sending_lease_seconds: Annotated[float, Field(ge=1, le=3600)] = 60.0
    #: after the lease, wait this long for Meta's status webhooks before deciding (see docs)
    reconcile_after_seconds: Annotated[float, Field(ge=0, le=86400)] = 300.0
    #: ...and for a status of a later send to arrive (the webhook has caught up); with none
    #: (nothing sent after it, the webhook down), decide after this long anyway
    reconcile_max_wait_seconds: Annotated[float, Field(ge=0, le=604800)] = 600.0
    #: a queued delivery published this long ago and still queued is published again
    republish_after_seconds: Annotated[float, Field(ge=5, le=86400)] = 300.0
    #: worker threads per `safebot worker` process (each moves one batch at a time)
    worker_threads: Annotated[int, Field(ge=1, le=64)] = 4

    def broker(self) -> str | None:
        return os.environ.get(BROKER_ENV) or self.broker_url

    def redis(self) -> str | None:
        return os.environ.get(REDIS_ENV) or self.redis_url
