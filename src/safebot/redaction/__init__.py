"""The PII-redaction boundary. Every message passes through :class:`Redactor` before it is
logged, stored, classified or exported.

>>> from safebot.redaction import Redactor, load_policy
>>> redactor = Redactor(load_policy("examples/bank/policy.yaml"))   # doctest: +SKIP
>>> result = redactor.redact("my IBAN is GB82 WEST 1234 5698 7654 32", destination="transcript")  # doctest: +SKIP
>>> result.text                                                        # doctest: +SKIP
'my IBAN is <IBAN_CODE_1>'
"""

from __future__ import annotations

import os

# Before anything imports tldextract (Presidio does): use its bundled suffix list, never fetch.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

from safebot.redaction.audit import AuditRecord, AuditSink
from safebot.redaction.policy import (
    DESTINATIONS,
    Destination,
    Policy,
    Treatment,
    load_policy,
    policy_from_dict,
)
from safebot.redaction.types import BLOCKED_TEXT, Finding, Placeholder, RedactedText

__all__ = [
    "BLOCKED_TEXT",
    "DESTINATIONS",
    "Analysis",
    "AuditRecord",
    "AuditSink",
    "Destination",
    "Finding",
    "Placeholder",
    "Policy",
    "RedactedText",
    "RedactionSession",
    "Redactor",
    "Treatment",
    "load_policy",
    "policy_from_dict",
]


def __getattr__(name: str) -> object:
    # Redactor pulls in Presidio and spaCy: load it only when asked for.
    if name in ("Redactor", "Analysis"):
        from safebot.redaction import redactor

        return getattr(redactor, name)
    if name == "RedactionSession":
        from safebot.redaction import session

        return session.RedactionSession
    raise AttributeError(f"module 'safebot.redaction' has no attribute {name!r}")
