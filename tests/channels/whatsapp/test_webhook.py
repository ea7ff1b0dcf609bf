"""The webhook against a real server: Meta's handshake, the signature over the raw bytes,
every entry/change/message, each inbound kind, Meta's escaped non-ASCII, and a server whose
secrets are missing."""

from __future__ import annotations

import json

import httpx
import meta_payloads as meta
import pytest
from serve_harness import APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, Served, sign
from wa_helpers import body_of, new_sender, requests_to, settle, wait_sent, wamid


def test_handshake_echoes_the_challenge_on_a_match(wa: Served) -> None:
    r = httpx.get(f"{wa.url}/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert r.status_code == 200
    assert r.text == "1158201444"
    assert r.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("params", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
    {},
])
def test_handshake_refuses_anything_else(wa: Served, params: dict[str, str]) -> None:
    r = httpx.get(f"{wa.url}/webhooks/whatsapp", params=params)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert VERIFY_TOKEN not in r.text


def test_a_text_message_is_answered_with_the_customer_rendering_only(wa: Served) -> None:
    sender = new_sender()
    r = wa.deliver(meta.meta_bytes(meta.delivery([meta.value(messages=[
        meta.text(wamid(sender), f"please freeze my card {meta.CARD}", sender)])])))
    assert r.status_code == 200
    [sent] = settle(wa, sender, 1)
    assert sent.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert sent.headers["authorization"] == "Bearer EAAtesttoken0123456789"
    assert sent.json == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": sender,
                         "type": "text", "text": {"preview_url": False, "body": "Card ****6467 is now frozen."}}


@pytest.mark.parametrize("signature", [None, "", "sha256=", "sha1=abc", "sha256=" + "0" * 64, "WRONG_SECRET", "TAMPERED"])
def test_missing_or_wrong_signatures_store_and_process_nothing(wa: Served, signature: str | None) -> None:
    sender = new_sender()
    body = meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(sender), "hello", sender)])]))
    before = wa.app.state.whatsapp.inbox.counts()
    headers = {"content-type": "application/json"}
    if signature == "WRONG_SECRET":
        headers["x-hub-signature-256"] = sign(body, "another-secret")
    elif signature == "TAMPERED":
        headers["x-hub-signature-256"] = sign(body)
        body = body.replace(b"hello", b"hellO")
    elif signature is not None:
        headers["x-hub-signature-256"] = signature
    r = httpx.post(f"{wa.url}/webhooks/whatsapp", content=body, headers=headers)
    assert r.status_code == (401 if not signature else 403)
    assert "hello" not in r.text
    assert wa.app.state.whatsapp.inbox.counts() == before
    assert requests_to(wa, sender) == []


def test_every_entry_change_and_message_of_a_delivery_is_handled(wa: Served) -> None:
    a, b, c, d = (new_sender() for _ in range(4))
    payload = meta.delivery(
        [meta.value(messages=[meta.text(wamid(a), "hello", a), meta.text(wamid(b), "hello", b)]),
         meta.value(messages=[meta.text(wamid(c), "hello", c)])],
        [meta.value(messages=[meta.text(wamid(d), "hello", d), meta.text(wamid(a), "show me the menu", a)])],
    )
    assert wa.deliver(meta.meta_bytes(payload)).status_code == 200
    for sender in (b, c, d):
        [r] = settle(wa, sender, 1, quiet=0.0)
        assert body_of(r) == {"type": "text", "text": {"preview_url": False, "body": "Hi! How can I help?"}}
    first, second = settle(wa, a, 2)
    assert body_of(first)["text"]["body"] == "Hi! How can I help?"
    assert body_of(second)["type"] == "interactive"  # the menu, after the greeting: in order


def test_interactive_replies_and_template_buttons_run_as_turns(wa: Served) -> None:
    sender = new_sender()
    payload = meta.delivery([meta.value(messages=[
        meta.button_reply(wamid(sender), "/freeze_card", "Freeze card", sender),
        meta.list_reply(wamid(sender), "row-7", "show me the menu", "the main menu", sender),
        meta.template_button(wamid(sender), "Say hello", "/greet", sender),
        meta.template_button(wamid(sender), "give me the full list of options", "campaign-42", sender),
    ])])
    assert wa.deliver(meta.meta_bytes(payload)).status_code == 200
    freeze, menu, greet, options = settle(wa, sender, 4)
    assert body_of(freeze) == {"type": "text", "text": {"preview_url": False, "body": "Which card should I freeze?"}}
    assert body_of(menu) == {"type": "interactive", "interactive": {
        "type": "button", "body": {"text": "What would you like to do?"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "/freeze_card", "title": "Freeze card"}},
                               {"type": "reply", "reply": {"id": "/greet", "title": "Say hello"}}]}}}
    assert body_of(greet)["text"]["body"] == "Hi! How can I help?"
    # five options do not fit reply buttons: a list message
    assert body_of(options)["interactive"]["type"] == "list"
    assert [row["title"] for row in body_of(options)["interactive"]["action"]["sections"][0]["rows"]] == [
        f"Option {i}" for i in range(1, 6)]


