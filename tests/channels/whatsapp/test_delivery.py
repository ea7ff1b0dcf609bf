"""What happens after a reply leaves: status webhooks (forward-only, out of order, errors
recorded), and the Graph API's refusals (retried on 429, 5xx and throughput codes; final on
others)."""

from __future__ import annotations

import httpx
import meta_payloads as meta
from serve_harness import Served
from wa_helpers import body_of, new_sender, requests_to, settle, wamid

from safebot.serve.engine_hooks import message_ref
from safebot.stores._serving_schema import WhatsAppOutboundRow


def send_hello(wa: Served, sender: str) -> str:
    """One reply to ``sender``; returns the wamid the platform gave it."""
    wa.deliver(meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(sender), "hello", sender)])])))
    [sent] = settle(wa, sender, 1, quiet=0.3)
    assert sent.message_id is not None
    return str(sent.message_id)


def statuses(wa: Served, *items: dict[str, object]) -> None:
    r = wa.deliver(meta.meta_bytes(meta.delivery([meta.value(statuses=list(items))])))
    assert r.status_code == 200


def delivery_row(wa: Served, wamid_: str) -> dict[str, object]:
    row = wa.app.state.whatsapp.inbox.delivery(message_ref(wa.bot, "whatsapp", wamid_))
    assert row is not None
    return dict(row)


def test_statuses_only_move_forward_and_keep_their_times(wa: Served) -> None:
    sender = new_sender()
    mid = send_hello(wa, sender)
    assert delivery_row(wa, mid)["state"] == "accepted"
    # read arrives first, then a late sent; delivered is skipped entirely (Meta may do both)
    statuses(wa, meta.status(mid, "read", ts="1749416390", recipient=sender))
    statuses(wa, meta.status(mid, "sent", ts="1749416385", recipient=sender))
    row = delivery_row(wa, mid)
    assert row["state"] == "read"
    assert (row["sent_at"], row["delivered_at"], row["read_at"]) == ("1749416385", None, "1749416390")
    statuses(wa, meta.status(mid, "delivered", ts="1749416388", recipient=sender))
    row = delivery_row(wa, mid)
    assert row["state"] == "read" and row["delivered_at"] == "1749416388"


def test_a_failure_is_final_and_keeps_metas_code_and_title_only(wa: Served) -> None:
    sender = new_sender()
    mid = send_hello(wa, sender)
    statuses(wa, meta.status(mid, "sent", recipient=sender),
             meta.status(mid, "failed", ts="1749416399", recipient=sender, errors=meta.UNDELIVERABLE))
    statuses(wa, meta.status(mid, "delivered", recipient=sender))  # late, and below failed
    row = delivery_row(wa, mid)
    assert row["state"] == "failed" and row["failed_at"] == "1749416399"
    assert row["errors"] == [{"code": 131026, "title": "Message undeliverable"}]
    assert sender not in str(row)  # error_data.details quoted the number: not kept


def test_statuses_of_messages_this_server_did_not_send_are_recorded(wa: Served) -> None:
    other = meta.WA_ID
    mid = wamid(other)
    statuses(wa, meta.status(mid, "delivered", recipient=other), meta.status(mid, "sent", recipient=other))
    row = delivery_row(wa, mid)
    assert row["state"] == "delivered" and row["sent_at"] is not None
    assert mid not in str(row) and other not in str(row)


def test_throttling_and_server_errors_are_retried_until_the_message_goes_out(wa: Served) -> None:
    sender = new_sender()
    wa.graph.fail_next(429, {"error": {"code": 4, "message": "(#4) Application request limit reached"}},
                       headers={"Retry-After": "0"})
    wa.graph.meta_error(130429)
    wa.graph.meta_error(131056)
    wa.graph.fail_next(503, None)
    wa.deliver(meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(sender), "hello", sender)])])))
    [sent] = settle(wa, sender, 1)
    assert body_of(sent)["text"]["body"] == "Hi! How can I help?"
    attempts = requests_to(wa, sender)
    assert len(attempts) == 5  # four refusals, then the one that went out
    assert all(a.json == sent.json for a in attempts)
    text = wa.metrics()
    assert 'safebot_graph_requests_total{outcome="retry"}' in text


def test_a_final_refusal_marks_the_reply_failed_and_the_conversation_goes_on(wa: Served) -> None:
    from sqlalchemy import select

    sender = new_sender()
    wa.graph.meta_error(131047)  # re-engagement: more than 24 h since the customer wrote
    wa.deliver(meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(sender), "hello", sender)])])))
    settle(wa, sender, 0, quiet=1.0)
    assert len(requests_to(wa, sender)) == 1  # not retried
    ref = wa.bot.conversation_ref(f"whatsapp:{sender}")
    o = WhatsAppOutboundRow
    with wa.bot.store.engine.connect() as conn:
        rows = conn.execute(select(o.state, o.error_code, o.payload).where(o.conversation_ref == ref)).all()
    assert [(r.state, r.error_code, r.payload) for r in rows] == [("failed", 131047, None)]
    wa.deliver(meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(sender), "show me the menu", sender)])])))
    [menu] = settle(wa, sender, 1)
    assert body_of(menu)["type"] == "interactive"


def test_the_ack_is_counted_in_metrics(wa: Served) -> None:
    text = wa.metrics()
    assert 'safebot_webhook_deliveries_total{result="accepted"}' in text
    assert "safebot_webhook_ack_seconds_count" in text
    r = httpx.get(f"{wa.url}/metrics")
    assert r.status_code == 401


def test_one_webhook_with_many_statuses_in_any_order_ends_each_at_its_highest(wa: Served) -> None:
    # A mass send's webhook carries hundreds of statuses; they are written in a few statements,
    # so one of them per message, in shuffled order with repeats, must still end right.
    import random

    others = [meta.WA_ID] * 160
    mids = [wamid(o) for o in others]
    items = [meta.status(m, s, ts=ts, recipient=o) for m, o in zip(mids, others, strict=True)
             for s, ts in (("sent", "1749416385"), ("delivered", "1749416388"), ("read", "1749416390"))]
    items += [meta.status(mids[0], "sent", ts="1749416999")]  # a repeat: keeps the first time
    items += [meta.status(mids[1], "failed", ts="1749416399", errors=meta.UNDELIVERABLE)]
    random.Random(7).shuffle(items)
    statuses(wa, *items)
    rows = [delivery_row(wa, m) for m in mids]
    assert rows[1]["state"] == "failed" and rows[1]["errors"] == [{"code": 131026, "title": "Message undeliverable"}]
    rest = rows[:1] + rows[2:]
    assert all(r["state"] == "read" for r in rest)
    assert {(r["sent_at"], r["delivered_at"], r["read_at"]) for r in rest} == {("1749416385", "1749416388", "1749416390")}
    assert all(r["errors"] is None for r in rest)
