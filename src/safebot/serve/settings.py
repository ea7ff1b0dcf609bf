"""Limits of ``safebot serve`` and their defaults. Every field can be set from the environment
as ``SAFEBOT_SERVE_<FIELD>`` (``SAFEBOT_SERVE_RATE_LIMIT_PER_MINUTE=120``).

>>> ServeSettings().max_body_rest
32768
>>> ServeSettings.from_env({"SAFEBOT_SERVE_PORT": "9000"}).port
9000
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from safebot.errors import ConfigError

__all__ = ["ENV_PREFIX", "ServeSettings"]

ENV_PREFIX = "SAFEBOT_SERVE_"

Seconds = Annotated[float, Field(gt=0, le=3600)]


class ServeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: loopback unless told otherwise: put a TLS-terminating proxy in front (docs/serving.md)
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000

    # -- bodies and messages --------------------------------------------------------------
    #: POST /v1/...: a chat message is a few KB at most (4096 characters, JSON-escaped)
    max_body_rest: Annotated[int, Field(ge=1024, le=10_000_000)] = 32 * 1024
    #: POST /v1/notifications: up to 1,000 recipients with their parameters (a larger send is
    #: several requests, or ``safebot notify`` from a CSV)
    max_body_notifications: Annotated[int, Field(ge=1024, le=50_000_000)] = 2 * 1024 * 1024
    #: POST /webhooks/whatsapp: Meta's deliveries are at most 3 MB
    max_body_webhook: Annotated[int, Field(ge=1024, le=50_000_000)] = 3 * 1024 * 1024
    #: any other route (none reads a body)
    max_body_other: Annotated[int, Field(ge=0, le=1_000_000)] = 4 * 1024
    #: longest accepted message text; None: the bot's own ``limits.max_message_chars``
    max_message_chars: Annotated[int, Field(ge=16, le=100_000)] | None = None

    # -- slow clients ---------------------------------------------------------------------
    #: a connection must send a complete request head within this (slowloris)
    header_timeout: Seconds = 10.0
    #: a request body must arrive completely within this after the head (408 otherwise)
    body_timeout: Seconds = 15.0
    #: idle keep-alive connections are closed after this
    keepalive_timeout: Seconds = 5.0

    # -- load -----------------------------------------------------------------------------
    #: REST turns running at once; one more gets 503 with Retry-After
    max_concurrent_turns: Annotated[int, Field(ge=1, le=10_000)] = 64
    #: open connections plus running requests (uvicorn answers 503 past it)
    max_connections: Annotated[int, Field(ge=8, le=100_000)] = 1024
    #: per API key: sustained requests per minute and the burst above it (429 + Retry-After)
    rate_limit_per_minute: Annotated[float, Field(gt=0, le=1_000_000)] = 120.0
    rate_limit_burst: Annotated[int, Field(ge=1, le=100_000)] = 30
    #: how long SIGTERM waits for running requests and turns before giving up on them
    shutdown_timeout: Seconds = 30.0

    # -- WhatsApp worker ------------------------------------------------------------------
    #: conversations processed in parallel (each one's messages strictly in order)
    whatsapp_parallel: Annotated[int, Field(ge=1, le=1000)] = 8
    #: a claimed message goes back to the pool if its worker stops renewing for this long
    whatsapp_lease_seconds: Annotated[float, Field(ge=1, le=3600)] = 30.0
    #: how often the store is scanned for messages another process (or a crash) left
    whatsapp_poll_seconds: Annotated[float, Field(ge=0.05, le=600)] = 2.0
    #: attempts at a message or a reply before it is marked failed
    whatsapp_max_attempts: Annotated[int, Field(ge=1, le=100)] = 5

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> ServeSettings:
        """Defaults, then ``SAFEBOT_SERVE_*`` variables, then ``overrides`` (CLI options)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "?"
            source = "option" if field in overrides else ENV_PREFIX + field.upper()
            # The message names the setting and the rule, never the value given.
            raise ConfigError(f"{source}: {first['msg']}") from None
