"""The WhatsApp channel's settings (``channels: whatsapp:`` in bot.yaml) and its secrets.

Secrets never come from bot.yaml. Each is read from the environment variable of its name or,
if that is unset, from a file of the same name in ``$SAFEBOT_SECRETS_DIR`` (default
``/run/secrets``, where Docker and Kubernetes mount secrets); a secret file readable by other
users is refused. Without all three the WhatsApp routes answer 503 and the rest runs.

.. code-block:: yaml

    channels:
      whatsapp:
        phone_number_id: "106540352242922"       # Meta app > WhatsApp > API setup
        graph_base_url: https://graph.facebook.com
        api_version: v21.0
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from safebot.sensitive import Sensitive

__all__ = [
    "ACCESS_TOKEN",
    "APP_SECRET",
    "DEFAULT_SECRETS_DIR",
    "SECRETS_DIR_ENV",
    "VERIFY_TOKEN",
    "ChannelsConfig",
    "WhatsAppConfig",
    "WhatsAppSecrets",
    "load_secrets",
]

APP_SECRET = "SAFEBOT_WHATSAPP_APP_SECRET"
VERIFY_TOKEN = "SAFEBOT_WHATSAPP_VERIFY_TOKEN"
ACCESS_TOKEN = "SAFEBOT_WHATSAPP_ACCESS_TOKEN"
SECRETS_DIR_ENV = "SAFEBOT_SECRETS_DIR"
DEFAULT_SECRETS_DIR = "/run/secrets"

DEFAULT_UNSUPPORTED_REPLY = (
    "Sorry, I can only read text messages here. Please type your question and I'll help."
)


class WhatsAppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the business phone number's id (not the number itself), from the Meta app dashboard
    phone_number_id: Annotated[str, Field(pattern=r"^[0-9]{1,32}$")]
    #: Graph API root; a test points it at a local fake
    graph_base_url: Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")] = "https://graph.facebook.com"
    api_version: Annotated[str, Field(pattern=r"^v[0-9]{1,3}\.[0-9]{1,3}$")] = "v21.0"
    #: seconds per Graph API request
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    #: tries per send (429, 5xx and throughput errors 130429 / 131056 are retried)
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 5
    #: first retry delay in seconds; doubles per try, with jitter, at most 30 s
    backoff: Annotated[float, Field(ge=0, le=30)] = 0.5
    #: the reply to images, audio, locations, contacts, reactions... (their content is not stored)
    unsupported_reply: Annotated[str, Field(min_length=1, max_length=1024)] = DEFAULT_UNSUPPORTED_REPLY


class ChannelsConfig(BaseModel):
    """``channels:`` in bot.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    whatsapp: WhatsAppConfig | None = None


@dataclass(frozen=True)
class WhatsAppSecrets:
    app_secret: Sensitive[str]
    verify_token: Sensitive[str]
    access_token: Sensitive[str]

    def __repr__(self) -> str:
        return "WhatsAppSecrets(***)"


def load_secrets(environ: Mapping[str, str] | None = None) -> tuple[WhatsAppSecrets | None, list[str]]:
    """The three secrets, or None and what is wrong (names and reasons, never values)."""
    env = os.environ if environ is None else environ
    directory = Path(env.get(SECRETS_DIR_ENV) or DEFAULT_SECRETS_DIR)
    values: dict[str, Sensitive[str]] = {}
    problems: list[str] = []
    for name in (APP_SECRET, VERIFY_TOKEN, ACCESS_TOKEN):
        value = env.get(name)
        if value:
            values[name] = Sensitive(value.strip())
            continue
        path = directory / name
        try:
            mode = path.stat().st_mode
        except OSError:
            problems.append(f"{name} is not set")
            continue
        if mode & (stat.S_IRWXO | stat.S_IWGRP):
            problems.append(f"{name}: secret file is readable or writable by other users (chmod 600 or 640)")
            continue
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{name}: secret file cannot be read ({type(exc).__name__})")
            continue
        if not text:
            problems.append(f"{name}: secret file is empty")
            continue
        values[name] = Sensitive(text)
    if problems:
        return None, problems
    return WhatsAppSecrets(values[APP_SECRET], values[VERIFY_TOKEN], values[ACCESS_TOKEN]), []
