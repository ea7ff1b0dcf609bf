"""A bot directory's store and keys, without the models: what the compliance commands need.

``safebot audit``, ``safebot retention`` and ``safebot forget`` open the store the way
``Bot.load`` does (bot.yaml's store URL and schema, keys from the bot's key provider) but never
load spaCy or the intent model, so they start in a second.

>>> with open_bot_store("examples/bank") as bot:            # doctest: +SKIP
...     print(bot.store.backend, bot.signer.key_id)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from safebot.audit.signing import AuditSigner

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine.config import BotConfig
    from safebot.keys import KeyProvider
    from safebot.stores.sql import SqlStore

__all__ = ["BotStore", "open_bot_store"]


@dataclass
class BotStore:
    """What :func:`~safebot.retention.run_retention` and :func:`~safebot.erasure.forget_customer`
    need from a bot: ``bot_dir``, ``config``, ``store`` and the key provider. An engine ``Bot``
    has the first three; pass its provider (or let these functions build it from bot.yaml)."""

    bot_dir: Path
    config: BotConfig
    store: SqlStore
    keys: KeyProvider | None
    #: None when opened with ``keys=False`` (verifying with a given public key)
    signer: AuditSigner | None

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> BotStore:
        return self

    def __exit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        self.close()


def bot_keys(bot_dir: Path, config: BotConfig) -> KeyProvider:
    """The bot's key provider, as ``Bot.load`` builds it (bot.yaml's ``keys:``)."""
    from safebot.keys import provider_for

    return provider_for(bot_dir, directory=config.keys.directory, factory=config.keys.provider)


def open_bot_store(bot_dir: str | Path, *, keys: bool = True) -> BotStore:
    """Open ``bot_dir``'s store with its master and audit keys (a ConfigError if not a bot).

    ``keys=False`` opens it for reading the audit trail only, without asking the key provider
    for anything (a reviewer who holds just the public key).
    """
    from safebot.engine.config import load_bot_config
    from safebot.errors import ConfigError
    from safebot.stores.sql import SqlStore
    from safebot.stores.vault import KeyRing

    root = Path(bot_dir)
    if not (root / "bot.yaml").is_file():
        raise ConfigError("not a bot directory (no bot.yaml)", path=str(root))
    config = load_bot_config(root)
    if not keys:
        # The keyring is never used to read audit records; a random one keeps the provider out.
        store = SqlStore.for_bot_dir(root, url=config.store.url, schema=config.store.schema_name,
                                     keyring=KeyRing.generate())
        return BotStore(root, config, store, None, None)
    provider = bot_keys(root, config)
    audit_key = provider.key("audit")
    store = SqlStore.for_bot_dir(
        root, url=config.store.url, schema=config.store.schema_name, keyring=KeyRing(provider.key("master")),
        audit_key=audit_key,
    )
    return BotStore(root, config, store, provider, AuditSigner(audit_key))
