"""Sending from the outbox in-process (the embedded default): what the platform receives, the
idempotency key, consent and suppression at send time, retries, failures, expiry, status
updates (forward only), reconciliation of a row a dead worker left ``sending``, evidence."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from notify_harness import NB, new_number
from sqlalchemy import select, update

from safebot.notify import Recipient
from safebot.notify.outbox import IdempotencyConflict
from safebot.notify.sender import record_status
from safebot.notify.templates import ParamError
from safebot.stores._base import stamp_at
from safebot.stores._notify_schema import DeliveryRow

ALERT = {"amount": "$249.00", "merchant": "Sunset Electronics", "card": "4242"}


def notify(nb: NB, number: str, template: str = "fraud_alert", params: dict[str, Any] | None = None,
           key: str | None = None, **kw: Any) -> Any:
    return asyncio.run(nb.bot.notify(Recipient(number, **kw), template, params if params is not None else ALERT,
                                     idempotency_key=key or f"k-{number}-{time.time_ns()}"))


def delivery(nb: NB, delivery_id: int) -> dict[str, Any]:
    found = nb.notifier.outbox.delivery(delivery_id)
    assert found is not None
    return found


def drain(nb: NB) -> dict[str, int]:
    return nb.notifier.drain(timeout=30)


def test_an_alert_reaches_the_platform_as_an_approved_template_tagged_with_its_delivery(nb: NB) -> None:
    number = new_number()
    result = notify(nb, "+" + number)
    drain(nb)
    [req] = nb.wait_sent(number, 1)
    body = req.json
    assert body["type"] == "template" and body["to"] == number
    assert body["biz_opaque_callback_data"] == f"sbn:{result.delivery_id}"
    template = body["template"]
    assert template["name"] == "fraud_alert" and template["language"] == {"code": "en_US"}
    params = {p["parameter_name"]: p["text"] for p in template["components"][0]["parameters"]}
    assert params == ALERT
    payloads = [c["parameters"][0]["payload"] for c in template["components"][1:]]
    assert payloads == [f"sbn:{result.delivery_id}:0", f"sbn:{result.delivery_id}:1"]
    row = delivery(nb, result.delivery_id)
    assert row["state"] == "sent" and row["attempts"] == 1 and row["message_ref"].startswith("c-")


def test_the_same_idempotency_key_never_sends_twice_and_other_content_is_refused(nb: NB) -> None:
    number = new_number()
    first = notify(nb, number, key=f"once-{number}")
    again = notify(nb, number, key=f"once-{number}")
    assert again.duplicate and again.notification_id == first.notification_id and not again.delivery_ids
    with pytest.raises(IdempotencyConflict):
        notify(nb, number, key=f"once-{number}", params={**ALERT, "amount": "$1.00"})
    drain(nb)
    time.sleep(0.2)
    assert len(nb.sent_to(number)) == 1


def test_a_mass_send_sends_a_repeated_address_once_and_reports_bad_rows_by_number(nb: NB) -> None:
    numbers = [new_number() for _ in range(5)]
    people = [Recipient(n) for n in numbers] + [Recipient(numbers[0]), Recipient("12"),
                                                Recipient(new_number(), params={"card": "4242 4242 4242 4242"})]
    result = nb.notifier.enqueue("fraud_alert", people, idempotency_key=f"mass-{numbers[0]}",
                                 params={"amount": "$9.99", "merchant": "Shop", "card": "1234"})
    assert len(result.delivery_ids) == 5 and result.repeated == 1
    assert [n for n, _ in result.rejected] == [7, 8]
    assert "not an international phone number" in result.rejected[0][1]
    assert "'card' is not a valid card_last_four" in result.rejected[1][1]
    assert "4242" not in json.dumps(result.rejected)
    drain(nb)
    assert all(len(nb.sent_to(n)) == 1 for n in numbers)


@pytest.mark.parametrize(("params", "problem"), [
    ({"amount": "$249.00", "merchant": "Shop"}, "'card' is missing"),
    ({**ALERT, "extra": "x"}, "'extra' is not a parameter"),
    ({**ALERT, "amount": "lots"}, "'amount' is not a valid money"),
    ({**ALERT, "card": "4111111111111111"}, "'card' is not a valid card_last_four"),
    ({**ALERT, "merchant": "x" * 61}, "'merchant' must be 1-60 characters"),
])
def test_bad_parameters_are_refused_naming_the_parameter_never_the_value(nb: NB, params: dict[str, str], problem: str) -> None:
    with pytest.raises(ParamError) as err:
        notify(nb, new_number(), params=params)
    assert problem in str(err.value)
    assert "4111111111111111" not in str(err.value)


def test_a_text_parameter_reaches_the_platform_as_its_customer_rendering(nb: NB) -> None:
    number = new_number()
    notify(nb, number, params={**ALERT, "merchant": "Card 4539 1488 0343 6467 shop"})
    drain(nb)
    [req] = nb.wait_sent(number, 1)
    merchant = req.json["template"]["components"][0]["parameters"][1]["text"]
    assert "4539 1488 0343 6467" not in merchant and merchant.endswith("6467 shop")


def test_an_opt_out_stops_the_very_next_delivery_even_one_queued_before_it(nb: NB) -> None:
    number = new_number()
    first, second = notify(nb, number), notify(nb, number)
    ref = nb.notifier.contact_ref(number)
    action = nb.notifier.before_turn(conversation_ref=ref, message_ref=None, text="STOP", form_open=False)
    assert action.replies and "Reply START" in action.replies[0]
    drain(nb)
    assert delivery(nb, first.delivery_id)["state"] == "suppressed"
    assert delivery(nb, second.delivery_id)["state"] == "suppressed"
    assert nb.sent_to(number) == []
    again = nb.notifier.before_turn(conversation_ref=ref, message_ref=None, text="stop", form_open=False)
    assert again.replies == ()  # one confirmation, not one per STOP
    back = nb.notifier.before_turn(conversation_ref=ref, message_ref=None, text="Start", form_open=False)
    assert back.replies and "again" in back.replies[0]
    third = notify(nb, number)
    drain(nb)
    assert delivery(nb, third.delivery_id)["state"] == "sent"


def test_cancel_inside_a_form_goes_to_the_dialogue_and_outside_it_opts_out(nb: NB) -> None:
    ref = nb.notifier.contact_ref(new_number())
    inside = nb.notifier.before_turn(conversation_ref=ref, message_ref=None, text="cancel", form_open=True)
    assert inside.replies is None
    outside = nb.notifier.before_turn(conversation_ref=ref, message_ref=None, text="Cancel", form_open=False)
    assert outside.replies and "won't get" in outside.replies[0]


def test_marketing_needs_a_live_consent_and_records_which_one_it_used(nb: NB) -> None:
    number = new_number()
    without = notify(nb, number, "offer", {"rate": "4.1%"})
    drain(nb)
    assert delivery(nb, without.delivery_id)["state"] == "suppressed"
    consent_id = nb.notifier.grant_consent(number, "offers", method="web_form", shown_version="offers-optin-v2",
                                           shown_text="Send me offers on WhatsApp")
    with_consent = notify(nb, number, "offer", {"rate": "4.1%"})
    drain(nb)
    assert delivery(nb, with_consent.delivery_id)["state"] == "sent"
    with nb.notifier.outbox.read() as conn:
        used = conn.execute(select(DeliveryRow.consent_id).where(DeliveryRow.id == with_consent.delivery_id)).scalar_one()
    assert used == consent_id


def test_a_customer_suppression_applies_on_every_channel(nb: NB) -> None:
    number = new_number()
    nb.notifier.suppress(customer_id=f"C-{number}", reason="legal_hold")
    blocked = notify(nb, number, customer_id=f"C-{number}")
    other = notify(nb, number, customer_id=f"D-{number}")
    drain(nb)
    assert delivery(nb, blocked.delivery_id)["state"] == "suppressed"
    assert delivery(nb, other.delivery_id)["state"] == "sent"


@pytest.mark.parametrize("code", [130429, 131056])
def test_throughput_errors_back_off_and_requeue_then_send(nb: NB, code: int) -> None:
    number = new_number()
    nb.graph.meta_error(code, 400, times=1)
    result = notify(nb, number)
    deadline = time.monotonic() + 30
    while delivery(nb, result.delivery_id)["state"] != "sent" and time.monotonic() < deadline:
        drain(nb)
    row = delivery(nb, result.delivery_id)
    assert row["state"] == "sent" and row["attempts"] == 2 and row["error_code"] == code


def test_a_refusal_for_good_fails_the_delivery_with_metas_code(nb: NB) -> None:
    number = new_number()
    nb.graph.meta_error(131026, 400, times=1)  # message undeliverable
    result = notify(nb, number)
    drain(nb)
    row = delivery(nb, result.delivery_id)
    assert row["state"] == "failed" and row["error_code"] == 131026 and row["attempts"] == 1


def test_a_delivery_past_its_template_ttl_expires_instead_of_sending(nb: NB) -> None:
    number = new_number()
    result = notify(nb, number)
    with nb.notifier.outbox.tx() as conn:
        conn.execute(update(DeliveryRow).where(DeliveryRow.id == result.delivery_id).values(expires_at=time.time() - 1))
    drain(nb)
    assert delivery(nb, result.delivery_id)["state"] == "expired" and nb.sent_to(number) == []


def _status(nb: NB, delivery_id: int, state: str, **kw: Any) -> None:
    row = delivery(nb, delivery_id)
    with nb.notifier.outbox.tx() as conn:
        record_status(conn, message_ref=row["message_ref"] or "c-none", status=state, callback_data=kw.pop("callback", None),
                      timestamp=kw.pop("ts", "1749416400"), pricing_category=kw.pop("category", None), **kw)


def test_statuses_only_move_a_delivery_forward_and_keep_pricing_and_errors(nb: NB) -> None:
    number = new_number()
    result = notify(nb, number)
    drain(nb)
    _status(nb, result.delivery_id, "read", ts="1749416500")
    _status(nb, result.delivery_id, "delivered", ts="1749416450", category="utility")  # late, out of order
    _status(nb, result.delivery_id, "sent")  # a repeat
    row = delivery(nb, result.delivery_id)
    assert row["state"] == "read" and row["read_at"] == "1749416500" and row["delivered_at"] == "1749416450"
    assert row["pricing_category"] == "utility"
    other = notify(nb, new_number())
    drain(nb)
    _status(nb, other.delivery_id, "failed",
            errors=[(131047, "Re-engagement message", "More than 24 hours since +1 415 555 0100 replied")])
    _status(nb, other.delivery_id, "delivered")
    row = delivery(nb, other.delivery_id)
    assert row["state"] == "failed" and row["error_code"] == 131047 and row["error_title"] == "Re-engagement message"
    with nb.notifier.outbox.read() as conn:
        detail = conn.execute(select(DeliveryRow.error_detail).where(DeliveryRow.id == other.delivery_id)).scalar_one()
    assert "555" not in detail and "24 hours" in detail


def _left_sending(nb: NB, number: str, template: str = "fraud_alert", params: dict[str, str] | None = None) -> int:
    """A delivery as a worker SIGKILLed mid-call leaves it: sending, its lease lapsed long ago."""
    result = notify(nb, number, template, params)
    with nb.notifier.outbox.tx() as conn:
        conn.execute(update(DeliveryRow).where(DeliveryRow.id == result.delivery_id).values(
            state="sending", rank=2, attempts=1, lease_owner="n-dead-1", lease_until=time.time() - 3600,
            published_at=time.time()))
    return int(result.delivery_id)


def test_reconciliation_resends_a_utility_alert_with_no_status_and_fails_marketing_at_most_once(nb: NB) -> None:
    utility, marketing, answered = new_number(), new_number(), new_number()
    nb.notifier.grant_consent(marketing, "offers", method="app")
    u = _left_sending(nb, utility)
    m = _left_sending(nb, marketing, "offer", {"rate": "3%"})
    a = _left_sending(nb, answered)
    # Meta's status webhook for the one that did go out carries its delivery id.
    with nb.notifier.outbox.tx() as conn:
        assert record_status(conn, message_ref="c-from-webhook", status="sent", callback_data=f"sbn:{a}",
                             timestamp="1749416400", pricing_category="utility")
    drain(nb)
    assert delivery(nb, u)["state"] == "sent" and len(nb.sent_to(utility)) == 1
    assert delivery(nb, m)["state"] == "failed" and "outcome_unknown" in (delivery(nb, m)["error_title"] or "")
    assert delivery(nb, a)["state"] == "sent" and nb.sent_to(answered) == []
    assert delivery(nb, a)["message_ref"] == "c-from-webhook"


def test_reconciliation_waits_until_the_webhook_has_reported_a_later_send(nb: NB) -> None:
    # Under load the status webhook trails the sends: a fixed wait alone resent alerts whose
    # `sent` status was still on its way (27 of 100 in the 100,000-recipient kill bench). The
    # clock is moved ahead (``at``) so no other test's delivery counts as a later send.
    sender = nb.notifier.sender()
    lapsed = time.time() + 10_000  # the dead worker's lease ended then
    at = lapsed + nb.notifier.config.reconcile_after_seconds + sender.send_timeout + 5
    dead, later = new_number(), new_number()
    d = _left_sending(nb, dead)
    with nb.notifier.outbox.tx() as conn:
        conn.execute(update(DeliveryRow).where(DeliveryRow.id == d).values(lease_until=lapsed))
    assert sender.reconcile(at=at) == {"resent": 0, "failed": 0, "waiting": 1}
    # A delivery claimed after the dead worker's last possible send went out...
    v = int(notify(nb, later).delivery_id)
    stamp = stamp_at(lapsed + sender.send_timeout + 1)
    with nb.notifier.outbox.tx() as conn:
        conn.execute(update(DeliveryRow).where(DeliveryRow.id == v).values(
            state="sent", rank=3, sending_at=stamp, message_ref="c-later", lease_owner=None, lease_until=None))
    assert sender.reconcile(at=at)["waiting"] == 1  # ...but its status has not come back yet
    with nb.notifier.outbox.tx() as conn:
        assert record_status(conn, message_ref="c-later", status="sent", callback_data=None,
                             timestamp="1749416400", pricing_category="utility")
    assert sender.reconcile(at=at) == {"resent": 1, "failed": 0, "waiting": 0}
    # Free to claim again (from the moved clock on; the test above sends such a row again).
    assert delivery(nb, d)["state"] == "sending" and "resent" in (delivery(nb, d)["error_title"] or "")
    assert nb.sent_to(dead) == []
    _put_away(nb, d)


def _put_away(nb: NB, delivery_id: int) -> None:
    """Finish a row left due on a moved clock: every later drain would wait its whole timeout."""
    with nb.notifier.outbox.tx() as conn:
        conn.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(
            state="failed", rank=9, lease_owner=None, lease_until=None))


def test_reconciliation_decides_without_a_later_status_after_the_longest_wait(nb: NB) -> None:
    sender = nb.notifier.sender()
    d = _left_sending(nb, new_number())
    lease = time.time() + 50_000  # ahead of every other test's delivery: none is a later send
    with nb.notifier.outbox.tx() as conn:
        conn.execute(update(DeliveryRow).where(DeliveryRow.id == d).values(lease_until=lease))
    longest = nb.notifier.config.reconcile_max_wait_seconds
    assert sender.reconcile(at=lease + longest - 1)["waiting"] >= 1
    assert delivery(nb, d)["state"] == "sending" and delivery(nb, d)["attempts"] == 1
    assert sender.reconcile(at=lease + longest + 1)["resent"] >= 1
    _put_away(nb, d)


def test_evidence_export_shows_consent_what_was_sent_and_when_it_was_read(nb: NB) -> None:
    number = new_number()
    nb.notifier.grant_consent(number, "offers", method="branch", shown_version="branch-form-v7")
    result = notify(nb, number)
    drain(nb)
    _status(nb, result.delivery_id, "read")
    report = nb.notifier.evidence(number)
    json.dumps(report)  # plain JSON
    assert report["contact"]["address"].endswith(number[-4:]) and number not in json.dumps(report)
    [consent] = report["consents"]
    assert consent["method"] == "branch" and consent["shown_version"] == "branch-form-v7"
    [sent] = report["deliveries"]
    assert sent["state"] == "read" and sent["read_at"] and sent["lawful_basis"] == "legitimate_interests"
    assert "$249.00 at Sunset Electronics" in sent["text"]


def test_a_webhooks_statuses_recorded_at_once_end_as_they_do_one_by_one(nb: NB) -> None:
    # record_statuses writes a webhook's statuses in one statement per kind; applying them in
    # rank order must give what applying them one by one, in the order they came, gives.
    import random

    from safebot.notify.sender import StatusInput, record_statuses

    kinds = [("sent", "1749416400"), ("delivered", "1749416450"), ("read", "1749416500"), ("sent", "1749416999")]
    pairs = []
    for _ in range(12):
        pairs.append([notify(nb, new_number()).delivery_id for _ in range(2)])
    drain(nb)
    plan: list[tuple[int, str, str, bool, tuple[Any, ...]]] = []
    for i, _ in enumerate(pairs):
        for status, ts in kinds[: 1 + i % 4]:
            plan.append((i, status, ts, i % 3 == 0, ()))
    plan.append((5, "failed", "1749416600", True, ((131047, "Re-engagement message", "since +1 415 555 0100"),)))
    random.Random(3).shuffle(plan)

    def inputs(column: int) -> list[StatusInput]:
        out = []
        for i, status, ts, by_ref, errors in plan:
            did = pairs[i][column]
            ref = delivery(nb, did)["message_ref"]
            out.append(StatusInput(ref, status, None if by_ref else f"sbn:{did}", ts, "utility", errors))
        return out

    with nb.notifier.outbox.tx() as conn:
        for item in inputs(0):
            record_status(conn, message_ref=item.message_ref, status=item.status, callback_data=item.callback_data,
                          timestamp=item.timestamp, pricing_category=item.pricing_category, errors=item.errors)
    with nb.notifier.outbox.tx() as conn:
        assert record_statuses(conn, inputs(1)) == len(plan)
    keep = ("state", "sent_at", "delivered_at", "read_at", "pricing_category", "error_code", "error_title")
    for one, many in pairs:
        a, b = delivery(nb, one), delivery(nb, many)
        assert {k: a[k] for k in keep} == {k: b[k] for k in keep}
    assert delivery(nb, pairs[5][1])["state"] == "failed" and delivery(nb, pairs[3][1])["state"] == "read"
