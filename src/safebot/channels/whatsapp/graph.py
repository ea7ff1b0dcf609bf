"""A client for the WhatsApp Cloud API's messages endpoint (Graph API), on httpx or aiohttp.

``POST {graph_base_url}/{api_version}/{phone_number_id}/messages`` with a bearer token. Each
``send_*`` returns the platform message id (``wamid...``) wrapped in
:class:`~safebot.sensitive.Sensitive`: it embeds the recipient's number, so hash it before
storing or logging it. The recipient is a ``Sensitive`` too and is revealed only into the
request body.

Retried with exponential backoff and jitter (or the server's ``Retry-After``): HTTP 429, any
5xx, network errors, and Meta's throughput errors 130429 (Cloud API throughput reached) and
131056 (too many messages to one recipient), whatever HTTP status carries them. Everything
else fails at once with :class:`GraphError`, whose message holds the HTTP status and Meta's
numeric code only: Meta's error text can quote the recipient.

HTTP: httpx by default (tests inject an httpx transport); ``http="aiohttp"`` for the
notification sender, where one request costs about a tenth of the CPU (measured on loopback
here: httpx's async client 1.8-2.6 ms of CPU per request, aiohttp 0.1-0.3 ms), which is what
decides how many sends a second a 2-core machine can make.

>>> graph = GraphClient(base_url="https://graph.facebook.com", api_version="v21.0",
...                     phone_number_id="106540352242922", access_token=Sensitive("EAAG..."))  # doctest: +SKIP
>>> wamid = await graph.send_text(Sensitive("16505551234"), "Your card is frozen.")          # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import httpx

from safebot.errors import ChannelError
from safebot.sensitive import Sensitive

__all__ = ["RETRYABLE_CODES", "GraphClient", "GraphError"]

log = logging.getLogger("safebot.channels.whatsapp")

#: Meta error codes that mean "slow down", retried like a 429
RETRYABLE_CODES = frozenset({130429, 131056})
_MAX_DELAY = 30.0


class GraphError(ChannelError):
    """A send the Graph API refused or that never got through.

    ``platform_code`` is Meta's error code (None for a network error), ``http_status`` the
    response status (None likewise), ``retryable`` whether trying again later may succeed.
    """

    code = "platform_error"

    def __init__(self, message: str, *, http_status: int | None, platform_code: int | None, retryable: bool) -> None:
        super().__init__(message, status=502)
        self.http_status, self.platform_code, self.retryable = http_status, platform_code, retryable


class GraphClient:
    """Sends WhatsApp messages from one business phone number. Reuse one per process."""

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        phone_number_id: str,
        access_token: Sensitive[str],
        timeout: float = 10.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        on_attempt: Callable[[str], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        http: Literal["httpx", "aiohttp"] = "httpx",
    ) -> None:
        if not isinstance(access_token, Sensitive):
            raise TypeError("access_token must be a Sensitive[str]")
        if http not in ("httpx", "aiohttp"):
            raise ValueError("http must be 'httpx' or 'aiohttp'")
        if http == "aiohttp" and transport is not None:
            raise ValueError("an httpx transport needs http='httpx'")
        self.url = f"{base_url.rstrip('/')}/{api_version}/{phone_number_id}/messages"
        self._token = access_token
        self._attempts = max(1, int(max_attempts))
        self._backoff = float(backoff)
        self._on_attempt = on_attempt or (lambda outcome: None)
        self._sleep = sleep
        self._timeout = float(timeout)
        self._http = http
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport) if http == "httpx" else None
        self._session: Any = None  # aiohttp's, made on first use inside the running loop

    def __repr__(self) -> str:
        return "GraphClient(***)"

    @classmethod
    def from_config(cls, config: Any, access_token: Sensitive[str], **kwargs: Any) -> GraphClient:
        """From a :class:`~safebot.channels.whatsapp.config.WhatsAppConfig`."""
        return cls(
            base_url=config.graph_base_url, api_version=config.api_version,
            phone_number_id=config.phone_number_id, access_token=access_token,
            timeout=config.timeout, max_attempts=config.max_attempts, backoff=config.backoff, **kwargs,
        )

    # -- messages ------------------------------------------------------------------------------
    async def send_text(self, to: Sensitive[str], body: str, *, preview_url: bool = False) -> Sensitive[str]:
        """A text message (at most 4096 characters)."""
        return await self.send(to, {"type": "text", "text": {"preview_url": preview_url, "body": body}})

    async def send_buttons(self, to: Sensitive[str], body: str, buttons: Sequence[tuple[str, str]]) -> Sensitive[str]:
        """An interactive reply-buttons message: ``buttons`` is ``[(id, title), ...]`` (1-3,
        titles up to 20 characters, ids up to 256). A tap comes back as a ``button_reply``."""
        return await self.send(to, {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": body},
                "action": {"buttons": [{"type": "reply", "reply": {"id": i, "title": t}} for i, t in buttons]},
            },
        })

    async def send_list(
        self, to: Sensitive[str], body: str, button: str, rows: Sequence[tuple[str, str]], *, section: str = "Options"
    ) -> Sensitive[str]:
        """An interactive list message: ``rows`` is ``[(id, title), ...]`` (1-10, titles up to
        24 characters). A choice comes back as a ``list_reply``."""
        return await self.send(to, {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": body},
                "action": {"button": button, "sections": [
                    {"title": section, "rows": [{"id": i, "title": t} for i, t in rows]},
                ]},
            },
        })

    async def send_template(
        self, to: Sensitive[str], name: str, language: str, components: Sequence[Mapping[str, Any]] = ()
    ) -> Sensitive[str]:
        """An approved template (the only kind allowed outside the 24-hour customer window)."""
        template: dict[str, Any] = {"name": name, "language": {"code": language}}
        if components:
            template["components"] = [dict(c) for c in components]
        return await self.send(to, {"type": "template", "template": template})

    async def send(self, to: Sensitive[str], message: Mapping[str, Any]) -> Sensitive[str]:
        """Any message object of the Cloud API (``type`` plus its part); returns its wamid."""
        if not isinstance(to, Sensitive):
            raise TypeError("the recipient must be a Sensitive[str]")
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to.reveal(), **message}
        headers = {"Authorization": f"Bearer {self._token.reveal()}"}
        for attempt in range(1, self._attempts + 1):
            message_id, err, retry_after = await self._attempt(payload, headers)
            if message_id is not None:
                return message_id
            assert err is not None
            if not err.retryable or attempt == self._attempts:
                self._on_attempt("failed")
                log.warning("graph send failed (%s)", err.message)
                raise err
            self._on_attempt("retry")
            await self._sleep(self._delay(attempt, retry_after))
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- internals -----------------------------------------------------------------------------
    async def _attempt(
        self, payload: dict[str, Any], headers: dict[str, str]
    ) -> tuple[Sensitive[str] | None, GraphError | None, str | None]:
        """(message id, None, None) on success, else (None, error, Retry-After header)."""
        try:
            status, body, retry_after = await self._post(payload, headers)
        except _NetworkError as exc:
            return None, GraphError(f"network error ({exc.kind})", http_status=None,
                                    platform_code=None, retryable=True), None
        if 200 <= status < 300:
            message_id = _message_id(body)
            if message_id is None:
                return None, GraphError("the Graph API answered without a message id", http_status=status,
                                        platform_code=None, retryable=False), None
            self._on_attempt("ok")
            return Sensitive(message_id), None, None
        code = _error_code(body)
        retryable = status == 429 or status >= 500 or code in RETRYABLE_CODES
        err = GraphError(f"Graph API error (HTTP {status}, code {code})", http_status=status,
                         platform_code=code, retryable=retryable)
        return None, err, retry_after

    async def _post(self, payload: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any, str | None]:
        """(HTTP status, parsed JSON body or None, Retry-After); :class:`_NetworkError` when no
        answer came (only the exception's type is kept: its text can hold the URL)."""
        if self._client is not None:
            try:
                response = await self._client.post(self.url, json=payload, headers=headers)
            except httpx.TransportError as exc:
                raise _NetworkError(type(exc).__name__) from None
            return response.status_code, _json(response.content), response.headers.get("retry-after")
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout), connector=aiohttp.TCPConnector(limit=100))
        try:
            async with self._session.post(self.url, json=payload, headers=headers) as response:
                raw = await response.read()
                return response.status, _json(raw), response.headers.get("retry-after")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _NetworkError(type(exc).__name__) from None

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdigit():
            return min(_MAX_DELAY, float(retry_after))
        base = self._backoff * (2 ** (attempt - 1))
        return float(min(_MAX_DELAY, base * (1.0 + random.random() * 0.25)))


class _NetworkError(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _message_id(body: Any) -> str | None:
    try:
        message_id = body["messages"][0]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return message_id if isinstance(message_id, str) and message_id else None


def _error_code(body: Any) -> int | None:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None
