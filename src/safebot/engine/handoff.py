"""What a human agent gets at hand-off: the conversation so far, in the 'agent' treatment.

The store keeps only the transcript rendering (placeholders). For the agent, placeholders
whose values the vault holds are shown with the agent destination's treatment (for cards,
the last four digits); everything else stays a placeholder. Each such use is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from safebot.nlu.placeholders import PLACEHOLDER_RE
from safebot.redaction.audit import AuditRecord
from safebot.redaction.detector import Detection
from safebot.redaction.policy import Policy
from safebot.redaction.treatments import render
from safebot.sensitive import Sensitive

__all__ = ["agent_view"]


def agent_view(
    rows: Sequence[dict[str, Any]],
    lookup: Callable[[str], Sensitive[str] | None],
    policy: Policy,
    hmac_key: bytes,
    audit: Callable[[AuditRecord], None],
    conversation_id: str,
) -> list[dict[str, Any]]:
    """Transcript rows re-rendered for the agent: [{turn, kind, text}]."""
    out = []
    for row in rows:
        text = row.get("text")
        if not text or row.get("kind") not in ("user", "bot"):
            continue

        def swap(m: Any) -> str:
            token, entity = m.group(0), m.group(1)
            value = lookup(token)
            if value is None:
                return str(token)
            raw = value.reveal()
            rendered = render(raw, [Detection(entity, 0, len(raw), 1.0, "vault")], [int(m.group(2) or 1)], policy, "agent", hmac_key)
            audit(AuditRecord("revealed", policy.hash, entity_type=entity, destination="agent",
                              treatment=str(policy.treatment(entity, "agent")), conversation_id=conversation_id,
                              handler="handoff"))
            return rendered.text

        out.append({"turn": row.get("turn"), "kind": row["kind"], "text": PLACEHOLDER_RE.sub(swap, text)})
    return out
