"""The WhatsApp inbox and outbox in the store: what makes "acknowledge fast, lose nothing,
process once" hold across restarts and across server processes.

* :meth:`Inbox.record` writes a whole delivery in one transaction before the webhook answers
  200: each message under the keyed hash of its wamid, with an atomic insert-or-ignore, so a
  redelivered message (Meta retries for days, possibly to two workers at once) is a no-op.
  The text is encrypted under the conversation's data key; the customer's WhatsApp id goes
  into the conversation's vault (``<WHATSAPP_ID_n>``). Status updates go to the delivery
  table, where a state only moves forward.
* A worker claims the oldest unfinished message of a conversation with one conditional
  UPDATE (a lease with an owner and an expiry), never a later one while an earlier one or a
  reply is outstanding, so a conversation's messages run one at a time, in order, in one
  process; a claim whose worker died lapses and is taken again.
* The turn marks its message ``answered`` (and wipes its text) inside the turn's own
  transaction (:meth:`Inbox.mark_answered`, an ``extra_writes`` of ``bot.handle``), only if
  this worker still holds the claim: a turn commits if and only if its message is marked, so
  a message whose claim lapsed and was run by another worker is never applied twice.
* :meth:`Inbox.finish` then queues the replies (encrypted) and marks the message ``done``.
  A worker that dies between the two leaves an ``answered`` message whose replies are lost:
  the next claim sends the ``recovered`` reply instead (it never runs the turn again).
  Replies are claimed and sent the same way.

States of an inbound message: pending -> processing -> answered -> done; failed after too
many attempts, dropped if the customer was erased first.

All methods are blocking (SQLAlchemy): call them with ``anyio.to_thread.run_sync``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Table, bindparam, case, exists, func, insert, or_, select, update

from safebot.channels.whatsapp.payloads import Inbound, StatusUpdate
from safebot.errors import VaultError
from safebot.redaction.types import canonical_value
from safebot.sensitive import Sensitive
from safebot.serve.engine_hooks import data_key_id
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import VaultRow, now
from safebot.stores._serving_schema import (
    WhatsAppDeliveryRow,
    WhatsAppInboundRow,
    WhatsAppOutboundRow,
)
from safebot.stores._uow import ConnectionKeyStorage, UnitOfWork, insert_ignore, insert_ignore_many
from safebot.stores.vault import DataKey, decrypt, encrypt, vault_aad

if TYPE_CHECKING:  # pragma: no cover
    from safebot.stores import SqlStore

__all__ = ["CHANNEL", "OPEN_STATES", "RANK", "WA_ENTITY", "Claimed", "Inbox", "QueuedReply", "Recorded", "external_id"]

CHANNEL = "whatsapp"
#: states of an inbound message still to be finished (claimable once free)
OPEN_STATES = ("pending", "processing", "answered")
#: the vault entity of a customer's WhatsApp id (their phone number, as Meta sends it)
WA_ENTITY = "WHATSAPP_ID"
#: forward-only delivery states; failed is final
RANK = {"accepted": 1, "sent": 2, "delivered": 3, "read": 4, "failed": 5}
_STAMP = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}
_OUTBOUND_AAD = "whatsapp-outbound"


def _status_update(status: str) -> Any:
    """Move an existing delivery row forward to ``status``; fill its stamp (and errors) once."""
    d = cast(Table, WhatsAppDeliveryRow.__table__)
    rank = RANK[status]
    ahead = d.c.rank < rank
    stamp_col = d.c[_STAMP[status]]
    values: dict[str, Any] = {"state": case((ahead, status), else_=d.c.state), "rank": case((ahead, rank), else_=d.c.rank),
                              "updated_at": case((ahead, bindparam("stamp")), else_=d.c.updated_at),
                              stamp_col.name: func.coalesce(stamp_col, bindparam("ts", type_=stamp_col.type))}
    if status == "failed":
        values["errors"] = func.coalesce(d.c.errors, bindparam("errs", type_=d.c.errors.type))
    return update(d).where(d.c.message_ref == bindparam("m")).values(values)


_STATUS_UPDATES = {status: _status_update(status) for status in RANK if status != "accepted"}


def external_id(wa_id: str) -> str:
    """The conversation id the engine gets for a WhatsApp user (stored only as its hash)."""
    return f"{CHANNEL}:{wa_id}"


@dataclass
class Recorded:
    """What :meth:`Inbox.record` did with a delivery (counts only)."""

    new: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    foreign: int = 0

    @property
    def new_messages(self) -> int:
        return sum(self.new.values())


@dataclass(frozen=True)
class Claimed:
    id: int
    conversation_ref: str
    kind: str
    attempts: int
    #: what the turn runs on; None for unsupported kinds
    text: Sensitive[str] | None
    #: the engine's conversation id (``whatsapp:<wa_id>``); None if the customer was erased
    external_id: Sensitive[str] | None
    #: the turn already committed (its worker died before queueing the replies): never re-run
    answered: bool = False
    #: the message's keyed hash (notifications, issue 10: finds the alert a reply answers)
    message_ref: str | None = None


@dataclass(frozen=True)
class QueuedReply:
    id: int
    conversation_ref: str
    attempts: int
    message: Mapping[str, Any]
    to: Sensitive[str] | None


def _ts(value: str | None) -> str | None:
    return value if isinstance(value, str) and value.isdigit() and len(value) <= 20 else None


class Inbox:
    def __init__(
        self,
        store: SqlStore,
        *,
        conversation_ref: Callable[[str], str],
        message_ref: Callable[[str], str],
        phone_number_id: str | None = None,
        notify_hooks: Any = None,
    ) -> None:
        self.store = store
        self._conversation_ref = conversation_ref
        self._message_ref = message_ref
        self.phone_number_id = phone_number_id
        #: notifications (issue 10, safebot.notify.whatsapp.NotifyHooks): statuses and replies
        #: to alerts also update deliveries, in this same transaction
        self.notify_hooks = notify_hooks

    def __repr__(self) -> str:
        return "Inbox()"

    def message_ref(self, message_id: Sensitive[str]) -> str:
        return self._message_ref(message_id.reveal())

    # -- the webhook ---------------------------------------------------------------------------
    def record(self, items: Sequence[Inbound | StatusUpdate]) -> Recorded:
        """Write a delivery's messages and statuses (one transaction); redeliveries are no-ops."""
        out = Recorded()
        statuses = [item for item in items if isinstance(item, StatusUpdate)]
        with self._tx() as (conn, uow):
            if statuses:
                # All of a delivery's statuses in a few statements (a mass send's webhook
                # carries hundreds a second); forward-only, so their order does not matter.
                refs = [self.message_ref(item.message_id) for item in statuses]
                out.statuses = self._statuses(conn, statuses, refs)
                if self.notify_hooks is not None:  # issue 10: the notifications' deliveries too
                    self.notify_hooks.on_statuses(conn, statuses, refs)
            for item in items:
                if isinstance(item, StatusUpdate):
                    continue
                if self.phone_number_id and item.phone_number_id and item.phone_number_id != self.phone_number_id:
                    out.foreign += 1  # sent to another number of the same app: not ours to answer
                    continue
                if self._message(conn, uow, item):
                    out.new[item.kind] = out.new.get(item.kind, 0) + 1
                    if self.notify_hooks is not None:  # issue 10: a reply to an alert, tied to it
                        self.notify_hooks.on_message(conn, item, self.message_ref(item.message_id),
                                                     self._conversation_ref(external_id(item.wa_id.reveal())))
                else:
                    out.duplicates += 1
        return out

    def _message(self, conn: Connection, uow: UnitOfWork, item: Inbound) -> bool:
        t = WhatsAppInboundRow
        mref = self.message_ref(item.message_id)
        if conn.execute(select(t.id).where(t.message_ref == mref)).first() is not None:
            return False
        ref = self._conversation_ref(external_id(item.wa_id.reveal()))
        uow.ensure_conversation(ref, CHANNEL)
        kid = data_key_id(ref)
        key = uow.data_key(kid)
        self._vault_address(conn, uow, ref, kid, item.wa_id)
        payload = None if item.text is None else encrypt(key, item.text, vault_aad(ref, f"whatsapp-inbound:{mref}"))
        # The insert is the exactly-once point: a concurrent worker's identical insert is ignored.
        return insert_ignore(conn, t.__table__, {  # type: ignore[arg-type]
            "message_ref": mref, "conversation_ref": ref, "kind": item.kind, "payload": payload,
            "state": "done" if item.kind == "system" else "pending", "attempts": 0,
            "platform_time": _ts(item.timestamp), "received_at": now(),
        })

    def _vault_address(self, conn: Connection, uow: UnitOfWork, ref: str, kid: str, wa_id: Sensitive[str]) -> None:
        fp = uow.fingerprint(kid, WA_ENTITY, Sensitive(canonical_value(wa_id.reveal())))
        if uow.vault_find(ref, WA_ENTITY, fp) is not None:
            return
        # After an erasure the old token stays (unreadable): take the next number.
        taken = set(conn.execute(
            select(VaultRow.token).where(VaultRow.conversation_id == ref, VaultRow.entity_type == WA_ENTITY)
        ).scalars())
        n = 1
        while f"<{WA_ENTITY}_{n}>" in taken:
            n += 1
        uow.vault_put(ref, f"<{WA_ENTITY}_{n}>", WA_ENTITY, wa_id, fp, kid)

    def _statuses(self, conn: Connection, items: Sequence[StatusUpdate], refs: Sequence[str]) -> dict[str, int]:
        """Insert each message's delivery row with its first status, move the others forward;
        returns counts by status ('accepted', 'played', a future status: not tracked)."""
        counts: dict[str, int] = {}
        groups: dict[str, list[dict[str, Any]]] = {}
        for item, mref in zip(items, refs, strict=True):
            rank = RANK.get(item.status)
            if rank is None or item.status == "accepted":
                continue
            counts[item.status] = counts.get(item.status, 0) + 1
            row: dict[str, Any] = {"message_ref": mref, "state": item.status, "rank": rank,
                                   _STAMP[item.status]: _ts(item.timestamp), "updated_at": now()}
            if item.status == "failed":
                row["errors"] = [{"code": code, "title": title} for code, title in item.errors] or None
            groups.setdefault(item.status, []).append(row)
        table = cast(Table, WhatsAppDeliveryRow.__table__)
        for status in sorted(groups, key=RANK.__getitem__):
            rows = groups[status]
            inserted = insert_ignore_many(conn, table, rows, "message_ref")
            # Parameter names must not be column names: SQLAlchemy would SET those columns too.
            known = [{"m": r["message_ref"], "ts": r[_STAMP[status]], "stamp": r["updated_at"],
                      **({"errs": r["errors"]} if status == "failed" else {})}
                     for r in rows if r["message_ref"] not in inserted]
            if known:
                conn.execute(_STATUS_UPDATES[status], known[0] if len(known) == 1 else known)
        return counts

    # -- the worker: inbound -------------------------------------------------------------------
    def runnable(self, *, limit: int = 100, at: float | None = None) -> list[str]:
        """Conversations with a message or reply that is free to claim now."""
        t = time.time() if at is None else at
        i, o = WhatsAppInboundRow, WhatsAppOutboundRow
        free_i = or_(i.lease_until.is_(None), i.lease_until < t)
        free_o = or_(o.lease_until.is_(None), o.lease_until < t)
        with mapped_errors(), self.store.engine.connect() as conn:
            refs = list(conn.execute(
                select(i.conversation_ref).where(i.state.in_(OPEN_STATES), free_i)
                .group_by(i.conversation_ref).order_by(func.min(i.id)).limit(limit)
            ).scalars())
            refs += [r for r in conn.execute(
                select(o.conversation_ref).where(o.state == "queued", free_o)
                .group_by(o.conversation_ref).order_by(func.min(o.id)).limit(limit)
            ).scalars() if r not in refs]
        return refs

    def claim_inbound(self, ref: str, owner: str, lease: float, *, at: float | None = None) -> Claimed | None:
        """Claim ``ref``'s oldest unfinished message if it is free and no reply is outstanding.

        An ``answered`` message (its turn committed, its worker died before queueing the
        replies) is claimed as it is, with ``answered=True``: its turn must not run again.
        """
        t = time.time() if at is None else at
        i, o = WhatsAppInboundRow, WhatsAppOutboundRow
        head = (select(func.min(i.id)).where(i.conversation_ref == ref, i.state.in_(OPEN_STATES))
                .scalar_subquery())
        outstanding = exists().where(o.conversation_ref == ref, o.state == "queued")
        stmt = (
            update(i)
            .where(i.id == head, or_(i.lease_until.is_(None), i.lease_until < t), ~outstanding)
            .values(state=case((i.state == "answered", "answered"), else_="processing"), lease_owner=owner,
                    lease_until=t + lease, attempts=i.attempts + 1)
            .returning(i.id, i.kind, i.attempts, i.payload, i.message_ref, i.state)
        )
        with self._tx() as (conn, _):
            row = conn.execute(stmt).first()
            if row is None:
                return None
            key = self._existing_key(conn, ref)
            text = None
            if row.payload is not None and key is not None:
                text = decrypt(key, row.payload, vault_aad(ref, f"whatsapp-inbound:{row.message_ref}"))
            address = self._address(conn, ref)
        return Claimed(int(row.id), ref, str(row.kind), int(row.attempts),
                       answered=row.state == "answered", text=text,
                       external_id=None if address is None else Sensitive(external_id(address.reveal())),
                       message_ref=str(row.message_ref))

    def renew(self, row_id: int, owner: str, lease: float, *, outbound: bool = False) -> bool:
        """Extend a claim this worker holds; False if it lost it."""
        t = WhatsAppOutboundRow if outbound else WhatsAppInboundRow
        with self._tx() as (conn, _):
            return conn.execute(
                update(t).where(t.id == row_id, t.lease_owner == owner)
                .values(lease_until=time.time() + lease).returning(t.id)
            ).first() is not None

    def mark_answered(self, uow: UnitOfWork, claimed: Claimed, owner: str, lease: float) -> bool:
        """In the turn's own transaction: the message's turn is done (its text wiped), if this
        worker still holds the claim (renewed for the replies to be queued). False if not: the
        caller must then fail the transaction, so the turn is not applied."""
        i = WhatsAppInboundRow
        return uow.connection.execute(
            update(i).where(i.id == claimed.id, i.lease_owner == owner, i.state == "processing")
            .values(state="answered", payload=None, lease_until=time.time() + lease)
            .returning(i.id)
        ).first() is not None

    def finish(self, claimed: Claimed, owner: str, replies: Sequence[Mapping[str, Any]]) -> bool:
        """Done: wipe the text, queue ``replies`` in order. False if the claim was lost."""
        i, ref = WhatsAppInboundRow, claimed.conversation_ref
        with self._tx() as (conn, uow):
            done = conn.execute(
                update(i).where(i.id == claimed.id, i.lease_owner == owner, i.state.in_(("processing", "answered")))
                .values(state="done", payload=None, done_at=now(), lease_owner=None, lease_until=None)
                .returning(i.id)
            ).first()
            if done is None:
                return False
            if replies:
                key = uow.data_key(data_key_id(ref))
                self._queue(conn, key, ref, claimed.id, replies)
        return True

    def release(self, claimed: Claimed, owner: str, *, retry_at: float | None) -> None:
        """Give a message back: tried again after ``retry_at``, or ``failed`` for good if None.

        An ``answered`` message (the turn committed, then something failed) is never run
        again: its claim is freed at once, and the next claim sends the ``recovered`` reply.
        """
        i = WhatsAppInboundRow
        values: dict[str, Any] = {"lease_owner": None, "lease_until": retry_at, "state": "pending"}
        if retry_at is None:
            values.update(state="failed", payload=None, done_at=now())
        mine = (i.id == claimed.id, i.lease_owner == owner)
        with self._tx() as (conn, _):
            conn.execute(update(i).where(*mine, i.state == "processing").values(**values))
            conn.execute(update(i).where(*mine, i.state == "answered").values(lease_owner=None, lease_until=None))

    def drop(self, claimed: Claimed, owner: str) -> None:
        """The customer was erased before their message ran: nothing to run, nobody to answer."""
        i = WhatsAppInboundRow
        with self._tx() as (conn, _):
            conn.execute(update(i).where(i.id == claimed.id, i.lease_owner == owner)
                         .values(state="dropped", payload=None, done_at=now(), lease_owner=None, lease_until=None))

    # -- the worker: outbound ------------------------------------------------------------------
    def claim_outbound(self, ref: str, owner: str, lease: float, *, at: float | None = None) -> QueuedReply | None:
        """Claim ``ref``'s oldest queued reply if it is free (replies go out in order)."""
        t = time.time() if at is None else at
        o = WhatsAppOutboundRow
        head = select(func.min(o.id)).where(o.conversation_ref == ref, o.state == "queued").scalar_subquery()
        stmt = (
            update(o).where(o.id == head, or_(o.lease_until.is_(None), o.lease_until < t))
            .values(lease_owner=owner, lease_until=t + lease, attempts=o.attempts + 1)
            .returning(o.id, o.attempts, o.payload)
        )
        with self._tx() as (conn, _):
            row = conn.execute(stmt).first()
            if row is None:
                return None
            key = self._existing_key(conn, ref)
            message: Mapping[str, Any] = {}
            if key is not None and row.payload is not None:
                message = json.loads(decrypt(key, row.payload, vault_aad(ref, _OUTBOUND_AAD)).reveal())
            to = self._address(conn, ref)
        return QueuedReply(int(row.id), ref, int(row.attempts), message, to)

    def accepted(self, reply: QueuedReply, message_ref: str) -> None:
        """Graph took the reply: keep its hashed wamid, wipe the text, start its delivery row."""
        o, d = WhatsAppOutboundRow, WhatsAppDeliveryRow
        stamp = now()
        with self._tx() as (conn, _):
            conn.execute(update(o).where(o.id == reply.id).values(
                state="accepted", message_ref=message_ref, payload=None, accepted_at=stamp,
                lease_owner=None, lease_until=None))
            if not insert_ignore(conn, d.__table__, {  # type: ignore[arg-type]
                "message_ref": message_ref, "state": "accepted", "rank": RANK["accepted"],
                "accepted_at": stamp, "updated_at": stamp,
            }):
                # A status webhook got here first: keep its (later) state, add the time.
                conn.execute(update(d).where(d.message_ref == message_ref, d.accepted_at.is_(None))
                             .values(accepted_at=stamp))

    def send_failed(self, reply: QueuedReply, *, code: int | None, retry_at: float | None) -> None:
        """Try the reply again after ``retry_at``, or mark it failed for good (None)."""
        o = WhatsAppOutboundRow
        values: dict[str, Any] = {"lease_owner": None, "lease_until": retry_at, "error_code": code}
        if retry_at is None:
            values.update(state="failed", payload=None)
        with self._tx() as (conn, _):
            conn.execute(update(o).where(o.id == reply.id).values(**values))

    def queue_replies(self, ref: str, replies: Sequence[Mapping[str, Any]]) -> None:
        """Queue replies outside a turn (tests and tools)."""
        with self._tx() as (conn, uow):
            self._queue(conn, uow.data_key(data_key_id(ref)), ref, None, replies)

    # -- reading (tests, tools, the console) ---------------------------------------------------
    def delivery(self, message_ref: str) -> dict[str, Any] | None:
        d = WhatsAppDeliveryRow
        with mapped_errors(), self.store.engine.connect() as conn:
            row = conn.execute(select(d).where(d.message_ref == message_ref)).first()
        return None if row is None else dict(row._mapping)

    def counts(self) -> dict[str, int]:
        """Inbound messages by state, and ``outbound:<state>`` for replies."""
        i, o = WhatsAppInboundRow, WhatsAppOutboundRow
        with mapped_errors(), self.store.engine.connect() as conn:
            out = {r.state: int(r.n) for r in conn.execute(select(i.state, func.count().label("n")).group_by(i.state))}
            out |= {f"outbound:{r.state}": int(r.n)
                    for r in conn.execute(select(o.state, func.count().label("n")).group_by(o.state))}
        return out

    # -- internals -----------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[tuple[Connection, UnitOfWork]]:
        # One write transaction; a UnitOfWork on the same connection for the vault and keys
        # (on SQLite a second connection would wait on this one's write lock).
        with mapped_errors(), self.store.write_engine.begin() as conn:
            yield conn, UnitOfWork(conn, self.store.keyring)

    def _queue(self, conn: Connection, key: DataKey, ref: str, inbound_id: int | None,
               replies: Sequence[Mapping[str, Any]]) -> None:
        o = WhatsAppOutboundRow
        for message in replies:
            blob = encrypt(key, Sensitive(json.dumps(message, ensure_ascii=False)), vault_aad(ref, _OUTBOUND_AAD))
            conn.execute(insert(o).values(
                conversation_ref=ref, inbound_id=inbound_id, kind=str(message.get("type", "text")),
                payload=blob, state="queued", attempts=0, created_at=now()))

    def _existing_key(self, conn: Connection, ref: str) -> DataKey | None:
        return self.store.keyring.with_storage(ConnectionKeyStorage(conn)).existing_data_key(data_key_id(ref))

    def _address(self, conn: Connection, ref: str) -> Sensitive[str] | None:
        """The customer's WhatsApp id from the vault (the newest readable one), or None."""
        key = self._existing_key(conn, ref)
        if key is None:
            return None
        rows = conn.execute(
            select(VaultRow.token, VaultRow.ciphertext, VaultRow.key_id)
            .where(VaultRow.conversation_id == ref, VaultRow.entity_type == WA_ENTITY,
                   VaultRow.key_id == data_key_id(ref))
            .order_by(VaultRow.id.desc())
        ).all()
        for r in rows:
            try:
                return decrypt(key, r.ciphertext, vault_aad(ref, r.token))
            except VaultError:
                continue  # written under a data key that was shredded and made anew
        return None
