"""A loaded bot: redactor, NLU, store, routes and sinks, built once; ``handle`` runs a turn.

One turn follows the design's data path::

    raw text -> Redactor.analyze (fail closed) -> conversation tokens + vault
             -> NLU on the 'nlu' rendering -> dialogue -> handler(ctx)
             -> outbound redaction ('customer') -> events per destination -> sinks

Everything a turn writes (tracker, transcript, audit, vault) commits together.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safebot.engine.config import BotConfig, load_bot_config
from safebot.engine.handlers import Routes
from safebot.engine.loader import load_routes
from safebot.engine.tracker import Tracker
from safebot.errors import ConfigError
from safebot.events import RedactedEvent, Sink
from safebot.redaction.audit import AuditRecord
from safebot.redaction.policy import Destination

if TYPE_CHECKING:  # pragma: no cover
    from safebot.nlu import IntentClassifier
    from safebot.nlu.entities import EntityExtractor
    from safebot.redaction.redactor import Redactor
    from safebot.stores import SqlStore

__all__ = ["Bot", "TurnResult"]

log = logging.getLogger("safebot.engine")

# Audit records produced while a turn runs (by the redactor and by ctx.reveal) collect here.
_turn_audit: contextvars.ContextVar[list[AuditRecord] | None] = contextvars.ContextVar("_turn_audit", default=None)


def _collect_audit(record: AuditRecord) -> None:
    records = _turn_audit.get()
    if records is not None:
        records.append(record)


@dataclass(frozen=True)
class TurnResult:
    """What the customer sees for one turn, plus what the NLU decided."""

    replies: tuple[str, ...]
    intent: str | None
    confidence: float
    conversation_id: str
    blocked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"intent": self.intent, "confidence": round(self.confidence, 4), "replies": list(self.replies)}


class Bot:
    """A bot directory, loaded.

    >>> bot = Bot.load("examples/bank")                         # doctest: +SKIP
    >>> bot.handle_sync("c1", "hi").replies                      # doctest: +SKIP
    ('Hello! How can I help you today?',)
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
    ) -> None:
        self.bot_dir = bot_dir
        self.config = config
        self.redactor = redactor
        self.classifier = classifier
        self.extractor = extractor
        self.store = store
        self.routes = routes
        self.sinks = list(sinks)
        self._locks: dict[str, asyncio.Lock] = {}

    # -- loading ------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        bot_dir: str | Path,
        *,
        store_url: str | None = None,
        sinks: Sequence[Sink] = (),
        train_if_missing: bool = True,
    ) -> Bot:
        """Load ``bot_dir``: bot.yaml, policy, NLU model (trained first if missing or stale),
        store, handlers and configured analytics exporters."""
        from safebot.nlu.entities import EntityExtractor
        from safebot.nlu.training_data import load_nlu_yaml
        from safebot.redaction.policy import load_policy
        from safebot.redaction.redactor import Redactor
        from safebot.stores import SqlStore

        bot_dir = Path(bot_dir)
        if not (bot_dir / "bot.yaml").exists():
            raise ConfigError("not a bot directory (no bot.yaml)", path=str(bot_dir))
        config = load_bot_config(bot_dir)
        policy = load_policy(bot_dir / config.policy)
        data = load_nlu_yaml(bot_dir / config.nlu.data)
        classifier = load_or_train(bot_dir, config, train_if_missing=train_if_missing)
        store = SqlStore.for_bot_dir(bot_dir, url=store_url or config.store.url)
        redactor = Redactor(policy, audit=_collect_audit, hmac_key=analytics_key(bot_dir))
        routes = load_routes(bot_dir, config.handlers)
        all_sinks = list(sinks) + _analytics_sinks(bot_dir, config, store) + [_handoff_queue(bot_dir)]
        return cls(bot_dir, config, redactor, classifier, EntityExtractor.from_training_data(data), store, routes, all_sinks)

    # -- turns --------------------------------------------------------------------------------
    async def handle(self, conversation_id: str, text: str, *, channel: str = "api") -> TurnResult:
        """Run one customer turn and return what the customer sees."""
        from safebot.engine.turn import Turn

        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        async with lock:
            token = _turn_audit.set([])
            try:
                turn = Turn(self, conversation_id, text, channel)
                result, events = await turn.run(_turn_audit.get() or [])
                if turn.handed_off_now:
                    events.extend(self._agent_events(conversation_id, turn.tracker.turn))
            finally:
                _turn_audit.reset(token)
        self._emit(events)
        return result

    def _agent_events(self, cid: str, turn: int) -> list[RedactedEvent]:
        """The hand-off package: the conversation in the agent treatment, one event per line."""
        from safebot.engine.handoff import agent_view
        from safebot.redaction.types import _mint

        policy = self.redactor.policy
        with self.store.unit_of_work() as uow:
            rows = agent_view(
                self.store.transcript(cid), lambda tok: uow.vault_get(cid, tok), policy,
                self.redactor.hmac_key, uow.audit, cid,
            )
        return [
            RedactedEvent(
                "handoff", cid, turn, "agent",
                _mint(r["text"], "agent", policy.hash),
                data={"line": i, "speaker": r["kind"], "turn": r["turn"]},
            )
            for i, r in enumerate(rows)
        ]

    def tracker(self, conversation_id: str) -> Tracker:
        """The stored state of a conversation (for tests and tools)."""
        with self.store.unit_of_work() as uow:
            state = uow.get_tracker(conversation_id)
            version = uow.tracker_version(conversation_id)
        return Tracker.from_state(conversation_id, state, version)

    def forget_customer(self, customer_id: str) -> int:
        """Right to erasure by crypto-shredding: delete the data keys of every conversation
        linked to ``customer_id`` at verification. Vault values become unreadable; the
        redacted transcript stays. Returns the number of vault values shredded."""
        shredded = 0
        for cid in self.store.conversations(customer_key_id=f"customer:{customer_id}"):
            shredded += self.store.forget(f"conversation:{cid}")
        return shredded

    def exporter_files(self) -> list[Path]:
        return [self.bot_dir / a.path for a in self.config.analytics if a.type == "jsonl" and a.path]

    def handle_sync(self, conversation_id: str, text: str, *, channel: str = "api") -> TurnResult:
        """``handle`` for scripts and tests without an event loop."""
        return asyncio.run(self.handle(conversation_id, text, channel=channel))

    def _emit(self, events: Sequence[RedactedEvent]) -> None:
        for sink in self.sinks:
            for event in events:
                if event.destination != sink.destination:
                    continue
                try:
                    sink.emit(event)
                except Exception as exc:
                    log.error("sink %s failed (%s)", type(sink).__name__, type(exc).__name__)

    def close(self) -> None:
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                log.error("closing sink %s failed", type(sink).__name__)
        self.store.close()


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


