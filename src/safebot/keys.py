"""Where safebot's keys come from: a small provider interface, never the policy or bot.yaml.

Keys, each 32 random bytes:

=============  =========================================================================
``master``     wraps every conversation's data key (the vault; crypto-shredding)
``analytics``  keys the HMAC tokens analytics sees (``<CREDIT_CARD#9f2c...>``)
``ids``        keys the hashed ids the store keeps for channel ids (phone numbers, senders)
``audit``      signs audit checkpoints
=============  =========================================================================

Providers, tried in this order by :func:`provider_for`:

1. the environment: ``SAFEBOT_<NAME>_KEY`` (base64; ``SAFEBOT_MASTER_KEY`` and
   ``SAFEBOT_HMAC_KEY`` (any text) as before);
2. a key directory of its own, outside the bot directory: ``SAFEBOT_KEY_DIR`` or
   ``keys: {directory: ...}`` in bot.yaml (mode 0700, files 0600, created atomically on first
   use, refused when group or others can read them);
3. a bank's KMS: ``keys: {provider: "package.module:factory"}`` in bot.yaml, where
   ``factory(bot_dir)`` returns any object with ``key(name) -> bytes``;
4. the development default: BOT_DIR/.safebot/ (the same rules as 2), with a warning at start,
   because whoever copies that folder with the database also has the keys.

>>> provider = KeyDirectory("/tmp/safebot-doc-keys")       # doctest: +SKIP
>>> len(provider.key("master"))                             # doctest: +SKIP
32
"""

from __future__ import annotations

import base64
import binascii
import importlib
import logging
import os
import secrets
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

from safebot.errors import KeyProviderError

__all__ = [
    "KEY_DIR_ENV",
    "KEY_NAMES",
    "ChainedKeys",
    "EnvKeys",
    "KeyDirectory",
    "KeyProvider",
    "provider_for",
]

log = logging.getLogger("safebot.keys")

KEY_BYTES = 32
KEY_NAMES = ("master", "analytics", "ids", "audit")
KEY_DIR_ENV = "SAFEBOT_KEY_DIR"
#: environment variables that predate the provider, still honoured
_LEGACY_ENV = {"master": "SAFEBOT_MASTER_KEY", "analytics": "SAFEBOT_HMAC_KEY"}
#: file names in a key directory (the development default keeps the old names)
_FILE_NAMES = {"master": "master.key", "analytics": "analytics.key", "ids": "ids.key", "audit": "audit.key"}


@runtime_checkable
class KeyProvider(Protocol):
    """Anything that hands out safebot's keys by name (see the module docstring)."""

    def key(self, name: str) -> bytes:
        """The key ``name`` (32 bytes, or any text for ``analytics``); KeyProviderError if absent."""
        ...


class EnvKeys:
    """Keys from ``SAFEBOT_<NAME>_KEY`` (base64 of 32 bytes)."""

    def __repr__(self) -> str:
        return "EnvKeys()"

    def key(self, name: str) -> bytes:
        value = self.get(name)
        if value is None:
            raise KeyProviderError(f"environment variable SAFEBOT_{name.upper()}_KEY is not set")
        return value

    def get(self, name: str) -> bytes | None:
        legacy = _LEGACY_ENV.get(name)
        if name == "analytics" and os.environ.get("SAFEBOT_ANALYTICS_KEY") is None and legacy and os.environ.get(legacy):
            return os.environ[legacy].encode()  # SAFEBOT_HMAC_KEY has always been plain text
        env = f"SAFEBOT_{name.upper()}_KEY"
        raw = os.environ.get(env) or (os.environ.get(legacy) if legacy and name != "analytics" else None)
        if not raw:
            return None
        return _decode(raw, f"environment variable {env}")


