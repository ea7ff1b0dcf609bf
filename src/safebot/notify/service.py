"""The notifications of one bot: templates, the outbox, consent, the sender and the broker.

Everything else (``Bot.notify``, ``safebot notify``, ``POST /v1/notifications``, ``safebot
worker``, the WhatsApp hooks) goes through a :class:`Notifier`.

>>> notifier = Notifier(Bot.load("examples/bank"))                           # doctest: +SKIP
>>> await notifier.notify(Recipient("+16505550123"), "fraud_alert",
...                       {"amount": "$249.00", "merchant": "Chipotle", "card": "4242"},
...                       idempotency_key="alert-9f2c")                      # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from sqlalchemy import func, select

from safebot.errors import ChannelError, ConfigError
from safebot.notify import consent as consent_rules
from safebot.notify.outbox import Enqueued, Outbox, Recipient, Refs, normalise_address
from safebot.notify.templates import Catalog, ParamError, load_templates
from safebot.stores._notify_schema import (
    ConsentRecordRow,
    DeliveryRow,
    ReplyLinkRow,
    SuppressionRow,
)

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot
    from safebot.engine.config import BotConfig
    from safebot.notify.broker import NotifyBroker
    from safebot.notify.sender import Sender
    from safebot.redaction.redactor import Redactor
    from safebot.stores import SqlStore

__all__ = ["InboundAction", "Notifier", "NotifyEnv", "NotifyResult", "worker_env"]

log = logging.getLogger("safebot.notify")


@dataclass(frozen=True)
class NotifyEnv:
    """What notifications need of a bot. A worker builds it without the models
    (:func:`worker_env`: no policy, spaCy or classifier), so it starts in a second."""

    bot_dir: Path
    config: BotConfig
    store: SqlStore
    #: the bot's keyed hash of an id (``Redactor.conversation_ref``), namespace second
    keyed: Callable[[str, str], str]
    #: only to queue: text parameters are given their customer rendering
    redactor: Redactor | None = None

    @classmethod
    def from_bot(cls, bot: Bot) -> NotifyEnv:
        redactor = bot.redactor
        return cls(bot.bot_dir, bot.config, bot.store, lambda v, ns: redactor.conversation_ref(v, namespace=ns), redactor)

    def conversation_ref(self, external_id: str) -> str:
        return self.keyed(external_id, "conversation")

    def message_ref(self, wamid: str) -> str:
        # The WhatsApp channel's hash of a platform message id (safebot.serve.engine_hooks.message_ref).
        return self.conversation_ref(f"whatsapp-message:{wamid}")


class _IdsKeyOnly:
    """Enough of a Redactor for :meth:`Redactor.conversation_ref` (which reads only this key)."""

    def __init__(self, key: bytes) -> None:
        self._ids_key = key

    def __repr__(self) -> str:
        return "_IdsKeyOnly(***)"


def worker_env(bot_dir: str | Path) -> NotifyEnv:
    """A :class:`NotifyEnv` from bot.yaml and the key provider alone (``safebot worker``)."""
    from safebot.engine.config import load_bot_config
    from safebot.keys import provider_for
    from safebot.redaction.redactor import Redactor
    from safebot.stores import SqlStore
    from safebot.stores.vault import KeyRing

    bot_dir = Path(bot_dir)
    if not (bot_dir / "bot.yaml").exists():
        raise ConfigError("not a bot directory (no bot.yaml)", path=str(bot_dir))
    config = load_bot_config(bot_dir)
    keys = provider_for(bot_dir, directory=config.keys.directory, factory=config.keys.provider)
    store = SqlStore.for_bot_dir(bot_dir, url=config.store.url, schema=config.store.schema_name,
                                 keyring=KeyRing(keys.key("master")))
    ids = _IdsKeyOnly(keys.key("ids"))

    def keyed(value: str, namespace: str) -> str:
        return Redactor.conversation_ref(ids, value, namespace=namespace)  # type: ignore[arg-type]

    return NotifyEnv(bot_dir, config, store, keyed)


@dataclass(frozen=True)
class NotifyResult:
    """A queued notification: its id, its deliveries, and whether it repeated an earlier one."""

    notification_id: str
    delivery_ids: tuple[int, ...]
    duplicate: bool
    rejected: tuple[tuple[int, str], ...] = ()
    repeated: int = 0

    @property
    def delivery_id(self) -> int | None:
        return self.delivery_ids[0] if self.delivery_ids else None


@dataclass(frozen=True)
class InboundAction:
    """What the notifications layer makes of an inbound message before any turn runs."""

    #: replies to send instead of running a turn (an opt-out's confirmation); None: run the turn
    replies: tuple[str, ...] | None
    #: slots for the turn (``notification``, ``notification_ref``) when it answers an alert
    slots: Mapping[str, str]


class Notifier:
    """One bot's notifications (thread-safe)."""

    def __init__(self, env: NotifyEnv) -> None:
        self.env = env
        self.config = env.config.notifications
        policy = env.redactor.policy if env.redactor is not None else None
        self.catalog: Catalog = load_templates(env.bot_dir / self.config.templates, policy)
        self.outbox = Outbox(env.store, Refs(env.conversation_ref, env.keyed))
        self._broker: NotifyBroker | None = None
        self._sender: Sender | None = None
        self._lock = threading.RLock()  # sender() asks for broker() while holding it
        self._drainer: threading.Thread | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()

    def __repr__(self) -> str:
        return f"Notifier(templates={len(self.catalog.templates)})"

    # -- queueing -------------------------------------------------------------------------------
    def _render_text(self, text: str) -> str:
        """A free-text parameter as the customer rendering shows it (fail closed)."""
        redactor = self.env.redactor
        if redactor is None:
            raise ParamError("text parameters can only be queued by a process with the bot's policy")
        rendered = redactor.render(redactor.analyze(text), "customer")
        if rendered.blocked:
            raise ParamError("a text parameter could not be checked by the redaction policy")
        return rendered.text

    def enqueue(
        self, template: str, recipients: Iterable[Recipient], *, idempotency_key: str,
        params: Mapping[str, object] | None = None, requested_by: str = "python",
        on_progress: Callable[[int], None] | None = None, publish: bool = True,
    ) -> NotifyResult:
        """Queue (blocking): the request and its deliveries in one transaction, then the ids to
        the broker. Without a broker the ids wait in the outbox for :meth:`drain`."""
        t = self.catalog.get(template)
        to_broker = publish and self.broker() is not None
        done: Enqueued = self.outbox.enqueue(
            self.catalog, t, idempotency_key, recipients, params=params, requested_by=requested_by,
            render_text=self._render_text, on_progress=on_progress, published=to_broker,
        )
        if to_broker and done.delivery_ids:
            self.publish_new(done.delivery_ids, stamped=True)
        return NotifyResult(done.notification_id, tuple(done.delivery_ids), done.duplicate,
                            tuple(done.rejected), done.repeated)

    async def notify(
        self, recipient: Recipient | str, template: str, params: Mapping[str, object], *, idempotency_key: str,
        requested_by: str = "python",
    ) -> NotifyResult:
        """One alert to one customer. The same ``idempotency_key`` again never sends twice."""
        r = recipient if isinstance(recipient, Recipient) else Recipient(recipient)
        result = await anyio.to_thread.run_sync(
            lambda: self.enqueue(template, [r], idempotency_key=idempotency_key, params=params,
                                 requested_by=requested_by))
        if result.rejected:
            raise ParamError(result.rejected[0][1])
        return result

    async def notify_many(
        self, template: str, recipients: Iterable[Recipient], *, idempotency_key: str,
        params: Mapping[str, object] | None = None, requested_by: str = "python",
    ) -> NotifyResult:
        """One template to many recipients (a mass send), queued in one transaction."""
        items = list(recipients)
        return await anyio.to_thread.run_sync(
            lambda: self.enqueue(template, items, idempotency_key=idempotency_key, params=params,
                                 requested_by=requested_by))

    # -- the broker -----------------------------------------------------------------------------
    def broker(self) -> NotifyBroker | None:
        url = self.config.broker()
        if url is None:
            return None
        with self._lock:
            if self._broker is None:
                from safebot.notify.broker import NotifyBroker

                self._broker = NotifyBroker(url, self.config.queue)
            return self._broker

    def publish_new(self, ids: Sequence[int], *, stamped: bool = False) -> None:
        """Hand fresh ids to the broker in messages of ``batch_size``. ``stamped``: the rows
        were written as published (:meth:`enqueue`), so a relay running meanwhile leaves them
        alone; otherwise they are stamped after publishing (a crash in between: the relay
        publishes the unstamped ones)."""
        broker = self.broker()
        assert broker is not None
        size = self.config.batch_size
        done: list[int] = []
        for start in range(0, len(ids), size):
            chunk = list(ids[start:start + size])
            broker.publish(chunk)
            if stamped:
                continue
            done += chunk
            if len(done) >= 20 * size:
                self.outbox.mark_published(done)
                done = []
        if done:
            self.outbox.mark_published(done)

    def relay(self, *, limit: int = 5000, stale: bool = True) -> int:
        """Publish what the outbox holds unpublished and, if ``stale``, what was published
        long ago and is still waiting, but only while the broker's queues are empty: a row
        still queued behind a long mass send (100,000 at 80/s take 21 minutes) is in the
        queue, not lost, and publishing it again would only make workers reserve rate-limit
        slots for messages they then skip. What is left when the queues are empty was lost
        (a publisher that died between its commit and its publish, a purged queue)."""
        broker = self.broker()
        if broker is None:
            return 0
        republish_after: float | None = None
        if stale:
            try:
                counts = broker.counts()
                if counts["queued"] == 0 and counts["delayed"] == 0:
                    republish_after = self.config.republish_after_seconds
            except Exception as exc:  # noqa: BLE001 - cannot tell: publish only the never-published
                log.warning("broker queue counts unavailable (%s)", type(exc).__name__)
        ids = self.outbox.claim_unpublished(limit, republish_after=republish_after)
        for start in range(0, len(ids), self.config.batch_size):
            broker.publish(ids[start:start + self.config.batch_size])
        return len(ids)

    # -- sending --------------------------------------------------------------------------------
    def sender(self, *, graph_transport: Any = None, environ: Mapping[str, str] | None = None) -> Sender:
        """This process's sender (built once): needs ``channels: whatsapp:`` and its secrets."""
        with self._lock:
            if self._sender is not None:
                return self._sender
            from safebot.channels.whatsapp.config import load_secrets
            from safebot.channels.whatsapp.graph import GraphClient
            from safebot.notify.ratelimit import make_limiter
            from safebot.notify.sender import Sender

            wa = self.env.config.channels.whatsapp
            if wa is None:
                raise ConfigError("sending notifications needs a channels: whatsapp: block in bot.yaml")
            secrets, problems = load_secrets(environ)
            if secrets is None:
                raise ChannelError("the WhatsApp channel is not configured: " + "; ".join(problems), status=503)
            token = secrets.access_token
            limiter = make_limiter(self.config.redis(), per_second=self.config.per_number_per_second,
                                   recipient_gap=self.config.per_recipient_seconds, headroom=self.config.rate_headroom)

            def graph() -> GraphClient:
                # One try per call: the sender retries by requeueing, so limits stay shared.
                return GraphClient(base_url=wa.graph_base_url, api_version=wa.api_version,
                                   phone_number_id=wa.phone_number_id, access_token=token, timeout=wa.timeout,
                                   max_attempts=1, transport=graph_transport,
                                   # aiohttp: a tenth of httpx's CPU per request (graph.py)
                                   http="httpx" if graph_transport is not None else "aiohttp")

            broker = self.broker()
            self._sender = Sender(
                self.outbox, self.catalog, limiter, graph, self.config, phone_number_id=wa.phone_number_id,
                message_ref=self.env.message_ref,
                publish=broker.publish if broker is not None else None, send_timeout=wa.timeout,
            )
            return self._sender

    def drain(self, *, notification_id: str | None = None, timeout: float = 60.0, idle_exit: bool = True,
              on_progress: Callable[[dict[str, int]], None] | None = None, stop: threading.Event | None = None) -> dict[str, int]:
        """Send from the outbox in this process (no broker): until nothing is left to send
        now (``idle_exit``), ``timeout`` passes or ``stop`` is set. Returns the state counts."""
        sender = self.sender()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
            sender.reconcile()
            ids = self.outbox.claim_unpublished(self.config.batch_size, republish_after=0.0)
            if ids:
                sender.process(ids)
            if on_progress is not None:
                on_progress(self.outbox.counts(notification_id))
            if not ids:
                if idle_exit and not self._waiting(notification_id):
                    break
                time.sleep(0.05 if idle_exit else 0.5)
        return self.outbox.counts(notification_id)

    def wake_drain(self) -> None:
        """No broker: send from the outbox on a background thread of this process (started on
        first use; ``safebot serve`` calls this after each POST /v1/notifications)."""
        with self._lock:
            if self._drainer is None:
                self._drainer = threading.Thread(target=self._drain_forever, name="safebot-notify-drain", daemon=True)
                self._drainer.start()
        self._wake.set()

    def _drain_forever(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                self.drain(timeout=300.0, stop=self._stop)
            except Exception as exc:  # noqa: BLE001 - the channel or store briefly unavailable
                log.error("in-process notification drain failed (%s)", type(exc).__name__)
                self._stop.wait(2.0)

    def _waiting(self, notification_id: str | None) -> bool:
        """Deliveries that will become sendable later (retries, pair-rate waits)."""
        d = DeliveryRow
        stmt = select(func.count()).select_from(d).where(
            (d.state == "queued") | ((d.state == "sending") & d.lease_owner.is_(None)))
        if notification_id is not None:
            stmt = stmt.where(d.notification_id == notification_id)
        with self.outbox.read() as conn:
            return bool(conn.execute(stmt).scalar_one())

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._drainer is not None:
            self._drainer.join(timeout=10)
            self._drainer = None
        if self._sender is not None:
            self._sender.close()
            self._sender = None
        if self._broker is not None:
            self._broker.close()
            self._broker = None

    # -- consent --------------------------------------------------------------------------------
    def contact_ref(self, address: str, channel: str = "whatsapp") -> str:
        return self.outbox.refs.contact(channel, normalise_address(channel, address))

    def grant_consent(
        self, address: str, purpose: str, *, method: str, channel: str = "whatsapp", lawful_basis: str = "consent",
        shown_version: str | None = None, shown_text: str | None = None,
    ) -> int:
        """Record that the customer at ``address`` agreed (or another basis applies)."""
        ref = self.contact_ref(address, channel)
        with self.outbox.tx() as conn:
            return consent_rules.grant(conn, ref, channel, purpose, lawful_basis=lawful_basis, method=method,
                                       shown_version=shown_version, shown_text=shown_text)

    def suppress(self, *, address: str | None = None, customer_id: str | None = None, channel: str = "*",
                 purpose: str = "*", reason: str = "manual") -> bool:
        """Put an address (or a customer, on every channel) on the suppression list."""
        if (address is None) == (customer_id is None):
            raise ValueError("give an address or a customer id")
        subject = (self.contact_ref(address) if address is not None
                   else self.outbox.refs.customer(str(customer_id)))
        with self.outbox.tx() as conn:
            return consent_rules.suppress(conn, subject, channel, purpose, reason=reason)

    # -- inbound (the WhatsApp channel calls these) ----------------------------------------------
    def link_reply(self, conn: Any, *, message_ref: str, conversation_ref: str, payload: str | None,
                   context_ref: str | None) -> int | None:
        """Tie an inbound message to the delivery it answers (a quick-reply payload, or the
        message it quotes), if that delivery went to the same contact. In the webhook's
        transaction. Returns the delivery id."""
        from safebot.notify.sender import callback_id
        from safebot.stores._uow import insert_ignore

        d = DeliveryRow
        parsed = callback_id(payload)
        row = None
        if parsed is not None:
            row = conn.execute(select(d.id).where(d.id == parsed[0], d.contact_ref == conversation_ref)).first()
        if row is None and context_ref is not None:
            row = conn.execute(select(d.id).where(d.message_ref == context_ref, d.contact_ref == conversation_ref)).first()
        if row is None:
            return None
        insert_ignore(conn, ReplyLinkRow.__table__, {  # type: ignore[arg-type]
            "message_ref": message_ref, "delivery_id": int(row.id),
            "button": parsed[1] if parsed is not None else None,
        })
        return int(row.id)

    def before_turn(self, *, conversation_ref: str, message_ref: str | None, text: str, form_open: bool) -> InboundAction:
        """An opt-out or START is handled here (with one confirmation, and no turn); a reply to
        an alert gets slots naming it. Blocking."""
        d = DeliveryRow
        with self.outbox.tx() as conn:
            linked = None
            if message_ref is not None:
                linked = conn.execute(
                    select(d.id, d.template, d.purpose).join(ReplyLinkRow, ReplyLinkRow.delivery_id == d.id)
                    .where(ReplyLinkRow.message_ref == message_ref)
                ).first()
            keyword = consent_rules.classify_keyword(text)
            if keyword == "stop_outside_forms":
                keyword = None if form_open else "stop"
            if keyword == "stop":
                change = consent_rules.opt_out(conn, conversation_ref, "whatsapp",
                                               linked.purpose if linked is not None else None, source_ref=message_ref)
            elif keyword == "start":
                change = consent_rules.lift_opt_out(conn, conversation_ref, "whatsapp", source_ref=message_ref)
            else:
                slots = {} if linked is None else {"notification": str(linked.template),
                                                    "notification_ref": str(linked.id)}
                return InboundAction(None, slots)
        if not change.changed:
            return InboundAction((), {})  # already in that state: no second confirmation
        what = ("messages" if consent_rules.ANY in change.purposes
                else " and ".join(self.catalog.label(p) for p in change.purposes))
        texts = self.catalog.opt_out
        reply = (texts.stopped if change.keyword == "stop" else texts.started).replace("{what}", what)
        log.info("inbound %s recorded (%d purposes)", change.keyword, len(change.purposes))
        return InboundAction((reply,), {})

    # -- reading --------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """Counts by state, what is stuck and why (error codes), and the broker's queues."""
        d = DeliveryRow
        t = time.time()
        with self.outbox.read() as conn:
            states = {str(k): int(v) for k, v in conn.execute(select(d.state, func.count()).group_by(d.state)).all()}
            errors = [{"code": r.error_code, "title": r.error_title, "state": r.state, "count": int(r.n)}
                      for r in conn.execute(select(d.state, d.error_code, d.error_title, func.count().label("n"))
                                            .where(d.error_title.is_not(None), d.state.in_(("failed", "sending", "queued")))
                                            .group_by(d.state, d.error_code, d.error_title)
                                            .order_by(func.count().desc()).limit(20))]
            stuck_sending = int(conn.execute(select(func.count()).select_from(d).where(
                d.state == "sending", d.lease_owner.is_not(None), d.lease_until < t)).scalar_one())
            waiting_retry = int(conn.execute(select(func.count()).select_from(d).where(
                d.state == "sending", d.lease_owner.is_(None))).scalar_one())
            unpublished = int(conn.execute(select(func.count()).select_from(d).where(
                d.state == "queued", d.published_at.is_(None))).scalar_one())
            stale = int(conn.execute(select(func.count()).select_from(d).where(
                d.state == "queued", d.published_at < t - self.config.republish_after_seconds)).scalar_one())
        out: dict[str, Any] = {"states": states, "errors": errors, "stuck_sending": stuck_sending,
                               "waiting_retry": waiting_retry, "unpublished": unpublished,
                               "queued_not_picked_up": stale, "broker": None}
        broker = self.broker()
        if broker is not None:
            try:
                out["broker"] = broker.counts()
            except Exception as exc:  # noqa: BLE001 - a broker that is down is a status too
                out["broker"] = {"error": f"unreachable ({type(exc).__name__})"}
        return out

    def evidence(self, address: str, channel: str = "whatsapp") -> dict[str, Any]:
        """What a customer agreed to and when, what was sent to them, when it was delivered and
        read: the export an airline (EU 261/2004) or a bank (consent) is asked for."""
        ref = self.contact_ref(address, channel)
        c, s, d = ConsentRecordRow, SuppressionRow, DeliveryRow
        with self.outbox.read() as conn:
            consents = [dict(r._mapping) for r in conn.execute(
                select(c.id, c.channel, c.purpose, c.lawful_basis, c.method, c.shown_version, c.shown_text,
                       c.captured_at, c.revoked_at, c.revoked_how).where(c.contact_ref == ref).order_by(c.id))]
            suppressions = [dict(r._mapping) for r in conn.execute(
                select(s.channel, s.purpose, s.reason, s.created_at, s.lifted_at).where(s.subject_ref == ref)
                .order_by(s.id))]
            rows = conn.execute(
                select(d.id, d.notification_id, d.key_ref, d.template, d.category, d.purpose, d.lawful_basis,
                       d.consent_id, d.state, d.params, d.created_at, d.sending_at, d.sent_at, d.delivered_at,
                       d.read_at, d.finished_at, d.error_code, d.error_title, d.pricing_category)
                .where(d.contact_ref == ref).order_by(d.id)).all()
            deliveries = []
            for r in rows:
                params = self.outbox.params(conn, ref, r.key_ref, r.params)
                try:
                    body = self.catalog.get(r.template).render(params) if params is not None else None
                except ConfigError:
                    body = None
                item = {k: v for k, v in r._mapping.items() if k not in ("params", "key_ref")}
                item["text"] = body
                deliveries.append(item)
            replies = [{"delivery_id": int(r.delivery_id), "button": r.button, "at": r.created_at} for r in conn.execute(
                select(ReplyLinkRow.delivery_id, ReplyLinkRow.button, ReplyLinkRow.created_at)
                .join(d, d.id == ReplyLinkRow.delivery_id).where(d.contact_ref == ref).order_by(ReplyLinkRow.created_at))]
            address_row = self.outbox.address(conn, ref)
        masked = None if address_row is None else "*" * (len(address_row.reveal()) - 4) + address_row.reveal()[-4:]
        return {"contact": {"channel": channel, "address": masked}, "consents": consents,
                "suppressions": suppressions, "deliveries": deliveries, "replies": replies}
