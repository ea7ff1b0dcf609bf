"""Rendering detections for one destination, as presidio-anonymizer operators.

Each treatment of the policy is an operator run by Presidio's ``AnonymizerEngine``:

=============  ==========================================================================
placeholder    built-in ``replace`` with ``<TYPE_N>``
drop           built-in ``redact`` (and a neighbouring space goes with the value)
mask           ``safebot_mask``: Presidio's ``mask`` over a fixed-width stand-in, so the
               output is ``****1234`` whatever the value's length or separators (the
               built-in, applied to the value itself, would show both)
hash           ``safebot_hmac``: a keyed HMAC-SHA256 of the canonical value, ``<TYPE#16hex>``
               (the built-in ``hash`` is an unkeyed, randomly salted SHA: it cannot join)
encrypt        ``safebot_vault``: the placeholder whose value the conversation's vault keeps
=============  ==========================================================================

The key travels to the operator inside :class:`~safebot.sensitive.Sensitive`, because
Presidio's ``OperatorConfig.__repr__`` prints its parameters.

>>> from safebot.redaction.policy import policy_from_dict
>>> p = policy_from_dict({"name": "p", "packs": ["bank"], "entities": {"CREDIT_CARD": {}, "CVV": {}}})
>>> text = "card 4111 1111 1111 1111 cvv 123 ok"
>>> found = [Detection("CREDIT_CARD", 5, 24, 1.0, "t"), Detection("CVV", 29, 32, 1.0, "t")]
>>> render(text, found, [1, 1], p, "customer", b"k" * 32).text
'card ****1111 cvv ok'
>>> render(text, found, [1, 1], p, "transcript", b"k" * 32).text
'card <CREDIT_CARD_1> cvv ok'
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import InvalidParamError, OperatorConfig, RecognizerResult
from presidio_anonymizer.operators import Mask, Operator, OperatorType

from safebot.redaction.detect.detector import Detection
from safebot.redaction.policy import Destination, Policy, Treatment
from safebot.redaction.types import canonical_value
from safebot.sensitive import Sensitive

__all__ = ["Rendered", "canonical_value", "placeholder_numbers", "render"]


class SafebotMask(Mask):
    """``****`` and the last ``keep_last`` characters of the canonical value; ``****`` alone
    when the value is too short to show a tail without showing most of it."""

    def operate(self, text: str | None = None, params: dict[str, Any] | None = None) -> str:
        keep = int((params or {}).get("keep_last", 4))
        alnum = canonical_value(text or "")
        if keep <= 0 or len(alnum) <= keep + 2:
            return "****"
        stand_in = "#" * 4 + alnum[-keep:]
        return str(super().operate(stand_in, {"masking_char": "*", "chars_to_mask": 4, "from_end": False}))

    def validate(self, params: dict[str, Any] | None = None) -> None:
        keep = (params or {}).get("keep_last")
        if not isinstance(keep, int) or keep < 0:
            raise InvalidParamError("safebot_mask needs keep_last, an int >= 0")

    def operator_name(self) -> str:
        return "safebot_mask"


class SafebotHmac(Operator):
    """``<TYPE#16hex>``: HMAC-SHA256 under the analytics key of ``TYPE:canonical value``, so
    '4111-1111…' and '4111 1111…' give the same token and nobody without the key can."""

    def operate(self, text: str | None = None, params: dict[str, Any] | None = None) -> str:
        params = params or {}
        key: bytes = params["key"].reveal()
        entity = params["entity"]
        digest = hmac.new(key, f"{entity}:{canonical_value(text or '')}".encode(), hashlib.sha256)
        return f"<{entity}#{digest.hexdigest()[:16]}>"

    def validate(self, params: dict[str, Any] | None = None) -> None:
        params = params or {}
        if not isinstance(params.get("key"), Sensitive) or not params.get("entity"):
            raise InvalidParamError("safebot_hmac needs a Sensitive key and an entity")

    def operator_name(self) -> str:
        return "safebot_hmac"

    def operator_type(self) -> OperatorType:
        return OperatorType.Anonymize


class SafebotVault(Operator):
    """The placeholder ``<TYPE_N>`` of a value the conversation's vault keeps encrypted (the
    session hands the value to the store; the text only ever holds the placeholder)."""

    def operate(self, text: str | None = None, params: dict[str, Any] | None = None) -> str:
        return str((params or {})["token"])

    def validate(self, params: dict[str, Any] | None = None) -> None:
        if not isinstance((params or {}).get("token"), str):
            raise InvalidParamError("safebot_vault needs a token")

    def operator_name(self) -> str:
        return "safebot_vault"

    def operator_type(self) -> OperatorType:
        return OperatorType.Anonymize


@lru_cache(maxsize=1)
def anonymizer() -> AnonymizerEngine:
    """Presidio's AnonymizerEngine with safebot's operators added (stateless, shared)."""
    engine = AnonymizerEngine()  # type: ignore[no-untyped-call]
    for op in (SafebotMask, SafebotHmac, SafebotVault):
        engine.add_anonymizer(op)
    return engine


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


class Rendered:
    """Text for one destination plus the placeholders that stand for vaulted values."""

    __slots__ = ("text", "vault_tokens")

    def __init__(self, text: str, vault_tokens: tuple[str, ...]) -> None:
        self.text = text
        self.vault_tokens = vault_tokens


def operator_for(treatment: Treatment, entity: str, token: str, key: Sensitive[bytes]) -> OperatorConfig:
    """The presidio-anonymizer operator that applies ``treatment`` to one value."""
    action = treatment.action
    if action == "placeholder":
        return OperatorConfig("replace", {"new_value": token})
    if action == "encrypt":
        return OperatorConfig("safebot_vault", {"token": token})
    if action == "mask":
        return OperatorConfig("safebot_mask", {"keep_last": treatment.keep_last})
    if action == "hash":
        return OperatorConfig("safebot_hmac", {"key": key, "entity": entity})
    return OperatorConfig("redact", {})


def render(
    text: str,
    detections: Sequence[Detection],
    numbers: Sequence[int],
    policy: Policy,
    destination: Destination,
    hmac_key: bytes,
) -> Rendered:
    """Replace each detection in ``text`` with its treatment for ``destination``.

    ``detections`` must not overlap (the detector resolves overlaps); ``numbers`` gives
    each its placeholder number.
    """
    if not detections:
        return Rendered(text, ())
    key = Sensitive(hmac_key)
    results: list[RecognizerResult] = []
    operators: dict[str, OperatorConfig] = {}
    vault: list[str] = []
    prev_end = 0
    for i, (d, n) in enumerate(zip(detections, numbers, strict=True)):
        treatment = policy.treatment(d.entity_type, destination)
        token = f"<{d.entity_type}_{n}>"
        # One operator per value (Presidio keys operators by entity type): each has its number.
        slot = f"{d.entity_type}\x1f{i}"
        operators[slot] = operator_for(treatment, d.entity_type, token, key)
        start = d.start
        if treatment.action == "drop" and start - 1 >= prev_end and text[start - 1 : start] == " " and (
            text[d.end : d.end + 1] in (" ", "")
        ):
            start -= 1  # 'cvv 123 ok' -> 'cvv ok', not 'cvv  ok'
        elif treatment.action == "encrypt":
            vault.append(token)
        results.append(RecognizerResult(slot, start, d.end, d.score))
        prev_end = d.end
    out = anonymizer().anonymize(
        text=text, analyzer_results=results, operators=operators, merge_entities_with_spaces=False
    )
    return Rendered(out.text, tuple(vault))
