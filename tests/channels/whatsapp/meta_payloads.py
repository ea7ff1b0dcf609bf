"""WhatsApp Cloud API webhook payloads as Meta documents and sends them.

Shapes follow Meta's "messages" webhook reference (text, interactive button_reply and
list_reply, template quick-reply button, image, audio, location, contacts, reaction,
unsupported; statuses sent/delivered/read/failed with errors[]). :func:`meta_bytes` encodes
like Meta's servers do: compact JSON, every non-ASCII character as ``\\uXXXX`` (emoji as
surrogate pairs), ``/`` as ``\\/``. The signature is computed over exactly those bytes.
"""

from __future__ import annotations

import json
from typing import Any

from serve_harness import PHONE_NUMBER_ID

WABA_ID = "102290129340398"
DISPLAY_NUMBER = "15550783881"
TS = "1749416383"

#: the customer (their WhatsApp id is their phone number) and what they plant
WA_ID = "16505551234"
PROFILE_NAME = "Agnieszka Wi\u015bniewska"
CARD = "4539 1488 0343 6467"
SSN = "536-22-8801"
EMAIL = "agnieszka.wisniewska@example.org"
HOME = "1600 Pennsylvania Avenue NW"
OTHER_PHONE = "+1 415 555 0199"


def meta_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode("ascii")


def delivery(*entries: list[dict[str, Any]]) -> dict[str, Any]:
    """``delivery([value, value], [value])``: entries of changes (each a ``value``)."""
    return {"object": "whatsapp_business_account", "entry": [
        {"id": WABA_ID, "changes": [{"value": v, "field": "messages"} for v in changes]} for changes in entries
    ]}


def value(*, messages: list[dict[str, Any]] = (), statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]
          contacts: list[dict[str, Any]] | None = None, phone_number_id: str = PHONE_NUMBER_ID) -> dict[str, Any]:
    v: dict[str, Any] = {"messaging_product": "whatsapp",
                         "metadata": {"display_phone_number": DISPLAY_NUMBER, "phone_number_id": phone_number_id}}
    if messages:
        senders = dict.fromkeys(m["from"] for m in messages)
        v["contacts"] = contacts if contacts is not None else [
            {"profile": {"name": PROFILE_NAME}, "wa_id": s} for s in senders]
        v["messages"] = list(messages)
    if statuses:
        v["statuses"] = list(statuses)
    return v


def _base(wamid: str, kind: str, sender: str, context: str | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {}
    if context:
        m["context"] = {"from": DISPLAY_NUMBER, "id": context}
    m.update({"from": sender, "id": wamid, "timestamp": TS, "type": kind})
    return m


def text(wamid: str, body: str, sender: str = WA_ID) -> dict[str, Any]:
    return {**_base(wamid, "text", sender), "text": {"body": body}}


def button_reply(wamid: str, button_id: str, title: str, sender: str = WA_ID, context: str = "wamid.CTX1") -> dict[str, Any]:
    return {**_base(wamid, "interactive", sender, context),
            "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}}


def list_reply(wamid: str, row_id: str, title: str, description: str, sender: str = WA_ID,
               context: str = "wamid.CTX2") -> dict[str, Any]:
    return {**_base(wamid, "interactive", sender, context),
            "interactive": {"type": "list_reply", "list_reply": {"id": row_id, "title": title, "description": description}}}


def template_button(wamid: str, text_: str, payload: str, sender: str = WA_ID, context: str = "wamid.CTX3") -> dict[str, Any]:
    return {**_base(wamid, "button", sender, context), "button": {"payload": payload, "text": text_}}


def image(wamid: str, caption: str, sender: str = WA_ID) -> dict[str, Any]:
    return {**_base(wamid, "image", sender), "image": {
        "caption": caption, "mime_type": "image/jpeg",
        "sha256": "a6P3lZ9dtAeKpjZjCw+Ds8mJ2ocUzHbAl6VLPF6Kfu4=", "id": "1479537139650973"}}


def audio(wamid: str, sender: str = WA_ID) -> dict[str, Any]:
    return {**_base(wamid, "audio", sender), "audio": {
        "mime_type": "audio/ogg; codecs=opus", "sha256": "aq6T2+Hx1DuY8cfyRJVSaSazG5bmnyhmFOzQm5MJQqs=",
        "id": "1003383421387256", "voice": True}}


def location(wamid: str, sender: str = WA_ID) -> dict[str, Any]:
    return {**_base(wamid, "location", sender), "location": {
        "address": f"{HOME}, Washington, DC 20500", "latitude": 38.8976633, "longitude": -77.0365739,
        "name": "Home of Agnieszka", "url": "https://example.org/where/i/live"}}


def contacts(wamid: str, sender: str = WA_ID) -> dict[str, Any]:
    return {**_base(wamid, "contacts", sender), "contacts": [{
        "emails": [{"email": EMAIL, "type": "HOME"}],
        "name": {"first_name": "Agnieszka", "last_name": "Wi\u015bniewska", "formatted_name": PROFILE_NAME},
        "phones": [{"phone": OTHER_PHONE, "type": "CELL", "wa_id": "14155550199"}],
    }]}


def reaction(wamid: str, to_message: str, sender: str = WA_ID) -> dict[str, Any]:
    return {**_base(wamid, "reaction", sender), "reaction": {"message_id": to_message, "emoji": "\U0001f44d"}}


def unsupported(wamid: str, sender: str = WA_ID) -> dict[str, Any]:
    return {**_base(wamid, "unsupported", sender), "errors": [
        {"code": 131051, "title": "Message type unknown", "message": "Message type unknown",
         "error_data": {"details": "Message type is currently not supported."}}]}


def status(wamid: str, state: str, *, ts: str = TS, recipient: str = WA_ID,
           errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"id": wamid, "status": state, "timestamp": ts, "recipient_id": recipient}
    if state in ("sent", "delivered"):
        s["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "utility"}
    if errors is not None:
        s["errors"] = errors
    return s


UNDELIVERABLE = [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                  "error_data": {"details": f"Message to {WA_ID} could not be delivered"},
                  "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]
