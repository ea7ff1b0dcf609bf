"""``bot.yaml``: what a bot directory is made of. Validated; errors name file, line, field."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from safebot.channels.whatsapp.config import ChannelsConfig
from safebot.config.yaml_models import load_yaml_model
from safebot.notify.config import NotifyConfig  # issue 10: the notifications: block
from safebot.retention.durations import Duration  # issue 11: the retention: block

__all__ = ["DEFAULT_RESPONSES", "AnalyticsConfig", "BotConfig", "load_bot_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NluConfig(_Strict):
    data: str = "nlu.yml"
    #: sentence encoder for the intent classifier: auto (if installed), minilm, or none
    encoder: Literal["auto", "minilm", "none"] = "auto"
    #: override the out-of-scope threshold learned at training time
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = None


class StoreConfig(_Strict):
    #: any SQLAlchemy URL; default: a SQLite file in BOT_DIR/.safebot/
    url: str | None = None
    #: PostgreSQL only: keep every table in this schema (created if missing)
    schema_name: str | None = Field(default=None, alias="schema", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    #: a conversation lease a crashed process held frees itself after this long
    lease_ttl_s: Annotated[float, Field(ge=1, le=600)] = 30.0
    #: ``redis://...``: conversation leases in Redis (several workers); default: in the store
    redis_url: Annotated[str, Field(pattern=r"^rediss?://\S+$")] | None = None


class AnalyticsConfig(_Strict):
    type: Literal["jsonl", "webhook"]
    path: str | None = None
    url: str | None = None
    timeout: float = 2.0


class DialogueConfig(_Strict):
    #: consecutive misunderstandings before handing off to a human
    max_fallbacks: Annotated[int, Field(ge=1, le=10)] = 2
    #: inside a form, another intent interrupts it only with at least this confidence
    interrupt_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    #: a prediction less sure than this never routes to a handler (it counts as not understood)
    min_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    #: a handler (or the verification) that has not answered after this long gets the error reply
    handler_timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0


class LimitsConfig(_Strict):
    #: longer messages are refused at once, before detection (a few KB is plenty for a chat)
    max_message_chars: Annotated[int, Field(ge=16, le=100_000)] = 4096


DEFAULT_RESPONSES: dict[str, str] = {
    "greet": "Hello! How can I help you today?",
    "thanks": "You're welcome! Is there anything else I can help with?",
    "goodbye": "Goodbye, and thanks for getting in touch.",
    "fallback": "Sorry, I didn't quite get that. Could you rephrase?",
    "handoff": "I'm passing you to a colleague who will be with you shortly.",
    "handed_off": "A colleague has your conversation and will reply here shortly.",
    "blocked": "Sorry, I couldn't process that message safely. Please try again without personal details.",
    "error": "Sorry, something went wrong on our side. Please try again in a moment.",
    "cancelled": "OK, I've cancelled that.",
    "verify_first": "Before I can help with that, I need to verify your identity.",
    "security_code": "Please don't share a PIN or card security code with anyone, including us: we will never ask for them.",
    "resume": "Now, back to where we were: {prompt}",
    "empty": "I didn't get a message there. What can I help you with?",
    "too_long": "That message is too long for me to read. Could you send a shorter one?",
}


class KeysConfig(_Strict):
    #: a directory of its own, outside the bot directory (``SAFEBOT_KEY_DIR`` overrides it)
    directory: str | None = None
    #: a bank's KMS hook: ``package.module:factory``, ``factory(bot_dir)`` -> an object with ``key(name)``
    provider: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class RetentionConfig(_Strict):
    """How long each data class is kept (issue 11; safebot.retention). Absent: kept for ever."""

    transcripts: Duration | None = None
    audit: Duration | None = None
    vault: Duration | None = None
    deliveries: Duration | None = None
    consent: Duration | None = None
    #: how often ``safebot serve`` runs retention (absent: only ``safebot retention run``)
    every: Duration | None = None


class BotConfig(_Strict):
    name: str
    description: str = ""
    policy: str = "policy.yaml"
    handlers: str = "handlers.py"
    nlu: NluConfig = Field(default_factory=NluConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    analytics: list[AnalyticsConfig] = Field(default_factory=list)
    dialogue: DialogueConfig = Field(default_factory=DialogueConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    keys: KeysConfig = Field(default_factory=KeysConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    #: channel settings (``whatsapp:``); secrets never live here
    channels: ChannelsConfig = Field(default_factory=ChannelsConfig)
    #: notifications (issue 10): broker, shared rate limits, templates file; see safebot.notify.config
    notifications: NotifyConfig = Field(default_factory=NotifyConfig)
    responses: dict[str, str] = Field(default_factory=dict)

    def response(self, key: str) -> str:
        return self.responses.get(key) or DEFAULT_RESPONSES[key]


def load_bot_config(bot_dir: str | Path) -> BotConfig:
    """Read ``BOT_DIR/bot.yaml``."""
    return load_yaml_model(BotConfig, Path(bot_dir) / "bot.yaml")
