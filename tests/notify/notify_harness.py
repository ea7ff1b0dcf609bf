"""A bot with notifications for tests: the notifybank bot, a recording fake Graph API, the
WhatsApp channel's secrets, and (for the webhook tests) a real ``safebot serve`` on loopback.

Every test takes fresh phone numbers (:func:`new_number`), so tests sharing one bot never see
each other's contacts.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
APP_SECRET = "notify-app-secret-5d1e"
ACCESS_TOKEN = "EAAnotifytoken0123456789"
PHONE_NUMBER_ID = "106540352242922"
SECRETS = {
    "SAFEBOT_WHATSAPP_APP_SECRET": APP_SECRET,
    "SAFEBOT_WHATSAPP_VERIFY_TOKEN": "notify-verify-token",
    "SAFEBOT_WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
}
_numbers = itertools.count(1)


def new_number() -> str:
    """A WhatsApp number (E.164 digits) no test used yet."""
    return f"1415{time.time_ns() % 100000:05d}{next(_numbers) % 100:02d}"


def make_bot_dir(target: Path, graph_url: str, notifications: str = "") -> Path:
    shutil.copytree(HERE / "notifybank", target, ignore=shutil.ignore_patterns(".safebot", "__pycache__"))
    yaml = (target / "bot.yaml").read_text().replace("POLICY_PATH", str(ROOT / "examples" / "bank" / "policy.yaml"))
    yaml += (f"channels:\n  whatsapp:\n    phone_number_id: \"{PHONE_NUMBER_ID}\"\n"
             f"    graph_base_url: {graph_url}\n    api_version: v21.0\n    backoff: 0.01\n")
    yaml += "notifications:\n  per_recipient_seconds: 0\n" + notifications
    (target / "bot.yaml").write_text(yaml)
    return target


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()


def meta_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode("ascii")


def webhook(*, messages: list[dict[str, Any]] = (), statuses: list[dict[str, Any]] = ()) -> bytes:  # type: ignore[assignment]
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                             "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID}}
    if messages:
        value["contacts"] = [{"profile": {"name": "Test"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return meta_bytes({"object": "whatsapp_business_account",
                       "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]})


def status(wamid: str, state: str, recipient: str, *, callback: str | None = None, ts: str = "1749416400",
           errors: list[dict[str, Any]] | None = None, category: str = "utility") -> dict[str, Any]:
    s: dict[str, Any] = {"id": wamid, "status": state, "timestamp": ts, "recipient_id": recipient}
    if callback:
        s["biz_opaque_callback_data"] = callback
    if state in ("sent", "delivered"):
        s["pricing"] = {"billable": True, "pricing_model": "PMP", "category": category}
    if errors:
        s["errors"] = errors
    return s


def quick_reply(wamid: str, sender: str, text: str, payload: str, context: str | None) -> dict[str, Any]:
    m: dict[str, Any] = {"from": sender, "id": wamid, "timestamp": "1749416383", "type": "button",
                         "button": {"payload": payload, "text": text}}
    if context:
        m["context"] = {"from": "15550783881", "id": context}
    return m


def text_message(wamid: str, sender: str, body: str, context: str | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"from": sender, "id": wamid, "timestamp": "1749416383", "type": "text", "text": {"body": body}}
    if context:
        m["context"] = {"from": "15550783881", "id": context}
    return m


@dataclass
class NB:
    bot: Any
    graph: Any
    notifier: Any
    url: str = ""
    keys: dict[str, str] = field(default_factory=dict)
    logs: Any = None

    def sent_to(self, number: str) -> list[Any]:
        return [r for r in self.graph.sent if (r.json or {}).get("to") == number]

    def wait_sent(self, number: str, count: int, timeout: float = 20.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.sent_to(number)
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{len(self.sent_to(number))} messages reached the fake Graph API, expected {count}")

    def deliver(self, body: bytes) -> httpx.Response:
        return httpx.post(f"{self.url}/webhooks/whatsapp", content=body, timeout=30,
                          headers={"content-type": "application/json", "x-hub-signature-256": sign(body)})

    def api(self, key: str = "notifier") -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.keys[key]}"}, timeout=60)


def start(tmp: Path, *, serve: bool) -> Iterator[NB]:
    import os

    from safebot.channels.whatsapp.testing import FakeGraph
    from safebot.engine import Bot
    from safebot.notify import close_notifier, notifier_for

    old = {k: os.environ.get(k) for k in SECRETS}
    os.environ.update(SECRETS)  # the in-process sender reads them like safebot worker does
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "serve"))
    from serve_harness import keep_logs

    try:
        with keep_logs() as logs, FakeGraph(access_token=ACCESS_TOKEN) as graph:
            bot = Bot.load(make_bot_dir(tmp / "notifybank", graph.url))
            nb = NB(bot, graph, notifier_for(bot), logs=logs)
            try:
                if not serve:
                    yield nb
                    return
                from safebot.serve import ServeSettings, create_app
                from safebot.serve.auth import create_key
                from safebot.serve.testing import ServerThread

                nb.keys = {"notifier": create_key(bot.store, "core-banking", "notifier")[1].reveal(),
                           "other": create_key(bot.store, "other-system", "notifier")[1].reveal(),
                           "customer": create_key(bot.store, "mobile-app", "customer")[1].reveal()}
                config = ServeSettings(rate_limit_per_minute=1_000_000, rate_limit_burst=100_000,
                                       whatsapp_poll_seconds=0.2, whatsapp_lease_seconds=5.0)
                app = create_app(bot, config, environ=SECRETS)
                with ServerThread(app, config) as server:
                    nb.url = server.url
                    yield nb
            finally:
                close_notifier(bot)
                bot.close()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
