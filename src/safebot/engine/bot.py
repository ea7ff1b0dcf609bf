"""The composition root: a bot directory loaded into its parts, built once; ``handle`` runs a turn.

``Bot.load(dir)`` reads bot.yaml, the policy, the NLU data and model, the store and the
handlers module, checks their wiring (a handler naming an unknown intent, form entity or a
missing verification fails here, not mid-conversation) and builds the sinks. The turn itself
is :func:`safebot.engine.turn.run_turn`; the dialogue rules are :mod:`safebot.engine.dialogue`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from safebot.engine.config import BotConfig, load_bot_config
from safebot.engine.dialogue import DialogueSettings, Understanding
from safebot.engine.handlers import Routes, SlotValue
from safebot.engine.loader import load_routes
from safebot.engine.locks import ConversationLocks
from safebot.engine.state import ConversationState
from safebot.engine.turn import TurnResult, run_turn
from safebot.errors import ConfigError
from safebot.events import RedactedEvent, Sink
from safebot.redaction.policy import ALWAYS_DROPPED, Destination

if TYPE_CHECKING:  # pragma: no cover
    from safebot.nlu import IntentClassifier
    from safebot.nlu.entities import EntityExtractor
    from safebot.redaction.redactor import Redactor
    from safebot.redaction.session import Inbound
    from safebot.stores import SqlStore, UnitOfWork

__all__ = ["Bot", "Limits", "TurnResult"]

log = logging.getLogger("safebot.engine")


@dataclass(frozen=True)
class Limits:
    """Input limits: a message longer than ``max_message_chars`` is refused at once."""

    max_message_chars: int = 4096

    def check(self, text: str) -> str | None:
        """The response key for a message refused before anything sees it, or None."""
        if not isinstance(text, str) or not text.strip():
            return "empty"
        if len(text) > self.max_message_chars:
            return "too_long"
        return None


class Bot:
    """A bot directory, loaded.

    >>> bot = Bot.load("examples/bank")                         # doctest: +SKIP
    >>> bot.handle_sync("c1", "hi").replies                      # doctest: +SKIP
    ('Hi, welcome to Example Bank! ...',)
    """

    def __init__(
        self,
        bot_dir: Path,
        config: BotConfig,
        redactor: Redactor,
        classifier: IntentClassifier,
        extractor: EntityExtractor,
        store: SqlStore,
        routes: Routes,
        sinks: Sequence[Sink] = (),
        *,
        locks: ConversationLocks | None = None,
    ) -> None:
        from safebot.stores.leases import StoreLeases
        from safebot.stores.redis_leases import RedisLeases

        self.bot_dir = bot_dir
        self.config = config
        self.redactor = redactor
        self.classifier = classifier
        self.extractor = extractor
        self.store = store
        self.routes = routes
        self.sinks = list(sinks)
        self.settings = DialogueSettings(
            max_fallbacks=config.dialogue.max_fallbacks,
            interrupt_confidence=config.dialogue.interrupt_confidence,
            min_confidence=config.dialogue.min_confidence,
            responses={**routes.responses, **config.responses},
        )
        self.limits = Limits(max_message_chars=config.limits.max_message_chars)
        self.locks = locks if locks is not None else ConversationLocks(
            RedisLeases.for_store(config.store.redis_url, store, ttl=config.store.lease_ttl_s) if config.store.redis_url
            else StoreLeases(store, ttl=config.store.lease_ttl_s))

    def __repr__(self) -> str:
        return f"Bot({self.config.name!r})"

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        bot_dir: str | Path,
        *,
        store_url: str | None = None,
        sinks: Sequence[Sink] = (),
        train_if_missing: bool = True,
        exporters: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> Bot:
        """Load ``bot_dir``: bot.yaml, policy, NLU model (trained first if missing or stale),
        store, handlers and, unless ``exporters=False``, the configured analytics exporters and
        the hand-off queue. ``progress`` is called with each stage's name before it starts
        (the command line shows them on a terminal); it never receives customer data."""
        from safebot.keys import provider_for
        from safebot.nlu.entities import EntityExtractor
        from safebot.nlu.training import load_or_train
        from safebot.nlu.training_data import load_nlu_yaml
        from safebot.redaction.policy import load_policy
        from safebot.redaction.redactor import Redactor
        from safebot.stores import SqlStore
        from safebot.stores.vault import KeyRing

        stage = progress or _no_progress
        bot_dir = Path(bot_dir)
        stage("reading bot.yaml and the policy")
        if not (bot_dir / "bot.yaml").exists():
            raise ConfigError("not a bot directory (no bot.yaml)", path=str(bot_dir))
        config = load_bot_config(bot_dir)
        policy = load_policy(bot_dir / config.policy)
        data = load_nlu_yaml(bot_dir / config.nlu.data)
        stage("loading the handlers")
        routes = load_routes(bot_dir, config.handlers)
        known_entities = frozenset(policy.entities) | _nlu_entities(data)
        routes.check_wiring(frozenset(data.intents), known_entities, str(bot_dir / config.handlers))
        keys = provider_for(bot_dir, directory=config.keys.directory, factory=config.keys.provider)
        # The two slow parts, the intent model and the redaction models (Presidio, spaCy), load
        # side by side: much of it is native code that releases the GIL.
        stage("loading the intent and redaction models")
        with concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="safebot-load") as pool:
            classifier_f = pool.submit(load_or_train, bot_dir, config, train_if_missing=train_if_missing)
            redactor_f = pool.submit(Redactor, policy, hmac_key=keys.key("analytics"), ids_key=keys.key("ids"))
            stage("opening the store")
            try:
                store = SqlStore.for_bot_dir(
                    bot_dir, url=store_url or config.store.url,
                    schema=None if store_url else config.store.schema_name, keyring=KeyRing(keys.key("master")),
                )
            except BaseException:
                classifier_f.cancel()
                redactor_f.cancel()
                raise
            try:
                classifier = classifier_f.result()
                redactor = redactor_f.result()
            except BaseException:
                store.close()
                raise
        all_sinks = list(sinks)
        if exporters:
            all_sinks += [*_analytics_sinks(bot_dir, config, store), _handoff_queue(bot_dir)]
        return cls(bot_dir, config, redactor, classifier, EntityExtractor.from_training_data(data), store, routes, all_sinks)

    # -- turns --------------------------------------------------------------------------------
    async def handle(
        self, conversation_id: str, text: str, *, channel: str = "api", slots: Mapping[str, SlotValue] | None = None,
        extra_writes: Sequence[Callable[[UnitOfWork], None]] = (),
    ) -> TurnResult:
        """Run one customer turn and return what the customer sees.

        ``conversation_id`` is the channel's own id (it may be a phone number): the store only
        ever keeps :meth:`conversation_ref` of it. ``slots`` are set before the dialogue runs,
        for what the channel knows about the message (a reply to notification X): each value
        is checked by the redaction session like any slot. ``extra_writes`` run inside the turn's
        own transaction (a channel marking its inbound message done, queueing the replies), so
        they commit if and only if the turn does.
        """
        out = await run_turn(self, conversation_id, text, channel, slots=slots, extra_writes=extra_writes)
        if out.events:
            await anyio.to_thread.run_sync(self._emit, out.events)
        return out.result

    def handle_sync(
        self, conversation_id: str, text: str, *, channel: str = "api", slots: Mapping[str, SlotValue] | None = None,
        extra_writes: Sequence[Callable[[UnitOfWork], None]] = (),
    ) -> TurnResult:
        """``handle`` for scripts and tests without an event loop."""
        return asyncio.run(self.handle(conversation_id, text, channel=channel, slots=slots, extra_writes=extra_writes))

    def add_sink(self, sink: Sink) -> None:
        """Send this turn's events for ``sink.destination`` to ``sink`` too (exporters, metrics)."""
        if not isinstance(sink, Sink):
            raise TypeError("a sink needs a destination, emit() and close()")
        self.sinks.append(sink)

    def understand(self, inbound: Inbound) -> Understanding:
        """Classify the message's ``nlu`` rendering; a blocked message is never classified."""
        if inbound.blocked:
            return Understanding("", None, 0.0, blocked=True)
        text = inbound.text("nlu").text
        prediction = self.classifier.predict(text)
        return Understanding(
            text, prediction.intent, float(prediction.confidence), tuple(self.extractor.extract(text)),
            dropped=tuple(sorted(inbound.entity_types & ALWAYS_DROPPED)),
        )

    def conversation_ref(self, conversation_id: str) -> str:
        """The id the store keeps for a channel's conversation id: a keyed hash."""
        return self.redactor.conversation_ref(conversation_id)

    # -- notifications (issue 10: thin delegates to safebot.notify) ------------------------------
    async def notify(
        self, customer: Any, template: str, params: Mapping[str, object], *, idempotency_key: str,
        requested_by: str = "python",
    ) -> Any:
        """Queue one alert (``customer``: a :class:`safebot.notify.Recipient` or a WhatsApp
        number) with a template from notifications.yaml; the same key twice never sends twice.

        >>> await bot.notify("+16505550123", "fraud_alert", {"amount": "$249.00", "merchant": "Chipotle",
        ...                  "card": "4242"}, idempotency_key="alert-1")      # doctest: +SKIP
        """
        from safebot.notify import notifier_for

        return await notifier_for(self).notify(customer, template, params, idempotency_key=idempotency_key,
                                               requested_by=requested_by)

    async def notify_many(
        self, template: str, recipients: Any, *, idempotency_key: str, params: Mapping[str, object] | None = None,
        requested_by: str = "python",
    ) -> Any:
        """Queue ``template`` to many :class:`safebot.notify.Recipient` in one transaction (a mass send)."""
        from safebot.notify import notifier_for

        return await notifier_for(self).notify_many(template, recipients, idempotency_key=idempotency_key,
                                                    params=params, requested_by=requested_by)

    # -- reading ------------------------------------------------------------------------------
    def state(self, conversation_id: str) -> ConversationState:
        """The stored state of a conversation (for tests and tools)."""
        from safebot.stores.conversations import load_conversation

        return ConversationState.from_json(load_conversation(self.store, self.conversation_ref(conversation_id)).state)

    tracker = state

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        """The stored (redacted) transcript of a conversation, oldest first."""
        return self.store.transcript(self.conversation_ref(conversation_id))

    def audit_log(self, conversation_id: str) -> list[dict[str, Any]]:
        """The audit records of a conversation (no values in any of them)."""
        return self.store.audit_log(self.conversation_ref(conversation_id))

    def forget_customer(self, customer_id: str) -> int:
        """Right to erasure by crypto-shredding: delete the data keys of every conversation
        linked to ``customer_id`` at verification, and of every conversation that held one of
        the identifiers they vaulted (verified or not). Vault values become unreadable; the
        redacted transcript stays. Returns the number of vault values shredded."""
        _, shredded = self.store.erase_customer(f"customer:{customer_id}")
        return shredded

    def exporter_files(self) -> list[Path]:
        return [self.bot_dir / a.path for a in self.config.analytics if a.type == "jsonl" and a.path]

    def _emit(self, events: Sequence[RedactedEvent]) -> None:
        for sink in self.sinks:
            for event in events:
                if event.destination != sink.destination:
                    continue
                try:
                    sink.emit(event)
                except Exception as exc:  # noqa: BLE001 - a broken exporter must not break the turn
                    log.error("sink %s failed (%s)", type(sink).__name__, type(exc).__name__)

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:  # noqa: BLE001
                log.error("closing sink %s failed", type(sink).__name__)
        self.redactor.close()
        self.store.close()


