"""The action-server protocol, as rasa-sdk speaks it (``rasa_sdk/endpoint.py``, ``executor.py``).

Request (``POST /webhook``)::

    {"next_action": "action_check_balance", "sender_id": "...", "version": "3.x",
     "tracker": {"sender_id": "...", "slots": {...}, "latest_message": {"text": ...,
                 "intent": {"name", "confidence"}, "entities": [...]}, "events": [...], ...},
     "domain": {...}, "domain_digest": "..."}

Response: ``{"events": [...], "responses": [{"text": ...}, ...]}``; errors are
``{"error": ..., "action_name": ...}`` (404 unknown action, 400 rejected or malformed).

Parsing keeps every customer-typed value inside :class:`~safebot.Sensitive` and never puts
a value from the body into an error message: a :class:`RasaRequestError` names the field only.
Names that are echoed or logged (action, intent, slot and entity names) must look like
identifiers; anything else is treated as unknown rather than repeated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from safebot.errors import RasaRequestError
from safebot.sensitive import Sensitive

__all__ = [
    "LOCKED_SLOT",
    "MAX_SLOTS",
    "REQUESTED_SLOT",
    "VERIFIED_FLAG_SLOT",
    "VERIFIED_SLOT",
    "VERIFY_ACTION",
    "ActionCall",
    "RasaEntity",
    "RasaRequestError",
    "parse_action_call",
    "safe_name",
    "slot_event",
]

#: the verified customer id, as safebot gives it to a wrapped ``rasa_sdk.Action`` (the adapter).
#: Never read from a request: a caller who sets it gets nothing for it.
VERIFIED_SLOT = "safebot_verified_customer"
#: informational slot (True/False) set by :data:`VERIFY_ACTION` so Rasa stories can branch on it.
#: safebot never reads it: the verified identity, the attempt counter and the lock live in
#: safebot's store, keyed by a hash of the sender id
VERIFIED_FLAG_SLOT = "safebot_verified"
#: informational: True once verification failed ``max_attempts`` times (a human takes over)
LOCKED_SLOT = "safebot_locked"
#: a tracker with more slots than this is refused (413): bounded work per call
MAX_SLOTS = 1000
#: the action that runs the bot's Verification
VERIFY_ACTION = "safebot_verify"
#: Rasa's form bookkeeping slot: which slot the assistant asked for
REQUESTED_SLOT = "requested_slot"

#: what an action, intent, slot or entity name may look like to be logged or echoed
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,99}")

Scalar = str | int | float | bool | None


def safe_name(value: object) -> str | None:
    """``value`` if it is an identifier-like name (safe to log and echo), else None.

    >>> safe_name("action_check_balance")
    'action_check_balance'
    >>> safe_name("4111 1111 1111 1111") is None
    True
    """
    if isinstance(value, str) and _NAME.fullmatch(value) and not value.replace("_", "").isdigit():
        return value
    return None


@dataclass(frozen=True)
class RasaEntity:
    """An entity Rasa's NLU extracted; the value stays masked until it is redacted."""

    entity: str
    value: Sensitive[str]


@dataclass(frozen=True)
class ActionCall:
    """A parsed ``/webhook`` body. Raw values only inside :class:`Sensitive`."""

    action: str
    sender_id: Sensitive[str]
    text: Sensitive[str] | None
    intent: str | None
    confidence: float
    entities: tuple[RasaEntity, ...] = ()
    #: slot name -> raw value (scalars; lists and objects are left out)
    slots: dict[str, Sensitive[Scalar]] = field(default_factory=dict)
    #: how many user messages the tracker holds (the turn number; no text is read)
    user_turns: int = 0
    #: slots whose names were not identifiers, or whose values were not scalars
    ignored_slots: int = 0
    #: Rasa's id of the latest user message (a random hex; used to write it once to the transcript)
    message_id: str | None = None

    def __repr__(self) -> str:
        # the action name is the caller's: shown only when it is a name, never a number someone typed
        action = safe_name(self.action) or "<not a name>"
        return f"ActionCall(action={action!r}, slots={len(self.slots)}, entities={len(self.entities)})"


