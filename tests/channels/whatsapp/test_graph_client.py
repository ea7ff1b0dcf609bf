"""GraphClient on both HTTP stacks (httpx, the default; aiohttp, the notification sender's)
against the recording fake Graph API on loopback: the same answers, errors and redaction."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest

from safebot.channels.whatsapp.graph import GraphClient, GraphError
from safebot.channels.whatsapp.testing import FakeGraph
from safebot.sensitive import Sensitive

TOKEN = "EAAgraphclienttest"
PHONE = "15550009876"
BACKENDS = ["httpx", "aiohttp"]


def _client(base_url: str, http: Any, **kw: Any) -> GraphClient:
    return GraphClient(base_url=base_url, api_version="v21.0", phone_number_id="106540352242922",
                       access_token=Sensitive(TOKEN), max_attempts=1, timeout=5, http=http, **kw)


def _send(client: GraphClient) -> Sensitive[str]:
    async def go() -> Sensitive[str]:
        try:
            return await client.send_text(Sensitive(PHONE), "Your card is frozen.")
        finally:
            await client.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("http", BACKENDS)
def test_a_send_returns_the_wamid_and_the_platform_sees_the_request(http: str) -> None:
    with FakeGraph(access_token=TOKEN) as graph:
        wamid = _send(_client(graph.url, http))
        [request] = graph.sent
    assert isinstance(wamid, Sensitive) and wamid.reveal() == request.message_id
    assert request.path == "/v21.0/106540352242922/messages"
    assert request.headers.get("authorization") == f"Bearer {TOKEN}"
    assert request.json["to"] == PHONE and request.json["text"]["body"] == "Your card is frozen."


@pytest.mark.parametrize("http", BACKENDS)
@pytest.mark.parametrize(("status", "code", "retryable"), [
    (400, 130429, True),   # throughput reached: slow down and retry
    (400, 131056, True),   # pair rate
    (400, 131047, False),  # outside the 24-hour window: retrying cannot help
    (429, None, True),
    (503, None, True),
])
def test_refusals_keep_the_status_and_meta_code(http: str, status: int, code: int | None, retryable: bool) -> None:
    with FakeGraph(access_token=TOKEN) as graph:
        if code is None:
            graph.fail_next(status, {"error": {"message": f"call from {PHONE}"}})
        else:
            graph.meta_error(code, status)
        with pytest.raises(GraphError) as caught:
            _send(_client(graph.url, http))
    err = caught.value
    assert (err.http_status, err.platform_code, err.retryable) == (status, code, retryable)
    assert PHONE not in str(err)


@pytest.mark.parametrize("http", BACKENDS)
def test_a_refused_connection_is_a_retryable_network_error_without_the_url(http: str) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(GraphError) as caught:
        _send(_client(f"http://127.0.0.1:{port}", http))
    err = caught.value
    assert err.retryable and err.http_status is None and err.platform_code is None
    assert str(err).startswith("network error (") and str(port) not in str(err)


def test_an_httpx_transport_needs_the_httpx_stack() -> None:
    with pytest.raises(ValueError, match="http='httpx'"):
        _client("http://127.0.0.1:1", "aiohttp", transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with pytest.raises(ValueError, match="'httpx' or 'aiohttp'"):
        _client("http://127.0.0.1:1", "requests")
