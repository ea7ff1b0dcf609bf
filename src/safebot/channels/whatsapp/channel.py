"""The WhatsApp channel of one server: its config, secrets, inbox, Graph client and worker.

Built by the server from ``bot.config.channels.whatsapp`` and the secrets; when either is
missing the channel still exists, its routes answer 503 saying what is missing, and no
worker runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from safebot.channels.whatsapp.config import WhatsAppConfig, WhatsAppSecrets, load_secrets
from safebot.channels.whatsapp.graph import GraphClient
from safebot.channels.whatsapp.inbox import Inbox
from safebot.channels.whatsapp.worker import WhatsAppWorker
from safebot.serve.engine_hooks import conversation_ref, message_ref
from safebot.serve.responses import Unavailable

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot
    from safebot.serve.metrics import Metrics
    from safebot.serve.settings import ServeSettings

__all__ = ["WhatsAppChannel", "whatsapp_config"]

log = logging.getLogger("safebot.channels.whatsapp")


def whatsapp_config(bot: Bot) -> WhatsAppConfig | None:
    channels = getattr(bot.config, "channels", None)
    return getattr(channels, "whatsapp", None)


class WhatsAppChannel:
    def __init__(
        self,
        bot: Bot,
        settings: ServeSettings,
        metrics: Metrics,
        *,
        environ: Mapping[str, str] | None = None,
        graph_transport: Any = None,
    ) -> None:
        self.metrics = metrics
        self.config = whatsapp_config(bot)
        self.secrets: WhatsAppSecrets | None = None
        self.problem: str | None = None
        self.worker: WhatsAppWorker
        if self.config is None:
            self.problem = "the WhatsApp channel is not configured (no channels: whatsapp: block)"
        else:
            self.secrets, problems = load_secrets(environ)
            if problems:
                self.problem = "the WhatsApp channel is not configured: " + "; ".join(problems)
        # Notifications (issue 10): statuses and replies to alerts reach the deliveries too.
        from safebot.notify import notifier_for
        from safebot.notify.whatsapp import NotifyHooks

        hooks = NotifyHooks(notifier_for(bot), lambda wamid: message_ref(bot, "whatsapp", wamid))
        self.inbox = Inbox(
            bot.store,
            conversation_ref=lambda external: conversation_ref(bot, external),
            message_ref=lambda wamid: message_ref(bot, "whatsapp", wamid),
            phone_number_id=self.config.phone_number_id if self.config else None,
            notify_hooks=hooks,
        )
        self.graph: GraphClient | None = None
        if self.ready:
            assert self.config is not None and self.secrets is not None
            self.graph = GraphClient.from_config(
                self.config, self.secrets.access_token, transport=graph_transport,
                on_attempt=lambda outcome: metrics.graph_requests.labels(outcome).inc(),
            )
            self.worker = WhatsAppWorker(
                bot, self.inbox, self.graph,
                message_ref=lambda wamid: message_ref(bot, "whatsapp", wamid),
                unsupported_reply=self.config.unsupported_reply, metrics=metrics,
                parallel=settings.whatsapp_parallel, lease_seconds=settings.whatsapp_lease_seconds,
                poll_seconds=settings.whatsapp_poll_seconds, max_attempts=settings.whatsapp_max_attempts,
                notify_hooks=hooks,
            )

    @property
    def ready(self) -> bool:
        return self.problem is None

    def require(self) -> WhatsAppSecrets:
        """The secrets, or Unavailable (503) naming what is missing (never a value)."""
        if self.problem is not None or self.secrets is None:
            raise Unavailable(self.problem or "the WhatsApp channel is not configured")
        return self.secrets

    def start(self) -> None:
        if self.ready:
            self.worker.start()
        else:
            log.info("%s; /webhooks/whatsapp answers 503", self.problem)

    async def stop(self, timeout: float) -> None:
        if self.ready:
            await self.worker.stop(timeout)
        if self.graph is not None:
            await self.graph.aclose()
