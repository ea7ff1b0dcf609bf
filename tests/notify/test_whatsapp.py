"""Notifications through a real ``safebot serve``: POST/GET /v1/notifications, a quick-reply
tap or a quoted reply tied to its alert (the turn gets the slots), STOP and START over the
webhook, status webhooks carrying the delivery id, and planted PII in no sink."""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any

import pytest
from notify_harness import NB, ROOT, new_number, quick_reply, status, text_message, webhook

from safebot.channels.whatsapp.testing import meta_wamid

ALERT = {"amount": "$249.00", "merchant": "Sunset Electronics", "card": "4242"}


def post(nb: NB, number: str, *, key: str, params: dict[str, Any] | None = None, api_key: str = "notifier",
         template: str = "fraud_alert", **extra: Any) -> Any:
    body = {"template": template, "idempotency_key": key, "params": params if params is not None else ALERT,
            "recipients": [{"whatsapp": "+" + number, **extra}]}
    with nb.api(api_key) as c:
        return c.post("/v1/notifications", json=body)


def wait_state(nb: NB, delivery_id: int, state: str, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    row: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        row = nb.notifier.outbox.delivery(delivery_id)
        if row is not None and row["state"] == state:
            return row
        time.sleep(0.05)
    raise AssertionError(f"delivery {delivery_id} is {row and row['state']}, expected {state}")


def replies_to(nb: NB, number: str) -> list[str]:
    return [r.json["text"]["body"] for r in nb.sent_to(number) if r.json.get("type") == "text"]


def wait_reply(nb: NB, number: str, count: int = 1, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = replies_to(nb, number)
        if len(got) >= count:
            return got
        time.sleep(0.05)
    raise AssertionError(f"{len(replies_to(nb, number))} replies, expected {count}")


def test_post_is_idempotent_and_a_notification_is_visible_only_to_its_key(nb: NB) -> None:
    number = new_number()
    first = post(nb, number, key=f"api-{number}")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["duplicate"] is False and len(body["deliveries"]) == 1
    again = post(nb, number, key=f"api-{number}")
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["deliveries"] == []
    conflict = post(nb, number, key=f"api-{number}", params={**ALERT, "amount": "$1.00"})
    assert conflict.status_code == 409
    wait_state(nb, body["deliveries"][0], "sent")
    assert len(nb.sent_to(number)) == 1
    with nb.api() as c:
        got = c.get(f"/v1/notifications/{body['id']}")
    assert got.status_code == 200 and got.json()["states"] == {"sent": 1}
    with nb.api("other") as c:
        assert c.get(f"/v1/notifications/{body['id']}").status_code == 404
        # The same key from another API key is another request, not this one.
        assert c.post("/v1/notifications", json={"template": "fraud_alert", "idempotency_key": f"api-{number}",
                                                 "params": ALERT, "recipients": [{"whatsapp": "+" + number}]}).status_code == 201
    with nb.api("customer") as c:
        assert c.get(f"/v1/notifications/{body['id']}").status_code == 403


def test_the_same_key_posted_concurrently_queues_and_sends_once(nb: NB) -> None:
    from concurrent.futures import ThreadPoolExecutor

    number = new_number()
    barrier = threading.Barrier(8)

    def one(_: int) -> Any:
        barrier.wait()
        return post(nb, number, key=f"race-{number}")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    [created] = [a.json() for a in answers if a.status_code == 201]
    wait_state(nb, created["deliveries"][0], "sent")
    time.sleep(0.5)
    assert len(nb.sent_to(number)) == 1


@pytest.mark.parametrize(("change", "status_code", "needle"), [
    ({"template": "nope"}, 422, "unknown template"),
    ({"params": {**ALERT, "card": "4539 1488 0343 6467"}}, 422, "'card' is not a valid card_last_four"),
    ({"recipients": [{"whatsapp": "not a number"}]}, 422, ""),
    ({"idempotency_key": None}, 422, "idempotency_key"),
])
def test_bad_requests_say_which_field_and_never_echo_the_value(nb: NB, change: dict[str, Any], status_code: int, needle: str) -> None:
    body: dict[str, Any] = {"template": "fraud_alert", "idempotency_key": f"bad-{time.time_ns()}", "params": ALERT,
                            "recipients": [{"whatsapp": "+" + new_number()}], **change}
    with nb.api() as c:
        r = c.post("/v1/notifications", json={k: v for k, v in body.items() if v is not None})
    assert r.status_code == status_code, r.text
    assert needle in r.text and "4539" not in r.text and "not a number" not in r.text


def _alert(nb: NB, number: str) -> tuple[int, str]:
    r = post(nb, number, key=f"tap-{number}")
    assert r.status_code == 201, r.text
    delivery_id = r.json()["deliveries"][0]
    wait_state(nb, delivery_id, "sent")
    [sent] = nb.sent_to(number)
    return delivery_id, str(sent.message_id)


def test_a_quick_reply_tap_resumes_the_conversation_tied_to_its_alert(nb: NB) -> None:
    number = new_number()
    delivery_id, wamid = _alert(nb, number)
    tap = quick_reply(meta_wamid(number), number, "No, it wasn't me", f"sbn:{delivery_id}:1", context=wamid)
    assert nb.deliver(webhook(messages=[tap])).status_code == 200
    [reply] = wait_reply(nb, number)
    assert reply == f"denied fraud_alert #{delivery_id}"
    # A typed answer quoting the alert is tied to it by the quoted message's id.
    quoted = text_message(meta_wamid(number), number, "yes, it was me", context=wamid)
    nb.deliver(webhook(messages=[quoted]))
    assert wait_reply(nb, number, 2)[1] == f"confirmed fraud_alert #{delivery_id}"
    assert nb.notifier.evidence(number)["replies"][0] == {"delivery_id": delivery_id, "button": 1,
                                                          "at": nb.notifier.evidence(number)["replies"][0]["at"]}


def test_a_tap_naming_another_customers_alert_is_not_tied_to_it(nb: NB) -> None:
    victim, other = new_number(), new_number()
    delivery_id, wamid = _alert(nb, victim)
    forged = quick_reply(meta_wamid(other), other, "No, it wasn't me", f"sbn:{delivery_id}:1", context=wamid)
    nb.deliver(webhook(messages=[forged]))
    assert wait_reply(nb, other) == ["denied None #None"]


def test_stop_over_whatsapp_is_confirmed_once_and_honoured_by_the_next_alert_then_start_restores(nb: NB) -> None:
    number = new_number()
    nb.deliver(webhook(messages=[text_message(meta_wamid(number), number, "STOP")]))
    [confirmation] = wait_reply(nb, number)
    assert "won't get messages from us on WhatsApp" in confirmation
    nb.deliver(webhook(messages=[text_message(meta_wamid(number), number, "stop sending me these")]))
    time.sleep(1.0)
    assert len(replies_to(nb, number)) == 1  # already stopped: no second confirmation
    r = post(nb, number, key=f"after-stop-{number}")
    wait_state(nb, r.json()["deliveries"][0], "suppressed")
    nb.deliver(webhook(messages=[text_message(meta_wamid(number), number, "START")]))
    assert "again" in wait_reply(nb, number, 2)[1]
    r = post(nb, number, key=f"after-start-{number}")
    wait_state(nb, r.json()["deliveries"][0], "sent")


def test_status_webhooks_move_the_delivery_by_its_callback_data_with_pricing(nb: NB) -> None:
    number = new_number()
    delivery_id, wamid = _alert(nb, number)
    nb.deliver(webhook(statuses=[status(wamid, "read", number, callback=f"sbn:{delivery_id}", ts="1749416600"),
                                 status(wamid, "delivered", number, callback=f"sbn:{delivery_id}", ts="1749416500")]))
    row = wait_state(nb, delivery_id, "read")
    assert row["delivered_at"] == "1749416500" and row["pricing_category"] == "utility"


def test_planted_pii_reaches_no_sink_and_the_platform_sees_only_the_customer_rendering(nb: NB) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "serve"))
    from serve_harness import store_dump

    from safebot.testing import find_leaks

    number, card, email = new_number(), "4539 1488 0343 6467", "ana.planted@example.org"
    r = post(nb, number, key=f"pii-{number}", customer_id="CUST-77123",
             params={**ALERT, "merchant": f"Refund to {email}"})
    delivery_id = r.json()["deliveries"][0]
    wait_state(nb, delivery_id, "sent")
    tap = text_message(meta_wamid(number), number, f"no it wasn't me, my card is {card}")
    nb.deliver(webhook(messages=[tap]))
    wait_reply(nb, number)
    nb.bot.store.checkpoint()
    db = nb.bot.bot_dir / ".safebot" / "safebot.sqlite3"
    sinks = {
        "store tables": store_dump(nb.bot.store),
        "sqlite file": [db.read_bytes().decode("latin-1")],
        "logs": list(nb.logs.lines),
    }
    # (The organisation's customer id is not planted: the store links conversations to it by
    # design, ``conversations.customer_key_id``, so erasure can find them.)
    planted = [number, card, email]
    assert find_leaks(planted, sinks) == []
    platform = [json.dumps({k: v for k, v in (q.json or {}).items() if k != "to"}) for q in nb.sent_to(number)]
    assert find_leaks([card, email, "CUST-77123"], {"fake graph": platform}) == []
    alert = nb.sent_to(number)[0].json["template"]["components"][0]["parameters"][1]["text"]
    assert re.fullmatch(r"Refund to <EMAIL_ADDRESS_\d+>", alert)
