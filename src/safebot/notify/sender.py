"""Sends deliveries: consent at send time, shared rate limits, ``sending`` before the call.

:meth:`Sender.process` takes delivery ids (a broker message, or the in-process drain) and:

1. checks each recipient's pair gap (Redis); the ones that must wait are deferred;
2. claims the rest in groups of at most :data:`GROUP`, each in one statement that moves them
   from ``queued`` to ``sending`` only if consent and the suppression list allow it *now*, with
   a lease naming this worker; the ones that may not go become ``suppressed``. A group is
   claimed only when this process's pacer has room for it (two groups), so a claimed delivery
   waits a fraction of a second, not a whole batch, between its consent check and its send;
3. the pacer (one coroutine per process) asks the per-number limit for sends *now* (GCRA at
   send time, :mod:`safebot.notify.ratelimit`) and sends each as it is granted, through the
   Graph API, tagged with ``biz_opaque_callback_data = "sbn:<delivery id>"`` (and the same id
   in every quick-reply payload);
4. records ``sent`` with the keyed hash of the wamid, or a retry (the platform refused, so
   nothing went out: the row stays ``sending`` without an owner until ``not_before``), or
   ``failed`` with Meta's code.

The guarantee (docs/notifications.md): no delivery is ever sent by two workers at once (the
claim), and a retry happens only after a refusal, which means nothing was sent. The one gap
is a worker that dies after the platform accepted a message and before it recorded the
answer. Such a row stays ``sending`` with a lapsed lease; the status webhooks Meta sends for
every accepted message carry the delivery id and move it on (:func:`record_status`). If none
arrived ``reconcile_after_seconds`` after the lease lapsed, and the webhook has since reported
on a later send (or ``reconcile_max_wait_seconds`` passed), a UTILITY delivery is sent again
(at least once: a fraud alert or a disruption notice must arrive) and an AUTHENTICATION or
MARKETING one fails as ``outcome_unknown`` (at most once: a stale code or a second promotion
does harm).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Connection, Table, and_, bindparam, case, func, or_, select, update

from safebot.notify.consent import sendable
from safebot.notify.outbox import RANK, Outbox
from safebot.sensitive import Sensitive
from safebot.stores._base import now, stamp_at
from safebot.stores._notify_schema import DeliveryRow

if TYPE_CHECKING:  # pragma: no cover
    from safebot.channels.whatsapp.graph import GraphClient
    from safebot.notify.config import NotifyConfig
    from safebot.notify.ratelimit import Limiter
    from safebot.notify.templates import Catalog

__all__ = ["AT_LEAST_ONCE", "CALLBACK_PREFIX", "SendStats", "Sender", "StatusInput", "callback_id", "record_status",
           "record_statuses"]

log = logging.getLogger("safebot.notify")

CALLBACK_PREFIX = "sbn:"
#: categories resent after an unknown outcome; the others fail (at most once)
AT_LEAST_ONCE = frozenset({"UTILITY"})
#: deliveries claimed together (one consent check) and handed to the pacer, at most
GROUP = 50
#: sends asked of the per-number limit in one call, at most
MAX_GRANT = 64
#: Meta's throughput codes: 130429 slows the number down, 131056 the pair (this recipient)
_NUMBER_THROTTLE, _PAIR_THROTTLE = 130429, 131056
_CLAIMABLE = or_(DeliveryRow.state == "queued", and_(DeliveryRow.state == "sending", DeliveryRow.lease_owner.is_(None)))
_IDS: Any = bindparam("ids", expanding=True)
_D = DeliveryRow
_TABLE = cast(Table, DeliveryRow.__table__)
# Built once: constructing these per tick costs more than running them.
_EXPIRE = (update(_D).where(_D.id.in_(_IDS), _CLAIMABLE, _D.expires_at.is_not(None), _D.expires_at < bindparam("t"))
           .values(state="expired", rank=RANK["expired"], finished_at=bindparam("stamp"), updated_at=bindparam("stamp"))
           .returning(_D.id))
_READY = select(_D.id, _D.contact_ref, _D.not_before).where(_D.id.in_(_IDS), _CLAIMABLE).order_by(_D.id)
_CLAIM = (update(_D).where(_D.id.in_(_IDS), _CLAIMABLE, sendable(_D))
          .values(state="sending", rank=RANK["sending"], lease_owner=bindparam("owner"), lease_until=bindparam("lease"),
                  attempts=_D.attempts + 1, sending_at=bindparam("stamp"), updated_at=bindparam("stamp"))
          .returning(_D.id, _D.contact_ref, _D.key_ref, _D.template, _D.category, _D.attempts, _D.params,
                     _D.lawful_basis, _D.purpose, _D.channel))
_SUPPRESS = (update(_D).where(_D.id.in_(_IDS), _CLAIMABLE, ~sendable(_D))
             .values(state="suppressed", rank=RANK["suppressed"], finished_at=bindparam("stamp"),
                     updated_at=bindparam("stamp"))
             .returning(_D.id))
_CALLBACK = re.compile(r"sbn:([0-9]{1,18})(?::([0-9]{1,2}))?")
T = TypeVar("T")


def callback_id(value: str | None) -> tuple[int, int | None] | None:
    """``(delivery id, button index)`` from ``sbn:<id>[:<i>]``, or None.

    >>> callback_id("sbn:42:1"), callback_id("sbn:42"), callback_id("other")
    ((42, 1), (42, None), None)
    """
    m = _CALLBACK.fullmatch(value or "")
    if m is None:
        return None
    return int(m.group(1)), None if m.group(2) is None else int(m.group(2))


@dataclass
class SendStats:
    sent: int = 0
    suppressed: int = 0
    expired: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    skipped: int = 0

    def add(self, other: SendStats) -> None:
        for k in vars(self):
            setattr(self, k, getattr(self, k) + getattr(other, k))


@dataclass
class _Item:
    id: int
    contact_ref: str
    key_ref: str
    template: str
    category: str
    attempts: int
    to: Sensitive[str] | None = None
    message: dict[str, Any] = field(default_factory=dict)
    # outcome
    wamid: Sensitive[str] | None = None
    code: int | None = None
    http: int | None = None
    retryable: bool = False
    problem: str | None = None


@dataclass
class _Claim:
    items: list[_Item] = field(default_factory=list)
    unsendable: list[_Item] = field(default_factory=list)
    suppressed: int = 0
    #: wall-clock time the claim's lease ends: no send of it may start later (the sweeper may
    #: have handed the row to another worker by then)
    lease_until: float = 0.0


class _Room:
    """How many claimed deliveries may wait in the pacer: a thread takes room for a whole group
    before claiming it (all or nothing, so threads cannot deadlock on partial room)."""

    def __init__(self, size: int) -> None:
        self.size, self.used = size, 0
        self._cond = threading.Condition()

    def take(self, n: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.used + n <= max(self.size, n))
            self.used += n

    def give(self, n: int) -> None:
        with self._cond:
            self.used -= n
            self._cond.notify_all()


@dataclass
class _Group:
    """One claim's items in the pacer: done when each was sent or given up."""

    remaining: int
    done: asyncio.Future[None]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


