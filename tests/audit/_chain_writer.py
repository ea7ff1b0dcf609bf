"""A writer process for test_concurrency: appends audit records in many short units of work."""

from __future__ import annotations

import sys

from safebot.redaction.audit import AuditRecord
from safebot.stores import SqlStore
from safebot.stores.vault import KeyRing


def main(url: str, schema: str, key_hex: str, writer: int, units: int) -> None:
    store = SqlStore(url, keyring=KeyRing.generate(), schema=schema, audit_key=bytes.fromhex(key_hex), checkpoint_every=25)
    try:
        for i in range(units):
            with store.unit_of_work() as uow:
                uow.ensure_conversation(f"w{writer}-{i}", "console")
                for k in range(1 + i % 3):
                    uow.audit(AuditRecord("redacted", "ph", entity_type="PERSON", score=0.85,
                                          destination="transcript", conversation_id=f"w{writer}-{i}", handler=str(k)))
    finally:
        store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
