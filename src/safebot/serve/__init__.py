"""``safebot serve``: the REST chat API, the WhatsApp webhook, health, readiness and metrics,
in one FastAPI app on uvicorn.

::

    create_app(bot, settings)      the ASGI app (routes, limits, metrics, the WhatsApp worker)
    serve(bot, settings)           uvicorn on loopback by default; clean SIGTERM
    ServeSettings                  limits and their defaults (SAFEBOT_SERVE_* overrides)

>>> from safebot.engine import Bot                               # doctest: +SKIP
>>> from safebot.serve import ServeSettings, create_app           # doctest: +SKIP
>>> app = create_app(Bot.load("examples/bank"), ServeSettings())  # doctest: +SKIP

FastAPI, uvicorn and prometheus_client are imported only when these are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["ServeSettings", "create_app", "serve"]

_LAZY = {
    "ServeSettings": "safebot.serve.settings",
    "create_app": "safebot.serve.app",
    "serve": "safebot.serve.server",
}

if TYPE_CHECKING:  # pragma: no cover
    from safebot.serve.app import create_app
    from safebot.serve.server import serve
    from safebot.serve.settings import ServeSettings


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'safebot.serve' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