class KeyDirectory:
    """Key files in one private directory: created on first use (0600, atomically), refused if
    anyone but the owner can read them or the directory."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        self.path = Path(path)
        self._create = create

    def __repr__(self) -> str:
        return f"KeyDirectory({str(self.path)!r})"

    def key(self, name: str) -> bytes:
        if name not in _FILE_NAMES:
            raise KeyProviderError(f"unknown key {name!r}")
        file = self.path / _FILE_NAMES[name]
        if not file.exists():
            if not self._create:
                raise KeyProviderError(f"key file {file.name} not found")
            _create_key_file(file)
        return _read_key_file(file, text=(name == "analytics"))


class ChainedKeys:
    """The first provider that has the key wins."""

    def __init__(self, providers: Sequence[KeyProvider]) -> None:
        self._providers = list(providers)

    def __repr__(self) -> str:
        return f"ChainedKeys({self._providers!r})"

    def key(self, name: str) -> bytes:
        for p in self._providers[:-1]:
            if isinstance(p, EnvKeys):
                found = p.get(name)
                if found is not None:
                    return found
                continue
            return p.key(name)
        return self._providers[-1].key(name)


def provider_for(bot_dir: str | os.PathLike[str], *, directory: str | None = None, factory: str | None = None) -> KeyProvider:
    """The key provider for a bot (environment first; see the module docstring)."""
    bot_dir = Path(bot_dir)
    if factory:
        return ChainedKeys([EnvKeys(), _load_factory(factory, bot_dir)])
    chosen = os.environ.get(KEY_DIR_ENV) or directory
    if chosen:
        path = Path(chosen) if Path(chosen).is_absolute() else (bot_dir / chosen)
        if _inside(path, bot_dir):
            raise KeyProviderError("the key directory must be outside the bot directory")
        return ChainedKeys([EnvKeys(), KeyDirectory(path)])
    return ChainedKeys([EnvKeys(), _DevelopmentKeys(bot_dir / ".safebot")])


class _DevelopmentKeys(KeyDirectory):
    """BOT_DIR/.safebot/: fine on a laptop, wrong in production (it sits beside the data)."""

    _warned: ClassVar[set[str]] = set()

    def key(self, name: str) -> bytes:
        if str(self.path) not in self._warned:
            self._warned.add(str(self.path))
            log.warning(
                "keys are kept in the bot directory (%s): set %s or keys.directory for production",
                ".safebot/", KEY_DIR_ENV,
            )
        return super().key(name)


# -- files -----------------------------------------------------------------------------------------
def _inside(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return True


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if sys.platform != "win32" and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyProviderError(
            f"key directory {path} is open to other users; run 'chmod 700' on it",
        )


def _create_key_file(path: Path) -> None:
    _private_dir(path.parent)
    # A private temp file linked into place: the link fails if another process won the race,
    # and no reader ever sees an empty or half-written key.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _read_key_file(path: Path, *, text: bool) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise KeyProviderError(f"key file {path.name} not found") from None
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fh.fileno()).st_mode
        if sys.platform != "win32" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyProviderError(f"key file {path} is readable by other users; run 'chmod 600' on it")
        content = fh.read().decode("ascii", errors="replace").strip()
    if not content:
        raise KeyProviderError(f"key file {path} is empty")
    if text:
        # analytics.key files written by earlier versions hold hex text: used as they are
        return content.encode()
    return _decode(content, f"key file {path.name}")


def _decode(value: str, where: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyProviderError(f"{where} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyProviderError(f"{where} must decode to {KEY_BYTES} bytes")
    return key


def _load_factory(spec: str, bot_dir: Path) -> KeyProvider:
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
        provider = factory(bot_dir)
    except Exception as exc:  # noqa: BLE001 - a bank's KMS hook failing must be one clear line
        raise KeyProviderError(f"key provider {spec!r} could not be loaded ({type(exc).__name__})") from None
    if not callable(getattr(provider, "key", None)):
        raise KeyProviderError(f"key provider {spec!r} has no key(name) method")
    return provider  # type: ignore[no-any-return]