def analytics_key(bot_dir: Path) -> bytes:
    """The HMAC key for the analytics destination: ``SAFEBOT_HMAC_KEY``, else a key file in
    BOT_DIR/.safebot/ created on first run (0600), so hashes join across restarts."""
    import os
    import secrets

    from safebot.redaction.redactor import hmac_key_from_env

    key = hmac_key_from_env()
    if key is not None:
        return key
    path = bot_dir / ".safebot" / "analytics.key"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def _handoff_queue(bot_dir: Path) -> Sink:
    """Hand-offs go to a JSON-lines queue in .safebot/ that an agent desk would read."""
    from safebot.sinks import JsonlExporter

    class HandoffQueue(JsonlExporter):
        destination: Destination = "agent"

    return HandoffQueue(bot_dir / ".safebot" / "handoffs.jsonl")


def nlu_fingerprint(bot_dir: Path, config: BotConfig) -> str:
    """Hash of what the model is trained from: retrain when nlu.yml or the settings change."""
    h = hashlib.sha256((bot_dir / config.nlu.data).read_bytes())
    h.update(config.nlu.encoder.encode())
    return h.hexdigest()[:16]


def model_dir(bot_dir: Path) -> Path:
    """Where the trained intent model lives (one file)."""
    return bot_dir / ".safebot" / "intent-model"


def _stamp(bot_dir: Path) -> Path:
    return bot_dir / ".safebot" / "intent-model.fingerprint"


def train_bot(bot_dir: Path, config: BotConfig | None = None) -> IntentClassifier:
    """Train the intent classifier from nlu.yml into BOT_DIR/.safebot/nlu/."""
    from safebot.nlu import IntentClassifier
    from safebot.nlu.training_data import load_nlu_yaml

    config = config or load_bot_config(bot_dir)
    data = load_nlu_yaml(bot_dir / config.nlu.data)
    kwargs: dict[str, Any] = {}
    if config.nlu.encoder == "none":
        kwargs["encoder"] = None
    clf = IntentClassifier.train(data.intent_examples(), out_of_scope=data.out_of_scope, **kwargs)
    target = model_dir(bot_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    clf.save(target)
    _stamp(bot_dir).write_text(nlu_fingerprint(bot_dir, config))
    return clf


def load_or_train(bot_dir: Path, config: BotConfig, *, train_if_missing: bool = True) -> IntentClassifier:
    from safebot.nlu import IntentClassifier

    target = model_dir(bot_dir)
    stamp = _stamp(bot_dir)
    if stamp.exists() and target.exists() and stamp.read_text() == nlu_fingerprint(bot_dir, config):
        return IntentClassifier.load(target)
    if not train_if_missing:
        raise ConfigError(f"no trained model; run 'safebot train {bot_dir}'", path=str(target))
    return train_bot(bot_dir, config)