def test_other_kinds_get_the_polite_reply_and_their_content_is_not_stored(wa: Served) -> None:
    sender = new_sender()
    first = wamid(sender)
    kinds = [meta.image(first, f"my card {meta.CARD}", sender), meta.audio(wamid(sender), sender),
             meta.location(wamid(sender), sender), meta.contacts(wamid(sender), sender),
             meta.reaction(wamid(sender), first, sender), meta.unsupported(wamid(sender), sender)]
    assert wa.deliver(meta.meta_bytes(meta.delivery([meta.value(messages=kinds)]))).status_code == 200
    replies = settle(wa, sender, len(kinds))
    polite = "Sorry, I can only read text messages here. Please type your question and I'll help."
    assert [body_of(r)["text"]["body"] for r in replies] == [polite] * len(kinds)
    dump = "\n".join(wa.sinks()["store tables"])
    for planted in (meta.CARD, meta.HOME, meta.EMAIL, "38.8976633", "Agnieszka", "1479537139650973", "\\ud83d"):
        assert planted not in dump
    # and no turn ran on them
    assert wa.bot.store.transcript(wa.bot.conversation_ref(f"whatsapp:{sender}")) == []


def test_meta_escaped_non_ascii_is_verified_over_the_raw_bytes_and_decoded(wa: Served) -> None:
    sender = new_sender()
    body = meta.meta_bytes(meta.delivery([meta.value(messages=[
        meta.text(wamid(sender), "Cze\u015b\u0107! caf\u00e9 \U0001f600 freeze my card / please", sender)])]))
    assert b"\\u015b\\u0107" in body and b"\\ud83d\\ude00" in body and b"\\/" in body
    assert wa.deliver(body).status_code == 200
    settle(wa, sender, 1)
    [user] = [r for r in wa.bot.store.transcript(wa.bot.conversation_ref(f"whatsapp:{sender}")) if r["kind"] == "user"]
    assert "Cze\u015b\u0107" in user["text"] and "caf\u00e9 \U0001f600" in user["text"] and "/ please" in user["text"]
    # the same JSON re-serialised would not verify: the signature is over Meta's exact bytes
    reencoded = json.dumps(json.loads(body)).encode()
    r = httpx.post(f"{wa.url}/webhooks/whatsapp", content=reencoded,
                   headers={"x-hub-signature-256": sign(body), "content-type": "application/json"})
    assert r.status_code == 403


def test_a_signed_body_that_is_not_a_webhook_payload_is_a_400(wa: Served) -> None:
    for body in (b"not json at all 4539", b'{"object": "whatsapp_business_account", "entry": "4539"}'):
        r = wa.deliver(body)
        assert r.status_code == 400
        assert "4539" not in r.text


def test_messages_to_another_number_of_the_app_are_left_alone(wa: Served) -> None:
    sender = new_sender()
    body = meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(sender), "hello", sender)],
                                                     phone_number_id="999999999999999")]))
    assert wa.deliver(body).status_code == 200
    settle(wa, sender, 0)


def test_without_its_secrets_the_channel_answers_503_and_the_rest_runs(wa: Served) -> None:
    from safebot.serve import ServeSettings, create_app
    from safebot.serve.testing import ServerThread

    config = ServeSettings()
    with ServerThread(create_app(wa.bot, config, environ={"SAFEBOT_SECRETS_DIR": "/nonexistent"}), config) as server:
        body = meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text("wamid.X", "hello")])]))
        post = httpx.post(f"{server.url}/webhooks/whatsapp", content=body, headers={"x-hub-signature-256": sign(body, APP_SECRET)})
        get = httpx.get(f"{server.url}/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                                 "hub.challenge": "1"})
        ready = httpx.get(f"{server.url}/ready").json()
        rest = httpx.post(f"{server.url}/v1/conversations/no-wa/messages", json={"text": "hello"},
                          headers={"Authorization": f"Bearer {wa.keys['alice']}"})
    for r in (post, get):
        assert r.status_code == 503
        message = r.json()["error"]["message"]
        assert "SAFEBOT_WHATSAPP_APP_SECRET is not set" in message
        assert "SAFEBOT_WHATSAPP_ACCESS_TOKEN is not set" in message
    assert ready["whatsapp"] == "unconfigured" and ready["status"] == "ready"
    assert rest.status_code == 200


def test_secrets_can_come_from_files_but_not_world_readable_ones(tmp_path: object) -> None:
    from pathlib import Path

    from safebot.channels.whatsapp.config import load_secrets

    d = Path(str(tmp_path))
    for name, value in (("SAFEBOT_WHATSAPP_APP_SECRET", "app-0191"), ("SAFEBOT_WHATSAPP_VERIFY_TOKEN", "verify-0192"),
                        ("SAFEBOT_WHATSAPP_ACCESS_TOKEN", "token-0193")):
        (d / name).write_text(value + "\n")
        (d / name).chmod(0o600)
    secrets, problems = load_secrets({"SAFEBOT_SECRETS_DIR": str(d)})
    assert problems == [] and secrets is not None
    assert secrets.access_token.reveal() == "token-0193" and "0193" not in repr(secrets)
    # the environment wins over a file
    secrets, _ = load_secrets({"SAFEBOT_SECRETS_DIR": str(d), "SAFEBOT_WHATSAPP_ACCESS_TOKEN": "env"})
    assert secrets is not None and secrets.access_token.reveal() == "env"
    (d / "SAFEBOT_WHATSAPP_APP_SECRET").chmod(0o644)
    secrets, problems = load_secrets({"SAFEBOT_SECRETS_DIR": str(d)})
    assert secrets is None
    assert problems == ["SAFEBOT_WHATSAPP_APP_SECRET: secret file is readable or writable by other users (chmod 600 or 640)"]


def test_wait_helper_sees_replies(wa: Served) -> None:
    sender = new_sender()
    wa.deliver(meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(sender), "hi", sender)])])))
    assert len(wait_sent(wa, sender, 1)) == 1
