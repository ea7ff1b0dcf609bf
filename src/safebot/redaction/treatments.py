"""Rendering detections for one destination: placeholder, mask, keyed hash, vault, drop."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from safebot.redaction.detector import Detection
from safebot.redaction.policy import Destination, Policy, Treatment

__all__ = ["Rendered", "canonical_value", "render", "placeholder_numbers"]


def canonical_value(value: str) -> str:
    """Separators and case removed, so '4111-1111…' and '4111 1111…' hash alike."""
    return "".join(c for c in value if c.isalnum()).upper()


def placeholder_numbers(text: str, detections: Sequence[Detection]) -> list[int]:
    """Number per entity type in order of appearance; the same value gets the same number."""
    seen: dict[tuple[str, str], int] = {}
    counts: dict[str, int] = {}
    out = []
    for d in detections:
        key = (d.entity_type, canonical_value(text[d.start : d.end]))
        if key not in seen:
            counts[d.entity_type] = counts.get(d.entity_type, 0) + 1
            seen[key] = counts[d.entity_type]
        out.append(seen[key])
    return out


def _mask(value: str, keep: int) -> str:
    alnum = canonical_value(value)
    if keep <= 0 or len(alnum) <= keep + 2:
        # Too short to show a tail without showing most of the value.
        return "****"
    return "****" + alnum[-keep:]


class Rendered:
    """Text for one destination plus the placeholders that stand for vaulted values."""

    __slots__ = ("text", "vault_tokens")

    def __init__(self, text: str, vault_tokens: tuple[str, ...]) -> None:
        self.text = text
        self.vault_tokens = vault_tokens


def render(
    text: str,
    detections: Sequence[Detection],
    numbers: Sequence[int],
    policy: Policy,
    destination: Destination,
    hmac_key: bytes,
) -> Rendered:
    """Replace each detection in ``text`` with its treatment for ``destination``."""
    parts: list[str] = []
    vault: list[str] = []
    pos = 0
    for d, n in zip(detections, numbers):
        value = text[d.start : d.end]
        treatment: Treatment = policy.treatment(d.entity_type, destination)
        parts.append(text[pos : d.start])
        action = treatment.action
        if action == "placeholder":
            parts.append(f"<{d.entity_type}_{n}>")
        elif action == "encrypt":
            token = f"<{d.entity_type}_{n}>"
            parts.append(token)
            vault.append(token)
        elif action == "mask":
            parts.append(_mask(value, treatment.keep_last))
        elif action == "hash":
            digest = hmac.new(hmac_key, f"{d.entity_type}:{canonical_value(value)}".encode(), hashlib.sha256)
            parts.append(f"<{d.entity_type}#{digest.hexdigest()[:16]}>")
        else:  # drop
            if parts and parts[-1].endswith(" ") and text[d.end : d.end + 1] in (" ", ""):
                parts[-1] = parts[-1][:-1]
        pos = d.end
    parts.append(text[pos:])
    return Rendered("".join(parts), tuple(vault))
