"""The tamper-evident audit trail: a hash chain with signed checkpoints (issue 11).

::

    audit record n  = its fields + seq (position) + prev_hash + hash  (canonical.py)
    every N-th      -> a checkpoint record signing (n, hash[n])        (chain.py, signing.py)
    retention       -> a signed anchor: where the chain now starts     (safebot.retention)
    verify          -> walks the chain: deleted, altered, inserted, reordered, bad signatures

>>> from safebot.audit import verify_chain
>>> report = verify_chain(store, store.audit_signer.verifier)        # doctest: +SKIP
>>> report.ok, report.records                                         # doctest: +SKIP
(True, 1204)

Imports are lazy: the store imports ``canonical`` and ``signing`` from here, and the modules
that read tables import the store.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from safebot.audit.bot import BotStore, open_bot_store
    from safebot.audit.chain import append_records, write_checkpoint
    from safebot.audit.export import export_records
    from safebot.audit.signing import AuditSigner, AuditVerifier
    from safebot.audit.verify import Problem, VerifyReport, verify_chain

__all__ = [
    "AuditSigner",
    "AuditVerifier",
    "BotStore",
    "Problem",
    "VerifyReport",
    "append_records",
    "export_records",
    "open_bot_store",
    "verify_chain",
    "write_checkpoint",
]

_WHERE = {
    "AuditSigner": "signing", "AuditVerifier": "signing", "BotStore": "bot", "open_bot_store": "bot",
    "append_records": "chain", "write_checkpoint": "chain", "export_records": "export",
    "Problem": "verify", "VerifyReport": "verify", "verify_chain": "verify",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"safebot.audit.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'safebot.audit' has no attribute {name!r}")
