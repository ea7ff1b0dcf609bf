"""Run a real server in a thread, on a free loopback port, for tests and benchmarks.

>>> with ServerThread(create_app(bot, settings)) as server:            # doctest: +SKIP
...     httpx.get(server.url + "/health").json()
{'status': 'ok'}

uvicorn runs exactly as ``safebot serve`` runs it (same protocol class, limits and
lifespan), except that it cannot install signal handlers off the main thread: ``stop()``
asks it to exit the way SIGTERM does (graceful: running requests finish).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Self

from safebot.serve.server import bind, make_server
from safebot.serve.settings import ServeSettings

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

__all__ = ["ServerThread"]


class ServerThread:
    def __init__(self, app: FastAPI, settings: ServeSettings | None = None) -> None:
        self.settings = settings or ServeSettings(port=0)
        self.app = app
        self.sock = bind("127.0.0.1", 0)
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server(app, self.settings)
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                        name=f"safebot-serve-{self.port}", daemon=True)

    def start(self, timeout: float = 20.0) -> Self:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.server.started:
                return self
            if not self._thread.is_alive():
                raise RuntimeError("the server thread stopped during start-up")
            time.sleep(0.01)
        raise RuntimeError("the server did not start in time")

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
