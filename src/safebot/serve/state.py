"""What the routes share: the bot and the server's limits, counters and tables, built once
by :func:`safebot.serve.app.create_app`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio.to_thread

from safebot.errors import AuthError
from safebot.serve.auth import ApiKey, parse_bearer, verify_key
from safebot.serve.limits import RateLimiter, TurnSlots
from safebot.serve.metrics import Metrics
from safebot.serve.ordering import ConversationQueue
from safebot.serve.owners import Owners
from safebot.serve.responses import Forbidden, Throttled
from safebot.serve.settings import ServeSettings

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot

__all__ = ["ServerState"]


@dataclass
class ServerState:
    bot: Bot
    settings: ServeSettings
    metrics: Metrics
    max_message_chars: int
    owners: Owners = field(init=False)
    queue: ConversationQueue = field(default_factory=ConversationQueue)
    slots: TurnSlots = field(init=False)
    rate: RateLimiter = field(init=False)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.owners = Owners(self.bot.store)
        self.slots = TurnSlots(self.settings.max_concurrent_turns)
        self.rate = RateLimiter(per_minute=self.settings.rate_limit_per_minute, burst=self.settings.rate_limit_burst)

    async def authenticate(self, authorization: str | None, *, role: str) -> ApiKey:
        """The key behind an Authorization header, with ``role``, within its rate limit.

        401 for a missing, malformed, unknown, wrong or revoked key; 403 for another role;
        429 past the key's rate limit. Nothing is processed in any of these cases.
        """
        token = parse_bearer(authorization)
        key = await anyio.to_thread.run_sync(verify_key, self.bot.store, token)
        if key is None:
            raise AuthError("invalid or revoked API key")
        if key.role != role:
            raise Forbidden()
        wait = self.rate.acquire(key.id)
        if wait > 0:
            self.metrics.rejections.labels("rate_limited").inc()
            raise Throttled(RateLimiter.retry_after(wait))
        return key