class _Loop:
    """A private event loop on a thread: the async Graph client lives here, whichever thread
    (a Dramatiq worker thread, the drain) asks for sends."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="safebot-notify-loop", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


class Sender:
    """Sends deliveries of one bot from one process (thread-safe; reuse one per process)."""

    def __init__(
        self,
        outbox: Outbox,
        catalog: Catalog,
        limiter: Limiter,
        graph_factory: Callable[[], GraphClient],
        config: NotifyConfig,
        *,
        phone_number_id: str,
        message_ref: Callable[[str], str],
        publish: Callable[[Sequence[int], float], None] | None = None,
        send_timeout: float = 10.0,
    ) -> None:
        self.outbox, self.catalog, self.limiter, self.config = outbox, catalog, limiter, config
        #: the longest one Graph API call may take: a send started just before its lease ended
        #: is over by the time the sweeper may reconcile it
        self.send_timeout = float(send_timeout)
        self.number = phone_number_id
        self._message_ref = message_ref
        self._publish = publish
        self.group = max(1, min(GROUP, limiter.per_second // 10))
        self._room = _Room(2 * self.group)
        self._queue: deque[tuple[_Item, float, _Group]] = deque()
        self._loop = _Loop()
        self._graph = self._loop.run(self._make_graph(graph_factory))
        self._wake: asyncio.Event = self._loop.run(self._make_event())
        self._pacer = asyncio.run_coroutine_threadsafe(self._pace_forever(), self._loop.loop)
        self.owner_prefix = f"n-{secrets.token_hex(6)}"

    def __repr__(self) -> str:
        return "Sender()"

    @staticmethod
    async def _make_graph(factory: Callable[[], GraphClient]) -> GraphClient:
        return factory()

    @staticmethod
    async def _make_event() -> asyncio.Event:
        return asyncio.Event()

    def close(self) -> None:
        try:
            self._pacer.cancel()
            self._loop.run(self._graph.aclose())
            aclose = getattr(self.limiter, "aclose", None)
            if aclose is not None:
                self._loop.run(aclose())
        finally:
            self._loop.close()

    # -- one batch ----------------------------------------------------------------------------
    def process(self, ids: Sequence[int]) -> SendStats:
        """Send what is sendable now among ``ids``; everything else is left as it should be."""
        stats = SendStats()
        ids = sorted({int(i) for i in ids})
        if not ids:
            return stats
        owner = f"{self.owner_prefix}-{threading.get_ident()}"
        t = time.time()
        with self.outbox.tx() as conn:
            stats.expired = len(conn.execute(_EXPIRE, {"ids": ids, "t": t, "stamp": now()}).all())
            rows = conn.execute(_READY, {"ids": ids}).all()
        ready = [r for r in rows if r.not_before <= t]
        stats.skipped = len(ids) - stats.expired - len(ready)
        if not ready:
            return stats
        waits = self.limiter.hold_pairs([r.contact_ref for r in ready])
        allowed = [(int(r.id), r.contact_ref) for r, w in zip(ready, waits, strict=True) if w <= 0]
        deferred = [(int(r.id), w) for r, w in zip(ready, waits, strict=True) if w > 0]
        if deferred:
            stats.deferred = len(deferred)
            self._defer(deferred)
        # Claim group by group, each only once the pacer has room for it (consent is checked
        # then), while the previous groups' sends are still in flight.
        pending: list[tuple[Any, list[_Item], list[_Item]]] = []
        try:
            for start in range(0, len(allowed), self.group):
                group = allowed[start:start + self.group]
                self._room.take(len(group))
                try:
                    claim = self._claim(group, owner)
                except BaseException:
                    self._room.give(len(group))
                    raise
                self._room.give(len(group) - len(claim.items))  # the pacer gives back the rest
                stats.suppressed += claim.suppressed
                future = asyncio.run_coroutine_threadsafe(self._pace(claim.items, claim.lease_until), self._loop.loop)
                pending.append((future, claim.items, claim.unsendable))
                while pending and pending[0][0].done():
                    stats.add(self._finish(pending.pop(0), owner))
        finally:
            while pending:
                stats.add(self._finish(pending.pop(0), owner))
        return stats

    def _finish(self, entry: tuple[Any, list[_Item], list[_Item]], owner: str) -> SendStats:
        future, items, unsendable = entry
        future.result()
        return self._record(unsendable, items, owner)

    def _claim(self, group: Sequence[tuple[int, str]], owner: str) -> _Claim:
        d = DeliveryRow
        ids = [i for i, _ in group]
        t = time.time()
        lease = t + self.config.sending_lease_seconds
        stamp = now()
        out = _Claim(lease_until=lease)
        with self.outbox.tx() as conn:
            claimed = conn.execute(_CLAIM, {"ids": ids, "owner": owner, "lease": lease, "stamp": stamp}).all()
            won = {int(r.id) for r in claimed}
            lost = [i for i in ids if i not in won]
            out.suppressed = len(conn.execute(_SUPPRESS, {"ids": lost, "stamp": stamp}).all()) if lost else 0
            keys = self.outbox.contacts(conn, {r.contact_ref for r in claimed})
            for r in claimed:
                item = _Item(int(r.id), r.contact_ref, r.key_ref, r.template, r.category, int(r.attempts))
                self._compose(item, keys.get(r.contact_ref), r.params)
                if r.lawful_basis == "consent":
                    from safebot.notify.consent import live_consent_id

                    cid = live_consent_id(conn, r.contact_ref, r.channel, r.purpose)
                    conn.execute(update(d).where(d.id == item.id).values(consent_id=cid))
                (out.items if item.to is not None else out.unsendable).append(item)
        return out

    def _compose(self, item: _Item, contact: tuple[Sensitive[str], Any] | None, params_blob: bytes | None) -> None:
        try:
            template = self.catalog.get(item.template)
        except Exception:  # noqa: BLE001 - a template removed since it was queued
            item.problem = "template no longer in notifications.yaml"
            return
        if contact is None or params_blob is None:
            item.problem = "no readable address or parameters (erased)"
            return
        to, key = contact
        params = self.outbox.decrypt_params(key, item.contact_ref, item.key_ref, params_blob)
        item.to = to
        item.message = {
            "type": "template",
            "template": {"name": template.name, "language": {"code": template.language},
                         "components": template.components(params, lambda i: f"{CALLBACK_PREFIX}{item.id}:{i}")},
            "biz_opaque_callback_data": f"{CALLBACK_PREFIX}{item.id}",
        }
        if not item.message["template"]["components"]:
            del item.message["template"]["components"]

    async def _pace(self, items: Sequence[_Item], lease_until: float) -> None:
        """Hand one claim's items to the pacer; return once each was sent or given up."""
        if not items:
            return
        group = _Group(len(items), asyncio.get_running_loop().create_future())
        self._queue.extend((item, lease_until, group) for item in items)
        self._wake.set()
        await group.done
        if group.tasks:
            await asyncio.gather(*group.tasks)

    async def _pace_forever(self) -> None:
        """The process's one pacer: ask the per-number limit for sends now, send what it grants,
        wait as long as it says. No send starts once its claim's lease has ended (the sweeper
        may have handed the row to another worker by then)."""
        loop = asyncio.get_running_loop()
        while True:
            while self._queue and time.time() >= self._queue[0][1]:
                item, _, group = self._queue.popleft()
                item.retryable, item.problem = True, "lease ended before the send"
                self._dispatched(group)
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            want = min(len(self._queue), MAX_GRANT)
            try:
                grant = await self.limiter.acquire(self.number, want)
            except Exception as exc:  # noqa: BLE001 - Redis briefly away: nothing is sent meanwhile
                log.error("the rate limiter failed (%s); waiting", type(exc).__name__)
                await asyncio.sleep(0.1)
                continue
            for _ in range(grant.granted):
                item, lease_until, group = self._queue.popleft()
                if time.time() >= lease_until:
                    item.retryable, item.problem = True, "lease ended before the send"
                else:
                    group.tasks.append(loop.create_task(self._send_one(item)))
                self._dispatched(group)
            if self._queue and grant.granted < want:
                await asyncio.sleep(max(grant.wait, 0.0005))

    def _dispatched(self, group: _Group) -> None:
        self._room.give(1)
        group.remaining -= 1
        if group.remaining == 0 and not group.done.done():
            group.done.set_result(None)

    async def _send_one(self, item: _Item) -> None:
        from safebot.channels.whatsapp.graph import GraphError

        assert item.to is not None
        try:
            item.wamid = await self._graph.send(item.to, item.message)
        except GraphError as exc:
            item.code, item.http, item.retryable = exc.platform_code, exc.http_status, exc.retryable
        except Exception as exc:  # noqa: BLE001 - keep the type only
            log.error("notification send raised %s", type(exc).__name__)
            item.retryable = True

    def _record(self, unsendable: Sequence[_Item], items: Sequence[_Item], owner: str) -> SendStats:
        stats = SendStats()
        d = _TABLE
        stamp, t = now(), time.time()
        sent = [i for i in items if i.wamid is not None]
        retry = [i for i in items if i.wamid is None and i.retryable and i.attempts < self.config.max_tries]
        failed = [i for i in items if i.wamid is None and i not in retry]
        republish: list[tuple[int, float]] = []
        with self.outbox.tx() as conn:
            if sent:
                params = [{"did": i.id, "mref": self._message_ref(i.wamid.reveal()) if i.wamid else None} for i in sent]
                conn.execute(
                    update(d).where(d.c.id == bindparam("did"), d.c.rank < RANK["sent"])
                    .values(state="sent", rank=RANK["sent"], message_ref=bindparam("mref"), sent_at=stamp,
                            lease_owner=None, lease_until=None, updated_at=stamp), params)
                # A status webhook got there first: keep its state, fill in the rest.
                conn.execute(
                    update(d).where(d.c.id == bindparam("did"), d.c.message_ref.is_(None))
                    .values(message_ref=bindparam("mref")), params)
                conn.execute(
                    update(d).where(d.c.id == bindparam("did"), d.c.sent_at.is_(None))
                    .values(sent_at=stamp, lease_owner=None, lease_until=None), params)
                stats.sent = len(sent)
            for i in retry:
                backoff = self._backoff(i)
                if i.code == _NUMBER_THROTTLE:
                    self.limiter.slow_down(self.number, 1.0)
                elif i.code == _PAIR_THROTTLE:
                    self.limiter.hold_recipient(i.contact_ref, max(1.0, self.config.per_recipient_seconds))
                unsent = i.problem is not None  # never left: the try does not count
                if unsent:
                    backoff = 0.0
                conn.execute(update(d).where(d.c.id == i.id, d.c.lease_owner == owner).values(
                    lease_owner=None, lease_until=None, not_before=t + backoff, published_at=t,
                    attempts=d.c.attempts - (1 if unsent else 0),
                    error_code=i.code, error_title=i.problem or _title(i), updated_at=stamp))
                republish.append((i.id, backoff))
            stats.retried = len(retry)
            for i in [*failed, *unsendable]:
                title = i.problem if i.problem is not None else _title(i)
                conn.execute(update(d).where(d.c.id == i.id, d.c.lease_owner == owner).values(
                    state="failed", rank=RANK["failed"], lease_owner=None, lease_until=None, error_code=i.code,
                    error_title=title, finished_at=stamp, updated_at=stamp))
            stats.failed = len(failed) + len(unsendable)
        if republish:
            for delay in sorted({round(b, 1) for _, b in republish}):
                self._republish([i for i, b in republish if round(b, 1) == delay], delay)
        return stats

    def _backoff(self, item: _Item) -> float:
        base = 1.0 if item.code in (_NUMBER_THROTTLE, None) else 2.0
        if item.code == _PAIR_THROTTLE:
            base = max(1.0, self.config.per_recipient_seconds)
        return float(min(300.0, base * 2 ** max(0, item.attempts - 1)))

    def _defer(self, deferred: Sequence[tuple[int, float]]) -> None:
        d = _TABLE
        t = time.time()
        with self.outbox.tx() as conn:
            conn.execute(
                update(d).where(d.c.id == bindparam("did"), d.c.lease_owner.is_(None))
                .values(not_before=bindparam("nb"), published_at=t),
                [{"did": i, "nb": t + w} for i, w in deferred])
        for delay in sorted({round(w, 1) for _, w in deferred}):
            self._republish([i for i, w in deferred if round(w, 1) == delay], delay)

    def _republish(self, ids: Sequence[int], delay: float) -> None:
        if self._publish is None:
            return  # the in-process drain picks them up after not_before
        try:
            self._publish(list(ids), delay)
        except Exception as exc:  # noqa: BLE001 - the relay republishes stale rows
            log.warning("republishing %d deliveries failed (%s); the relay will", len(ids), type(exc).__name__)

    # -- reconciliation ------------------------------------------------------------------------
    def reconcile(self, *, at: float | None = None, limit: int = 1000) -> dict[str, int]:
        """Rows left ``sending`` by a worker that died mid-call (see the module doc).

        A row is decided only once its lease lapsed ``reconcile_after_seconds`` ago *and* the
        status webhooks have caught up with it: a status has arrived for a delivery claimed
        after the row's last possible send. Under load the webhook trails the sends by seconds
        to minutes, and a fixed wait alone resent messages whose ``sent`` status was still on
        its way. With nothing sent after it (the last row of a send, the webhook down), it is
        decided after ``reconcile_max_wait_seconds``. Returns counts: resent, failed, waiting.
        """
        d = DeliveryRow
        t = time.time() if at is None else at
        # No send starts after its lease (see _pace_forever) and none lasts longer than send_timeout.
        cutoff = t - max(self.config.reconcile_after_seconds, self.send_timeout + 1.0)
        last_resort = t - max(self.config.reconcile_max_wait_seconds, self.config.reconcile_after_seconds)
        stamp = now()
        with self.outbox.tx() as conn:
            stale = conn.execute(
                select(d.id, d.category, d.lease_until)
                .where(d.state == "sending", d.lease_owner.is_not(None), d.lease_until < cutoff)
                .limit(limit)
            ).all()
            if not stale:
                return {"resent": 0, "failed": 0, "waiting": 0}
            caught_up = self._statuses_caught_up_to(conn, min(float(r.lease_until) for r in stale))
            due = [r for r in stale if r.lease_until < last_resort
                   or (caught_up is not None and r.lease_until + self.send_timeout < caught_up)]
            again = [int(r.id) for r in due if r.category in AT_LEAST_ONCE]
            give_up = [int(r.id) for r in due if r.category not in AT_LEAST_ONCE]
            if again:
                conn.execute(update(d).where(d.id.in_(again), d.state == "sending", d.lease_owner.is_not(None),
                                             d.lease_until < cutoff)
                             .values(lease_owner=None, lease_until=None, not_before=t, published_at=None,
                                     error_title="resent: no status after the worker stopped mid-send",
                                     updated_at=stamp))
            if give_up:
                conn.execute(update(d).where(d.id.in_(give_up), d.state == "sending", d.lease_owner.is_not(None),
                                             d.lease_until < cutoff)
                             .values(state="failed", rank=RANK["failed"], lease_owner=None, lease_until=None,
                                     error_title="outcome_unknown: the worker stopped mid-send; not resent (at most once)",
                                     finished_at=stamp, updated_at=stamp))
        waiting = len(stale) - len(due)
        if again or give_up:
            log.warning("reconciled %d deliveries left sending (%d resent, %d failed)",
                        len(again) + len(give_up), len(again), len(give_up))
        if waiting:
            log.info("%d deliveries left sending wait for the status webhooks to catch up", waiting)
        return {"resent": len(again), "failed": len(give_up), "waiting": waiting}

    @staticmethod
    def _statuses_caught_up_to(conn: Connection, since: float) -> float | None:
        """The latest claim time (epoch seconds) of a delivery claimed after ``since`` whose
        status webhook has arrived; None if there is none."""
        d = DeliveryRow
        latest = conn.execute(
            select(func.max(d.sending_at)).where(d.sending_at > stamp_at(since), d.status_at.is_not(None))
        ).scalar()
        return None if latest is None else datetime.fromisoformat(latest).timestamp()


