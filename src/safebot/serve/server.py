"""Run the app on uvicorn: loopback unless told otherwise, one log line per request, clean
SIGTERM.

* The socket is bound here, before anything heavy, so a port in use is one clear error.
* uvicorn's own access log is off (it prints the path and query string); the app's
  :class:`~safebot.serve.middleware.AccessLog` writes the line instead. Every handler gets
  the redacting log filter as a second line of defence.
* HTTP/1.1 by h11 with a request-head deadline (:mod:`safebot.serve.limits`), keep-alive
  timeout, a connection cap answering 503.
* SIGTERM / SIGINT: uvicorn stops accepting, waits for running requests (their turns finish
  and commit), then the lifespan stops the WhatsApp worker after its running turns.
  Everything a turn writes is one transaction, so nothing is half-written.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from safebot.errors import ConfigError
from safebot.serve.limits import with_header_timeout
from safebot.serve.settings import ServeSettings

if TYPE_CHECKING:  # pragma: no cover
    import uvicorn
    from fastapi import FastAPI

    from safebot.engine import Bot

__all__ = ["bind", "configure_logging", "make_server", "run_app", "serve"]


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; ConfigError with a one-line reason if it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ConfigError(f"cannot resolve host {host!r}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is already in use") from None
        if exc.errno == errno.EACCES:
            raise ConfigError(f"not allowed to listen on {host}:{port}") from None
        raise ConfigError(f"cannot listen on {host}:{port} ({errno.errorcode.get(exc.errno or 0, 'error')})") from None
    sock.set_inheritable(True)
    return sock


def configure_logging(redactor: object | None = None, level: int = logging.INFO) -> logging.Handler:
    """The command's logging (an application may configure logging; the library never does):
    safebot's and uvicorn's loggers to stderr through the redacting filter."""
    from safebot.sinks import RedactingLogFilter

    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    if redactor is not None:
        handler.addFilter(RedactingLogFilter(redactor))  # type: ignore[arg-type]
    for name in ("safebot", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
    # The access line is built from a closed vocabulary (method, route template, status,
    # milliseconds, key id): it skips the redacting filter, which runs the full detector on
    # the calling thread and would cost every request tens of milliseconds of event loop.
    access_handler = logging.StreamHandler()
    access_handler.setFormatter(formatter)
    access = logging.getLogger("safebot.serve.access")
    access.addHandler(access_handler)
    access.setLevel(level)
    access.propagate = False
    logging.getLogger("uvicorn.access").disabled = True
    return handler


def make_server(app: FastAPI, settings: ServeSettings) -> uvicorn.Server:
    """The uvicorn server ``safebot serve`` runs (call ``.run(sockets=[sock])``)."""
    import uvicorn

    config = uvicorn.Config(
        app,
        http=with_header_timeout(settings.header_timeout),
        access_log=False,
        log_config=None,  # ours (configure_logging), not uvicorn's dictConfig
        timeout_keep_alive=int(max(1, settings.keepalive_timeout)),
        timeout_graceful_shutdown=int(max(1, settings.shutdown_timeout)),
        limit_concurrency=settings.max_connections,
        server_header=False,
        proxy_headers=False,  # client addresses are not used; nothing to trust from a proxy
        lifespan="on",
    )
    return _Server(config)


def _server_class() -> type[uvicorn.Server]:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, but a SIGTERM ends in a normal return (exit status 0, ``finally``
        blocks run, the bot is closed): uvicorn re-raises the signal after its graceful
        shutdown, which kills the process before the command can clean up."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server


def _Server(config: uvicorn.Config) -> uvicorn.Server:
    return _server_class()(config)


def run_app(app: FastAPI, settings: ServeSettings, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until SIGTERM/SIGINT."""
    make_server(app, settings).run(sockets=[sock])


def serve(bot: Bot, settings: ServeSettings | None = None, *, sock: socket.socket | None = None) -> None:
    """What ``safebot serve`` does once the bot is loaded."""
    from safebot.serve.app import create_app

    settings = settings or ServeSettings()
    sock = sock or bind(settings.host, settings.port)
    run_app(create_app(bot, settings), settings, sock)
