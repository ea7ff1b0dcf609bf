"""Shared helpers for the store tests (a uniquely named module: tests/ has no packages)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from safebot.events import RedactedEvent
from safebot.redaction.types import Finding, _mint
from safebot.sensitive import Sensitive
from safebot.stores import SqlStore
from safebot.stores._schema import Base

CARD = "4111 1111 1111 1111"
CARD_DIGITS = "4111111111111111"
TOKEN = "<CREDIT_CARD_1>"


def event(
    text: str | None = "my card is <CREDIT_CARD_1>",
    *,
    cid: str = "c1",
    turn: int = 1,
    destination: str = "transcript",
    kind: str = "user",
    entities: tuple[str, ...] = ("CREDIT_CARD",),
    data: dict[str, Any] | None = None,
) -> RedactedEvent:
    rendered = None
    if text is not None:
        findings = tuple(Finding(e, 0, 1, 0.9, "test") for e in entities)
        rendered = _mint(text, destination, "policy-hash", findings=findings)  # type: ignore[arg-type]
    return RedactedEvent(kind, cid, turn, destination, rendered, data or {}, channel="console")  # type: ignore[arg-type]


def put_card(store: SqlStore, cid: str = "c1", key_id: str = "customer:1", value: str = CARD) -> str:
    with store.unit_of_work() as uow:
        uow.ensure_conversation(cid, "console", key_id)
        fp = uow.fingerprint(key_id, "CREDIT_CARD", Sensitive(value.replace(" ", "")))
        uow.vault_put(cid, TOKEN, "CREDIT_CARD", Sensitive(value), fp, key_id)
    return fp


def all_rows_text(store: SqlStore) -> str:
    """Every value in every table, as text (bytes as their hex and latin-1 renderings)."""
    out = []
    with store._engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes):
                        out.append(value.hex())
                        out.append(value.decode("latin-1"))
                    else:
                        out.append(str(value))
    return "\n".join(out)
