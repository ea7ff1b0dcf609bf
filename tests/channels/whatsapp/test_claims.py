"""The turn and its inbound message commit together (``bot.handle(..., extra_writes=...)``):

* a worker whose claim lapsed and was taken over while its turn ran is rolled back at write
  (the turn is not applied), and the worker that holds the claim runs it once;
* a worker that dies (or fails) after its turn committed and before it queued the replies
  leaves the message ``answered``: the next claim sends the bot's error reply and never runs
  the turn again.

In-process, on the worker's own methods (no server, no polling loop racing the test).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import meta_payloads as meta
import pytest
from serve_harness import make_bot_dir
from wa_helpers import new_sender, wamid

from safebot.channels.whatsapp.inbox import Claimed, Inbox, external_id
from safebot.channels.whatsapp.payloads import Delivery, extract
from safebot.channels.whatsapp.worker import WhatsAppWorker
from safebot.engine import Bot
from safebot.serve.engine_hooks import conversation_ref, error_reply, message_ref
from safebot.stores._serving_schema import WhatsAppInboundRow


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    b = Bot.load(make_bot_dir(tmp_path_factory.mktemp("claims") / "servebank", "http://127.0.0.1:9"), exporters=False)
    yield b
    b.close()


@pytest.fixture
def inbox(bot: Bot) -> Inbox:
    return Inbox(bot.store, conversation_ref=lambda e: conversation_ref(bot, e),
                 message_ref=lambda w: message_ref(bot, "whatsapp", w))


def worker(bot: Bot, inbox: Inbox, owner: str) -> WhatsAppWorker:
    w = WhatsAppWorker(bot, inbox, graph=None, message_ref=lambda m: message_ref(bot, "whatsapp", m),  # type: ignore[arg-type]
                       unsupported_reply="text only, please", lease_seconds=30.0)
    w.owner = owner
    return w


def receive(bot: Bot, inbox: Inbox, text: str) -> tuple[str, str]:
    sender = new_sender()
    body = meta.meta_bytes(meta.delivery([meta.value(messages=[meta.text(wamid(sender), text, sender)])]))
    assert inbox.record(list(extract(Delivery.model_validate_json(body)))).new_messages == 1
    return sender, conversation_ref(bot, external_id(sender))


def row(bot: Bot, ref: str) -> tuple[str, str | None]:
    from sqlalchemy import select

    i = WhatsAppInboundRow
    with bot.store.engine.connect() as conn:
        r = conn.execute(select(i.state, i.lease_owner).where(i.conversation_ref == ref)).one()
    return str(r.state), r.lease_owner


def queued_texts(inbox: Inbox, ref: str) -> list[str]:
    out = []
    while (reply := inbox.claim_outbound(ref, "reader", 30.0)) is not None:
        message: Any = reply.message
        out.append(message["text"]["body"])
        inbox.send_failed(reply, code=None, retry_at=None)  # out of the way: the next one
    return out


def user_turns(bot: Bot, sender: str) -> list[int]:
    return [r["turn"] for r in bot.transcript(external_id(sender)) if r["kind"] == "user"]


def test_a_turn_whose_claim_was_taken_over_is_rolled_back(bot: Bot, inbox: Inbox) -> None:
    sender, ref = receive(bot, inbox, "hello")
    mine = inbox.claim_inbound(ref, "w-a", 0.2)
    assert mine is not None
    time.sleep(0.3)  # A's claim lapses (A was paused, or its renewals failed)...
    theirs = inbox.claim_inbound(ref, "w-b", 30.0)  # ...and B takes the message over
    assert theirs is not None and theirs.id == mine.id

    asyncio.run(worker(bot, inbox, "w-a")._process(mine))  # A's turn reaches its write late
    assert user_turns(bot, sender) == []  # rolled back with the claim check: not applied
    assert row(bot, ref) == ("processing", "w-b")
    assert queued_texts(inbox, ref) == []

    asyncio.run(worker(bot, inbox, "w-b")._process(theirs))
    assert user_turns(bot, sender) == [1]  # applied once, by the claim's holder
    assert row(bot, ref) == ("done", None)
    assert len(queued_texts(inbox, ref)) == 1


def test_an_answered_message_is_never_run_again(bot: Bot, inbox: Inbox) -> None:
    sender, ref = receive(bot, inbox, "hello")
    claimed = inbox.claim_inbound(ref, "w-a", 30.0)
    assert claimed is not None and claimed.text is not None and claimed.external_id is not None

    def mark(uow: Any, c: Claimed = claimed) -> None:
        assert inbox.mark_answered(uow, c, "w-a", 30.0)

    # A's turn commits with its message marked; then A fails before queueing the replies
    bot.handle_sync(claimed.external_id.reveal(), claimed.text.reveal(), channel="whatsapp", extra_writes=[mark])
    assert row(bot, ref) == ("answered", "w-a")
    inbox.release(claimed, "w-a", retry_at=time.time() + 60)  # a retry must not re-run it...
    assert row(bot, ref) == ("answered", None)  # ...so it stays answered, and free at once

    again = inbox.claim_inbound(ref, "w-b", 30.0)
    assert again is not None and again.answered and again.id == claimed.id
    asyncio.run(worker(bot, inbox, "w-b")._process(again))
    assert user_turns(bot, sender) == [1]  # the turn ran once
    assert row(bot, ref) == ("done", None)
    assert queued_texts(inbox, ref) == [error_reply(bot)]  # the customer is told to try again
