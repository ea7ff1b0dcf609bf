"""Erasure with a signed receipt (issue 11 item 5): ``safebot forget BOT_DIR CUSTOMER_ID``.

What goes, for every conversation the customer reaches (linked at verification, or holding one
of their vaulted identifiers: ``SqlStore.erasure_scope``):

- the conversation's data key: every vault value, queued WhatsApp payload and notification
  parameter encrypted under it becomes unreadable (crypto-shredding);
- the value index rows that linked their identifiers, and the customer link itself;
- consent decisions; with the notification tables (issue 10): contact details (the encrypted
  address row) and consent records, replaced by a suppression entry ``reason=erasure`` so the
  fact and date of erasure stay and nothing is ever sent to that contact again.

The redacted transcript and the audit trail stay (they hold no values). The erasure itself is
an ``erasure`` audit record (counts, hashed key ids) and the receipt is signed with the audit
key (Ed25519: anyone with ``safebot audit public-key`` checks it).

On SQLite the deleted rows are zeroed in the file (``secure_delete``) and the WAL is
checkpointed and truncated, so a copy of the database taken afterwards holds neither the
wrapped key nor anything else that was deleted. On PostgreSQL the dead row versions are
vacuumed; WAL archives and backups keep them until they expire (say so to your DPO).

>>> receipt = forget_customer(bot, "CUST-0042")              # doctest: +SKIP
>>> verify_receipt(receipt, bot.signer.verifier)             # doctest: +SKIP
[]
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, delete, func, insert, select, text, update

from safebot.audit.signing import AuditSigner, AuditVerifier
from safebot.errors import ConfigError
from safebot.redaction.audit import AuditRecord
from safebot.stores._base import Base, now
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import (
    AuditRow,
    ConsentRow,
    Conversation,
    DataKeyRow,
    ValueIndexRow,
    VaultRow,
)

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine.config import BotConfig
    from safebot.stores.sql import SqlStore

__all__ = ["RECEIPT_VERSION", "customer_ref", "forget_customer", "verify_receipt"]

log = logging.getLogger("safebot.erasure")

RECEIPT_VERSION = "safebot-erasure-receipt/v1"
_RECEIPT_LABEL = b"safebot/erasure-receipt/v1\x00"


class _BotLike(Protocol):
    bot_dir: Path
    config: BotConfig
    store: SqlStore


def keyed_ref(ids_key: bytes, value: str, namespace: str) -> str:
    """Exactly ``Redactor.conversation_ref(value, namespace=namespace)`` (the ``ids`` key), without
    building a redactor: how the notification tables key a customer or a contact."""
    return "c-" + hmac.new(ids_key, f"{namespace}\x00{value}".encode(), hashlib.sha256).hexdigest()[:24]


def customer_ref(ids_key: bytes, customer_id: str) -> str:
    """The customer as the receipt and the audit record name them: a keyed hash, not the id."""
    return keyed_ref(ids_key, customer_id, "erasure-customer")


def _hashed_key_id(key_id: str) -> str:
    return hashlib.sha256(key_id.encode()).hexdigest()[:32]


def _table(name: str) -> Any:
    return Base.metadata.tables.get(name)


def _count(conn: Connection, table: Any, condition: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(condition)).scalar_one())


def _signable(receipt: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in receipt.items() if k != "signature"}
    return _RECEIPT_LABEL + json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def forget_customer(
    bot: _BotLike, customer_id: str, *, signer: AuditSigner | None = None, ids_key: bytes | None = None,
) -> dict[str, Any]:
    """Erase ``customer_id`` (the organisation's id, as handlers link it: ``customer:<id>``)
    and return the signed receipt (a JSON-ready dict)."""
    from safebot.stores.conversations import data_key_id

    if not isinstance(customer_id, str) or not 0 < len(customer_id) <= 128 or not customer_id.isprintable():
        raise ConfigError("CUSTOMER_ID must be 1 to 128 printable characters")
    store = bot.store
    if signer is None or ids_key is None:
        from safebot.audit.bot import bot_keys

        keys = getattr(bot, "keys", None) or bot_keys(Path(bot.bot_dir), bot.config)
        signer = signer or getattr(bot, "signer", None) or AuditSigner(keys.key("audit"))
        ids_key = ids_key or keys.key("ids")
    customer_key_id = f"customer:{customer_id}"
    refs = sorted(store.erasure_scope(customer_key_id))
    kids = [data_key_id(r) for r in refs]
    counts: dict[str, int] = {}
    with mapped_errors(), store.engine.connect() as conn:
        counts["vault_values"] = _count(conn, VaultRow.__table__, VaultRow.key_id.in_(kids)) if kids else 0
        for name, column in (("whatsapp_inbound", "payload"), ("whatsapp_outbound", "payload")):
            t = _table(name)
            if t is not None and refs:
                counts[f"{name}_payloads"] = _count(conn, t, t.c.conversation_ref.in_(refs) & t.c[column].is_not(None))
        deliveries = _table("notify_deliveries")
        if deliveries is not None and refs:
            counts["notification_parameters"] = _count(
                conn, deliveries, deliveries.c.contact_ref.in_(refs) & deliveries.c.params.is_not(None))

        existing = set(conn.execute(
            select(DataKeyRow.key_id).where(DataKeyRow.key_id.in_([*kids, customer_key_id]))).scalars())
    destroyed = sorted(existing)
    for kid in destroyed:
        store.forget(kid, checkpoint=False)
    with mapped_errors(), store.write_engine.begin() as conn:
        counts["data_keys"] = len(destroyed)
        counts["value_index"] = len(conn.execute(
            delete(ValueIndexRow).where(ValueIndexRow.conversation_id.in_(refs)).returning(ValueIndexRow.id)).all()) if refs else 0
        counts["consent_decisions"] = len(conn.execute(
            delete(ConsentRow).where(ConsentRow.conversation_id.in_(refs)).returning(ConsentRow.id)).all()) if refs else 0
        counts.update(_erase_notify(conn, refs, keyed_ref(ids_key, customer_id, "notify-customer")))
        counts["conversations_unlinked"] = len(conn.execute(
            update(Conversation).where(Conversation.customer_key_id == customer_key_id)
            .values(customer_key_id=None).returning(Conversation.id)).all())
    erased_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")
    cref = customer_ref(ids_key, customer_id)
    with store.unit_of_work() as uow:
        uow.audit(AuditRecord("erasure", "", time=erased_at, detail={
            "customer": cref, "conversations": len(refs), **counts,
        }))
    with mapped_errors(), store.engine.connect() as conn:
        position, record_hash = conn.execute(
            select(AuditRow.seq, AuditRow.hash).where(AuditRow.event == "erasure", AuditRow.time == erased_at,
                                                      AuditRow.detail.is_not(None)).order_by(AuditRow.seq.desc()).limit(1)
        ).one()
    storage = _purge(store)
    receipt: dict[str, Any] = {
        "receipt": RECEIPT_VERSION,
        "erased_at": erased_at,
        "customer": cref,
        "conversations": len(refs),
        "classes": counts,
        "key_ids": [_hashed_key_id(k) for k in destroyed],
        "storage": storage,
        "audit_position": position,
        "audit_record_hash": record_hash,
        "key": signer.key_id,
        "public_key": signer.verifier.public_key_hex,
    }
    receipt["signature"] = signer.sign(_signable(receipt))
    return receipt


def _erase_notify(conn: Connection, refs: list[str], notify_customer: str) -> dict[str, int]:
    """Issue 10's tables, when installed: contacts and consent records go, a suppression stays."""
    contacts, consents, suppressions = _table("notify_contacts"), _table("notify_consents"), _table("notify_suppressions")
    out: dict[str, int] = {}
    if contacts is None:
        return out
    contact_refs = set(conn.execute(
        select(contacts.c.ref).where(contacts.c.ref.in_(refs) | (contacts.c.customer_ref == notify_customer))
    ).scalars())
    out["contacts"] = len(conn.execute(delete(contacts).where(contacts.c.ref.in_(contact_refs)).returning(contacts.c.ref)).all()) if contact_refs else 0
    if consents is not None and contact_refs:
        out["consent_records"] = len(conn.execute(
            delete(consents).where(consents.c.contact_ref.in_(contact_refs)).returning(consents.c.id)).all())
    if suppressions is not None:
        stamp = now()
        subjects = sorted(contact_refs | {notify_customer})
        conn.execute(insert(suppressions), [
            {"subject_ref": s, "channel": "*", "purpose": "*", "reason": "erasure", "created_at": stamp} for s in subjects
        ])
        out["suppressions_added"] = len(subjects)
    return out


def _purge(store: SqlStore) -> str:
    """Push deleted rows out of the WAL (SQLite) or vacuum them (PostgreSQL); say what was done."""
    if store.backend == "sqlite":
        busy = 1
        for attempt in range(50):  # a reader mid-snapshot holds the WAL; it finishes soon
            with mapped_errors(), store.engine.connect() as conn:
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
            if busy == 0:
                break
            time.sleep(0.1 * (attempt + 1) / 5)
        if busy:
            log.warning("erasure: the WAL could not be truncated (a reader held it); run it again")
            return "sqlite: rows zeroed in place (secure_delete); WAL NOT truncated (busy): run forget again"
        return "sqlite: rows zeroed in place (secure_delete), WAL checkpointed and truncated"
    if store.backend == "postgresql":
        try:
            # text() is not schema-translated: qualify the names with the store's schema
            schema = (store.engine.get_execution_options().get("schema_translate_map") or {}).get(None)
            prefix = f'"{schema}".' if schema else ""
            with mapped_errors(), store.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                for name in ("data_keys", "value_index", "consent", "notify_contacts", "notify_consents"):
                    if _table(name) is not None:
                        conn.execute(text(f'VACUUM {prefix}"{name}"'))
        except Exception as exc:  # noqa: BLE001 - the erasure is done; vacuuming is best effort
            return f"postgresql: VACUUM failed ({type(exc).__name__}); dead row versions stay until autovacuum"
        return "postgresql: dead row versions vacuumed; WAL archives and backups keep them until they expire"
    return f"{store.backend}: deleted (no storage-level purge for this backend)"


def verify_receipt(receipt: Mapping[str, Any], verifier: AuditVerifier) -> list[str]:
    """Problems with a receipt (empty: it is genuine and unaltered) against a trusted public key.

    The key inside the receipt is not trusted: a forger would put their own there.
    """
    problems = []
    if receipt.get("receipt") != RECEIPT_VERSION:
        problems.append(f"not a {RECEIPT_VERSION} receipt")
    if receipt.get("public_key") != verifier.public_key_hex:
        problems.append("signed with another key than this bot's audit key")
    if not verifier.verify(_signable(receipt), receipt.get("signature")):
        problems.append("the signature does not verify (the receipt was altered or forged)")
    return problems


def load_receipt(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the receipt ({type(exc).__name__})", path=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("a receipt is a JSON object", path=str(path))
    return data