def _no_progress(stage: str) -> None:
    pass


def _nlu_entities(data: Any) -> frozenset[str]:
    """Entity names nlu.yml can produce: regex and lookup tables, annotated examples."""
    names = {r.name for r in data.regexes} | set(data.lookups)
    for example in getattr(data, "examples", ()):
        names |= {a.entity for a in getattr(example, "entities", ())}
    return frozenset(names)


def _analytics_sinks(bot_dir: Path, config: BotConfig, store: SqlStore) -> list[Sink]:
    from safebot.sinks import JsonlExporter, WebhookExporter

    out: list[Sink] = []
    for i, a in enumerate(config.analytics):
        if a.type == "jsonl":
            if not a.path:
                raise ConfigError("a jsonl exporter needs a path", path=str(bot_dir / "bot.yaml"), field=f"analytics[{i}].path")
            out.append(JsonlExporter(bot_dir / a.path))
        else:
            if not a.url:
                raise ConfigError("a webhook exporter needs a url", path=str(bot_dir / "bot.yaml"), field=f"analytics[{i}].url")
            # Failed deliveries wait in the store's outbox, so they survive a restart.
            out.append(WebhookExporter(a.url, timeout=a.timeout, store=store, name=f"webhook-{i}"))
    return out


def _handoff_queue(bot_dir: Path) -> Sink:
    """Hand-offs go to a JSON-lines queue in .safebot/ that an agent desk would read."""
    from safebot.sinks import JsonlExporter

    class HandoffQueue(JsonlExporter):
        destination: Destination = "agent"

    return HandoffQueue(bot_dir / ".safebot" / "handoffs.jsonl")