def _obj(value: object, where: str, action: str | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RasaRequestError(f"'{where}' must be a JSON object", action_name=action)
    return value


def parse_action_call(body: object) -> ActionCall:
    """Validate the shape of an action call. Raises :class:`RasaRequestError` (status 400)."""
    payload = _obj(body, "body", None)
    raw_action = payload.get("next_action")
    if not isinstance(raw_action, str) or not raw_action:
        raise RasaRequestError("'next_action' must be a non-empty string")
    action = safe_name(raw_action)
    version = payload.get("version")
    if version is not None and not isinstance(version, str):
        raise RasaRequestError("'version' must be a string", action_name=action)
    if "domain" in payload and payload["domain"] is not None:
        _obj(payload["domain"], "domain", action)
    tracker = _obj(payload.get("tracker"), "tracker", action)
    sender = tracker.get("sender_id", payload.get("sender_id"))
    if not isinstance(sender, str) or not sender:
        raise RasaRequestError("'tracker.sender_id' must be a non-empty string", action_name=action)

    slots_in = tracker.get("slots") or {}
    slots_in = _obj(slots_in, "tracker.slots", action)
    if len(slots_in) > MAX_SLOTS:
        raise RasaRequestError(f"the tracker has more than {MAX_SLOTS} slots", status=413, action_name=action)
    slots: dict[str, Sensitive[Scalar]] = {}
    ignored = 0
    for name, value in slots_in.items():
        if safe_name(name) is None or not _scalar(value):
            ignored += 1
            continue
        slots[name] = Sensitive(value)

    latest = tracker.get("latest_message") or {}
    latest = _obj(latest, "tracker.latest_message", action)
    text = latest.get("text")
    if text is not None and not isinstance(text, str):
        raise RasaRequestError("'tracker.latest_message.text' must be a string or null", action_name=action)
    intent_name, confidence = _intent(latest.get("intent"), action)
    entities = _entities(latest.get("entities"), action)

    events = tracker.get("events") or []
    if not isinstance(events, list):
        raise RasaRequestError("'tracker.events' must be a list", action_name=action)
    turns = sum(1 for e in events if isinstance(e, dict) and e.get("event") == "user")
    message_id = latest.get("message_id")
    return ActionCall(
        raw_action, Sensitive(sender), None if text is None else Sensitive(text), intent_name,
        confidence, entities, slots, turns, ignored,
        message_id if isinstance(message_id, str) and len(message_id) <= 128 else None,
    )


def _scalar(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (str, int, bool, type(None)))


def _intent(value: object, action: str | None) -> tuple[str | None, float]:
    if value is None:
        return None, 0.0
    intent = _obj(value, "tracker.latest_message.intent", action)
    name = safe_name(intent.get("name"))
    confidence = intent.get("confidence", 0.0)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not math.isfinite(confidence):
        raise RasaRequestError("'tracker.latest_message.intent.confidence' must be a number", action_name=action)
    return name, float(confidence)


def _entities(value: object, action: str | None) -> tuple[RasaEntity, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RasaRequestError("'tracker.latest_message.entities' must be a list", action_name=action)
    out = []
    for item in value:
        if not isinstance(item, dict):
            raise RasaRequestError("each entity must be a JSON object", action_name=action)
        name, raw = safe_name(item.get("entity")), item.get("value")
        if name is None or raw is None or not _scalar(raw) or isinstance(raw, bool):
            continue  # a structured value (a duckling time range) or an unnamed entity: not passed on
        out.append(RasaEntity(name, Sensitive(str(raw))))
    return tuple(out)


def slot_event(name: str, value: Scalar) -> dict[str, Any]:
    """A ``SlotSet`` event, exactly as ``rasa_sdk.events.SlotSet`` builds it."""
    return {"event": "slot", "timestamp": None, "name": name, "value": value}