def _title(item: _Item) -> str:
    if item.code is None and item.http is None:
        return "network error"
    return f"Graph API error (HTTP {item.http}, code {item.code})"


_STATUS_RANK = {"sent": RANK["sent"], "delivered": RANK["delivered"], "read": RANK["read"], "failed": RANK["failed"]}
_STAMP = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "finished_at"}
_DIGITS = re.compile(r"[0-9][0-9 +().-]{5,}[0-9]")


@dataclass(frozen=True)
class StatusInput:
    """One status webhook item, as :func:`record_statuses` takes it (no raw wamid: its hash)."""

    message_ref: str
    status: str
    callback_data: str | None = None
    timestamp: str | None = None
    pricing_category: str | None = None
    errors: Sequence[tuple[int, str | None, str | None]] = ()


def record_status(
    conn: Connection, *, message_ref: str, status: str, callback_data: str | None, timestamp: str | None,
    pricing_category: str | None, errors: Sequence[tuple[int, str | None, str | None]] = (),
) -> bool:
    """A status webhook for a notification: move its delivery forward (repeats and statuses
    out of order are harmless), keep the pricing category and a failure's code and details.

    The delivery is found by the callback data the send carried (which also reconciles a row a
    dead worker left ``sending``) or by the message's hashed wamid. True if one was updated.
    """
    return record_statuses(conn, [StatusInput(message_ref, status, callback_data, timestamp, pricing_category,
                                              tuple(errors))]) > 0


