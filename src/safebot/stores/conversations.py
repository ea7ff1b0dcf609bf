"""A conversation as the turn sees it: read once (short read), written once (one fenced write).

No transaction stays open while a turn runs: :func:`load_conversation` reads the state, its
version and the conversation's encrypted vault rows and returns; :func:`save_turn` writes
everything the turn produced in one transaction, conditional on the version it read (the
fence). Handlers, models and network calls happen in between with no database lock held.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from safebot.events import RedactedEvent
from safebot.redaction.audit import AuditRecord
from safebot.sensitive import Sensitive
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import Tracker, VaultRow
from safebot.stores._uow import ConnectionKeyStorage
from safebot.stores.vault import DataKey, decrypt, fingerprint, vault_aad

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.session import VaultEntry
    from safebot.stores.sql import SqlStore

__all__ = ["LoadedConversation", "TurnRecord", "data_key_id", "load_conversation", "save_turn"]


def data_key_id(conversation_ref: str) -> str:
    """The data key of a conversation: shredding it makes the conversation's vault unreadable."""
    return f"conversation:{conversation_ref}"


class LoadedConversation:
    """State and version as read, plus the conversation's keyed fingerprint and vault reads.

    Vault values stay encrypted until :meth:`vault_get` (a reveal) asks for one.
    """

    def __init__(
        self,
        ref: str,
        state: dict[str, Any] | None,
        version: int | None,
        key: DataKey,
        vault_rows: dict[str, bytes],
    ) -> None:
        self.ref = ref
        self.state = state
        self.version = version
        self._key = key
        self._vault = vault_rows

    def __repr__(self) -> str:
        return f"LoadedConversation({self.ref!r}, version={self.version})"

    def fingerprint(self, entity_type: str, canonical: Sensitive[str]) -> str:
        """Keyed with this conversation's data key: equal values, equal fingerprints; meaningless
        once the key is shredded."""
        return fingerprint(self._key, entity_type, canonical)

    def vault_get(self, token: str) -> Sensitive[str] | None:
        blob = self._vault.get(token)
        return None if blob is None else decrypt(self._key, blob, vault_aad(self.ref, token))


@dataclass
class TurnRecord:
    """Everything one turn writes, committed together or not at all."""

    ref: str
    channel: str
    expected_version: int | None
    state: dict[str, Any]
    transcript: Sequence[RedactedEvent] = ()
    audit: Sequence[AuditRecord] = ()
    vault: Sequence[VaultEntry] = ()
    customer_key_id: str | None = None
    #: extra writes that must share the turn's transaction (an outbox row, a delivery update)
    extra: list[Callable[[Any], None]] = field(default_factory=list)


def load_conversation(store: SqlStore, ref: str) -> LoadedConversation:
    """Read a conversation for a turn (its data key is created on first use)."""
    kid = data_key_id(ref)
    with mapped_errors():
        with store.engine.connect() as conn:
            key = store.keyring.with_storage(ConnectionKeyStorage(conn)).existing_data_key(kid)
        if key is None:  # first turn: create it (a short write of its own)
            with store.unit_of_work() as uow:
                key = uow.data_key(kid)
        with store.engine.connect() as conn:
            row = conn.execute(
                select(Tracker.state, Tracker.version).where(Tracker.conversation_id == ref)
            ).first()
            vault = {
                r.token: r.ciphertext
                for r in conn.execute(
                    select(VaultRow.token, VaultRow.ciphertext).where(
                        VaultRow.conversation_id == ref, VaultRow.key_id == kid
                    )
                )
            }
    return LoadedConversation(
        ref, None if row is None else dict(row.state), None if row is None else int(row.version), key, vault
    )


def save_turn(store: SqlStore, record: TurnRecord) -> int:
    """Write the turn; returns the new version. Raises VersionConflict if another writer won."""
    with store.unit_of_work() as uow:
        uow.ensure_conversation(record.ref, record.channel, record.customer_key_id)
        if record.customer_key_id is not None:
            uow.set_customer(record.ref, record.customer_key_id)
        version = uow.save_tracker(record.ref, record.state, expected_version=record.expected_version)
        for entry in record.vault:
            uow.vault_put(record.ref, entry.token, entry.entity_type, entry.value, entry.fingerprint, data_key_id(record.ref))
        for event in record.transcript:
            uow.append(event)
        for audit in record.audit:
            uow.audit(audit)
        for write in record.extra:
            write(uow)
    return version
