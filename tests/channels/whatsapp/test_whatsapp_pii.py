"""Planted PII in every inbound kind, then every sink is scanned: the store's tables and the
SQLite file's bytes, the exporters' files, every log record, the metrics, every response body
and everything the fake Graph API received (except the recipient, which it must see)."""

from __future__ import annotations

import meta_payloads as meta
from serve_harness import Served, graph_message_texts
from wa_helpers import body_of, new_sender, settle, wamid

from safebot.testing import find_leaks

NAME = "John Smith"


def test_no_planted_value_reaches_any_sink(wa: Served) -> None:
    sender = new_sender()
    ids = [wamid(sender) for _ in range(13)]
    messages = [
        meta.text(ids[0], f"please freeze my card {meta.CARD}", sender),
        meta.text(ids[1], f"my ssn is {meta.SSN} and my email is {meta.EMAIL}", sender),
        meta.text(ids[2], f"my name is {NAME}, call me on {meta.OTHER_PHONE}", sender),
        meta.button_reply(ids[3], "card-row", f"card {meta.CARD}", sender),
        meta.list_reply(ids[4], "/greet", "Hello", f"mail {meta.EMAIL}", sender),
        meta.template_button(ids[5], f"my ssn is {meta.SSN}", "promo-1", sender),
        meta.image(ids[6], f"my card {meta.CARD}, ssn {meta.SSN}", sender),
        meta.audio(ids[7], sender),
        meta.location(ids[8], sender),
        meta.contacts(ids[9], sender),
        meta.reaction(ids[10], ids[0], sender),
        meta.unsupported(ids[11], sender),
        meta.text(ids[12], "freeze my card", sender),
    ]
    # Meta sends the customer's profile name with every message: planted too
    assert wa.deliver(meta.meta_bytes(meta.delivery([meta.value(messages=messages)]))).status_code == 200
    replies = settle(wa, sender, len(messages))
    outbound_ids = [r.message_id for r in replies]
    for mid in outbound_ids[:3]:
        wa.deliver(meta.meta_bytes(meta.delivery([meta.value(statuses=[
            meta.status(mid, "sent", recipient=sender),
            meta.status(mid, "failed", recipient=sender, errors=meta.UNDELIVERABLE)])])))

    planted = [meta.CARD, meta.SSN, meta.EMAIL, NAME, meta.OTHER_PHONE, meta.HOME, meta.PROFILE_NAME,
               "Agnieszka", sender, *ids, *outbound_ids]
    sinks = wa.sinks()
    sinks["fake graph (minus the recipient)"] = graph_message_texts(wa.graph)
    assert find_leaks(planted, sinks) == []
    # the scan can see: the platform's raw log does hold the recipient, and the store has rows
    assert find_leaks([sender], {"graph": [wa.graph.log_text()]}) == [("graph", "pii[0]")]
    assert len(sinks["store tables"]) > 50 and sinks["logs"]
    # the customer does get their own masked echo
    assert body_of(replies[0])["text"]["body"] == "Card ****6467 is now frozen."