def _status_update(status: str, by_id: bool, failure: bool) -> Any:
    """The one UPDATE for every status of one kind (``sent``, found by delivery id, ...)."""
    d = _TABLE
    rank = _STATUS_RANK[status]
    ahead = d.c.rank < rank  # forward only: a repeat or a late, lesser status moves nothing
    stamp_col = getattr(d.c, _STAMP[status])
    stamp: Any = bindparam("stamp")
    values: dict[str, Any] = {
        "state": case((ahead, status), else_=d.c.state), "rank": case((ahead, rank), else_=d.c.rank),
        "lease_owner": case((ahead, None), else_=d.c.lease_owner),
        "lease_until": case((ahead, None), else_=d.c.lease_until),
        "updated_at": case((ahead, stamp), else_=d.c.updated_at),
        _STAMP[status]: func.coalesce(stamp_col, bindparam("when")), "status_at": func.coalesce(d.c.status_at, stamp),
        "message_ref": func.coalesce(d.c.message_ref, bindparam("mref")),
        "pricing_category": func.coalesce(d.c.pricing_category, bindparam("pricing")),
    }
    if failure:
        values.update(error_code=bindparam("code"), error_title=bindparam("title"), error_detail=bindparam("detail"))
    where = d.c.id == bindparam("did") if by_id else d.c.message_ref == bindparam("wref")
    return update(d).where(where).values(values)


