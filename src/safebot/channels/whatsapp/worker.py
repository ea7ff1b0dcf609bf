"""Processes the WhatsApp inbox: one task per conversation with work, at most ``parallel`` at
once; inside a conversation, strictly one message (and then its replies) at a time.

The webhook wakes the worker after each delivery it recorded; a poll every
``poll_seconds`` picks up what another process, a crash or a retry delay left behind. A
claim is renewed while its turn runs, so a slow turn is never taken over by a second
worker; a worker that dies stops renewing and its claim lapses after ``lease_seconds``.

Exactly once: the turn marks its message answered in the turn's own transaction, only while
this worker holds the claim (``extra_writes``); a turn whose claim lapsed and was taken over
is rolled back, never applied twice. The replies are queued right after; a worker that dies
in between leaves the message answered, and the next claim sends the bot's ``error`` reply
(the customer is told to try again) instead of running the turn again.

Failures: a turn that raises is retried with backoff, ``max_attempts`` times in all, then
marked failed (the conversation moves on). A reply the Graph API refuses for good is marked
failed with Meta's code; a retryable refusal (rate limits, 5xx, network) waits and is sent
again, in order, before the conversation's next message runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from safebot.channels.whatsapp.compose import to_messages
from safebot.channels.whatsapp.graph import GraphClient, GraphError
from safebot.channels.whatsapp.inbox import CHANNEL, Claimed, Inbox, QueuedReply
from safebot.errors import StoreError
from safebot.serve.engine_hooks import error_reply

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot
    from safebot.serve.metrics import Metrics
    from safebot.stores import UnitOfWork

__all__ = ["WhatsAppWorker"]

log = logging.getLogger("safebot.channels.whatsapp")

#: tries of a store write the worker cannot afford to lose (SQLite may be busy for a moment)
STORE_ATTEMPTS = 6


class _ClaimCheck:
    """Set when the turn's transaction found this worker's claim gone (the turn rolled back)."""

    lapsed = False


class WhatsAppWorker:
    def __init__(
        self,
        bot: Bot,
        inbox: Inbox,
        graph: GraphClient,
        *,
        message_ref: Callable[[str], str],
        unsupported_reply: str,
        metrics: Metrics | None = None,
        parallel: int = 8,
        lease_seconds: float = 30.0,
        poll_seconds: float = 2.0,
        max_attempts: int = 5,
        notify_hooks: Any = None,
    ) -> None:
        self.bot, self.inbox, self.graph = bot, inbox, graph
        #: notifications (issue 10, safebot.notify.whatsapp.NotifyHooks): opt-outs, replies to alerts
        self.notify_hooks = notify_hooks
        self._message_ref = message_ref
        self.unsupported_reply = unsupported_reply
        #: what a customer gets whose replies were lost with a dying worker
        self.recovered_reply = error_reply(bot)
        self.metrics = metrics
        self.parallel, self.lease, self.poll, self.max_attempts = parallel, lease_seconds, poll_seconds, max_attempts
        #: this process's claim owner id (random: a restarted process is a new owner)
        self.owner = f"w-{secrets.token_hex(8)}"
        self._wake = asyncio.Event()
        self._stopping = False
        self._active: dict[str, asyncio.Task[None]] = {}
        self._main: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"WhatsAppWorker(active={len(self._active)})"

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._main = asyncio.get_running_loop().create_task(self._run(), name="whatsapp-worker")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self, timeout: float) -> None:
        """Take no new work; let running turns and sends finish (up to ``timeout``)."""
        self._stopping = True
        self._wake.set()
        if self._main is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
        running = list(self._active.values())
        if running:
            _, pending = await asyncio.wait(running, timeout=timeout)
            for task in pending:  # their claims lapse and another start picks them up
                task.cancel()
            if pending:
                log.warning("%d WhatsApp conversations were still running at shutdown", len(pending))

    @property
    def busy(self) -> int:
        return len(self._active)

    # -- the loop ------------------------------------------------------------------------------
    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._schedule()
            except Exception as exc:  # noqa: BLE001 - the store may be briefly unavailable
                log.error("WhatsApp worker scan failed (%s)", type(exc).__name__)
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll)

    async def _schedule(self) -> None:
        free = self.parallel - len(self._active)
        if free <= 0:
            return
        refs = await anyio.to_thread.run_sync(partial(self.inbox.runnable, limit=self.parallel * 4))
        for ref in refs:
            if free <= 0 or self._stopping:
                break
            if ref in self._active:
                continue
            task = asyncio.get_running_loop().create_task(self._conversation(ref))
            self._active[ref] = task
            task.add_done_callback(partial(self._done, ref))
            free -= 1

    def _done(self, ref: str, _task: object = None) -> None:
        self._active.pop(ref, None)
        if not self._stopping:
            self._wake.set()  # a slot is free; the conversation may have more work

    async def _conversation(self, ref: str) -> None:
        try:
            while not self._stopping:
                if await self._send_next(ref):
                    continue
                claimed = await anyio.to_thread.run_sync(self.inbox.claim_inbound, ref, self.owner, self.lease)
                if claimed is None:
                    return
                await self._process(claimed)
        except Exception as exc:  # noqa: BLE001 - the store gave up: the claims lapse and are retried
            log.error("WhatsApp conversation task failed (%s)", type(exc).__name__)

    async def _store(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A store write that must not be lost to a busy database: retried with backoff.

        Losing the write after a turn ran or a reply went out would run or send it again."""
        for attempt in range(STORE_ATTEMPTS):
            try:
                return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))
            except StoreError:
                if attempt == STORE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.2 * 2 ** attempt)
        return None  # pragma: no cover

    # -- one message ---------------------------------------------------------------------------
    async def _process(self, claimed: Claimed) -> None:
        if claimed.answered:  # its turn committed and its worker died before queueing the replies
            log.warning("a WhatsApp message's replies were lost with its worker; sending the error reply")
            await self._store(self.inbox.finish, claimed, self.owner, to_messages((self.recovered_reply,)))
            return
        if claimed.external_id is None:
            log.info("WhatsApp message dropped: the customer's data was erased")
            await anyio.to_thread.run_sync(self.inbox.drop, claimed, self.owner)
            return
        renewer = asyncio.get_running_loop().create_task(self._renew(claimed.id, outbound=False))
        lost = _ClaimCheck()
        try:
            replies = await self._replies(claimed, lost)
        except Exception as exc:  # noqa: BLE001 - keep the type only: the message may hold text
            if lost.lapsed:
                log.warning("a WhatsApp message's claim lapsed while its turn ran; the turn was rolled back")
                return
            log.error("WhatsApp turn failed (%s), attempt %d", type(exc).__name__, claimed.attempts)
            retry_at = None if claimed.attempts >= self.max_attempts else time.time() + min(60.0, 2.0 ** claimed.attempts)
            await self._store(self.inbox.release, claimed, self.owner, retry_at=retry_at)
            return
        finally:
            renewer.cancel()
        finished = await self._store(self.inbox.finish, claimed, self.owner, replies)
        if not finished:
            log.warning("a WhatsApp message's claim lapsed before its replies were queued; another worker "
                        "sent the error reply")

    async def _replies(self, claimed: Claimed, check: _ClaimCheck) -> list[dict[str, Any]]:
        if claimed.kind == "unsupported" or claimed.text is None:
            return to_messages((self.unsupported_reply,))

        def mark_answered(uow: UnitOfWork) -> None:  # in the turn's transaction
            if not self.inbox.mark_answered(uow, claimed, self.owner, self.lease):
                check.lapsed = True
                raise StoreError("the message's claim lapsed while its turn ran")

        assert claimed.external_id is not None
        # Notifications (issue 10): an opt-out word is recorded and confirmed here, without a
        # turn; a reply tied to an alert runs its turn with slots naming the delivery.
        slots = None
        if self.notify_hooks is not None:
            action = await anyio.to_thread.run_sync(self._notify_inbound, claimed)
            if action.replies is not None:
                return to_messages(action.replies)
            slots = dict(action.slots) or None
        started = time.perf_counter()
        error = blocked = False
        if self.metrics is not None:
            self.metrics.turns_running.labels(CHANNEL).inc()
        try:
            result = await self.bot.handle(claimed.external_id.reveal(), claimed.text.reveal(), channel=CHANNEL,
                                           extra_writes=[mark_answered], slots=slots)
            blocked = bool(result.blocked)
        except BaseException:
            error = True
            raise
        finally:
            if self.metrics is not None:
                self.metrics.turns_running.labels(CHANNEL).dec()
                self.metrics.observe_turn(CHANNEL, time.perf_counter() - started, blocked=blocked, error=error)
        return to_messages(result.replies, getattr(result, "buttons", ()))

    def _notify_inbound(self, claimed: Claimed) -> Any:
        assert claimed.text is not None and claimed.external_id is not None
        external = claimed.external_id.reveal()
        return self.notify_hooks.before_turn(
            conversation_ref=claimed.conversation_ref, message_ref=claimed.message_ref, text=claimed.text.reveal(),
            form_open=lambda: self.bot.state(external).form is not None)

    async def _renew(self, row_id: int, *, outbound: bool) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                kept = await anyio.to_thread.run_sync(
                    partial(self.inbox.renew, row_id, self.owner, self.lease, outbound=outbound))
            except Exception as exc:  # noqa: BLE001
                log.warning("renewing a WhatsApp claim failed (%s)", type(exc).__name__)
                continue
            if not kept:
                return

    # -- replies -------------------------------------------------------------------------------
    async def _send_next(self, ref: str) -> bool:
        """Send ``ref``'s next queued reply; True if one was handled (sent or given up)."""
        reply = await anyio.to_thread.run_sync(self.inbox.claim_outbound, ref, self.owner, self.lease)
        if reply is None:
            return False
        if reply.to is None or not reply.message:
            await self._store(self.inbox.send_failed, reply, code=None, retry_at=None)
            return True
        renewer = asyncio.get_running_loop().create_task(self._renew(reply.id, outbound=True))
        try:
            wamid = await self.graph.send(reply.to, reply.message)
        except GraphError as exc:
            await self._send_error(reply, exc)
            return not exc.retryable  # a retryable one waits: nothing more for now
        finally:
            renewer.cancel()
        await self._store(self.inbox.accepted, reply, self._message_ref(wamid.reveal()))
        return True

    async def _send_error(self, reply: QueuedReply, exc: GraphError) -> None:
        retry_at = None
        if exc.retryable and reply.attempts < self.max_attempts:
            retry_at = time.time() + min(300.0, 5.0 * 2 ** reply.attempts)
        await self._store(self.inbox.send_failed, reply, code=exc.platform_code, retry_at=retry_at)