_STATUS_UPDATES = {(s, by_id, failure): _status_update(s, by_id, failure)
                   for s in _STATUS_RANK for by_id in (True, False) for failure in (True, False)}


def record_statuses(conn: Connection, items: Sequence[StatusInput]) -> int:
    """:func:`record_status` for a whole webhook delivery: one statement per kind of status,
    executed for all its items at once (a mass send's webhook carries hundreds of statuses a
    second, and a statement per status kept ``safebot serve`` minutes behind the sends).

    Kinds are applied in rank order (sent, delivered, read, failed), so a delivery's ``sent``
    and ``read`` in one webhook end as ``read`` whatever their order. Returns the number of
    deliveries updated (a delivery named twice counts twice)."""
    stamp = now()
    groups: dict[tuple[str, bool, bool], list[dict[str, Any]]] = {}
    for item in items:
        if item.status not in _STATUS_RANK:
            continue
        parsed = callback_id(item.callback_data)
        failure = item.status == "failed" and bool(item.errors)
        # Parameter names must not be column names: SQLAlchemy would SET those columns too.
        params: dict[str, Any] = {
            "stamp": stamp, "when": item.timestamp if item.timestamp and item.timestamp.isdigit() else stamp,
            "mref": item.message_ref,
            "pricing": item.pricing_category[:32] if item.pricing_category else None,
        }
        if parsed is not None:
            params["did"] = parsed[0]
        else:
            params["wref"] = item.message_ref
        if failure:
            code, title, detail = item.errors[0]
            # Meta's details are prose; a number in them could be the recipient's.
            params.update(code=code, title=(title or "")[:128] or None,
                          detail=_DIGITS.sub("#", detail)[:512] if detail else None)
        groups.setdefault((item.status, parsed is not None, failure), []).append(params)
    updated = 0
    for key in sorted(groups, key=lambda k: (_STATUS_RANK[k[0]], k[1], k[2])):
        rows = groups[key]
        # One parameter set is executed as such: a driver's executemany may not count rows.
        result = conn.execute(_STATUS_UPDATES[key], rows[0] if len(rows) == 1 else rows)
        updated += max(0, result.rowcount or 0)
    return updated
