"""Run an existing ``rasa_sdk.Action`` as a safebot handler.

The action gets a ``rasa_sdk.Tracker`` built from safebot's state, so it sees what a handler
sees: the redacted message (placeholders, never values), redacted slots and entities, the
verified customer in :data:`~safebot.channels.rasa.VERIFIED_SLOT`. Its ``CollectingDispatcher``
messages become the handler's replies, which pass outbound redaction like every reply (the
customer sees ``****1111``, never a card number). The events it returns become the
:class:`~safebot.engine.Result`:

=========================================  ======================================
rasa event                                 safebot Result
=========================================  ======================================
``SlotSet(name, value)``                   ``slots[name] = value`` (None: cleared)
``AllSlotsReset()``                        every current slot cleared
``FollowupAction(name)``                   ``start_form`` (a safebot handler name)
``ConversationPaused()``                   ``handoff=True``
``BotUttered(text)``                       one more reply
anything else                              HandlerError (never silently dropped)
=========================================  ======================================

Only the text and button titles of a message are used; images, attachments, custom JSON
and carousels are dropped (safebot replies are text). A ``response=`` (template) message is
rendered from ``domain["responses"]`` when given, ``{slot}`` filled from the slots.

``reveals``: placeholders of these entity types, in slots and entity values, are revealed
for the action (each reveal audited). The message text itself stays redacted.

>>> from rasa_sdk import Action
>>> class ActionBalance(Action):
...     def name(self): return "action_check_balance"
...     async def run(self, dispatcher, tracker, domain):
...         dispatcher.utter_message(text="Your balance is $12.00.")
...         return []
>>> handler = rasa_handler(ActionBalance(), intents=("check_balance",), requires_auth=True)
>>> handler.name, handler.requires_auth
('action_check_balance', True)
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any

from safebot.channels.rasa import VERIFIED_SLOT
from safebot.engine.context import Context
from safebot.engine.forms import Form
from safebot.engine.handlers import Handler, Reply, Result, SlotValue
from safebot.errors import HandlerError, RevealError
from safebot.nlu.placeholders import PLACEHOLDER_RE

__all__ = ["rasa_handler", "rasa_tracker"]

_TEMPLATE_SLOT = re.compile(r"\{(\w+)\}")


def rasa_handler(
    action: Any,
    *,
    intents: Iterable[str] = (),
    name: str | None = None,
    requires_auth: bool = False,
    reveals: Iterable[str] = (),
    form: Form | None = None,
    domain: Mapping[str, Any] | None = None,
    description: str = "",
) -> Handler:
    """A :class:`~safebot.engine.Handler` that runs ``action`` (a ``rasa_sdk.Action``).

    ``name`` defaults to ``action.name()``; it is also the action name the
    ``rasa-actions`` server registers. ``domain`` is passed to ``action.run`` (default: an
    empty domain).
    """
    from rasa_sdk import Action

    if inspect.isclass(action) and issubclass(action, Action):
        action = action()
    if not isinstance(action, Action):
        raise TypeError("rasa_handler takes a rasa_sdk.Action instance or subclass")
    handler_name = name or action.name()
    if not isinstance(handler_name, str) or not handler_name:
        raise TypeError("the action's name() must return a non-empty string")
    allowed = frozenset(reveals)
    the_domain: dict[str, Any] = dict(domain or {})

    async def run(ctx: Context) -> Result:
        from rasa_sdk.executor import CollectingDispatcher

        tracker = rasa_tracker(ctx, reveal=allowed)
        dispatcher = CollectingDispatcher()
        events = action.run(dispatcher, tracker, the_domain)
        if inspect.isawaitable(events):
            events = await events
        if dispatcher.is_streaming_active:
            await dispatcher.stream_end()
        replies = [r for m in dispatcher.messages if (r := _reply(m, the_domain, tracker.slots)) is not None]
        return _result(handler_name, events, replies, ctx)

    return Handler(
        handler_name,
        tuple(intents),
        run,
        form=form,
        reveals=allowed,
        requires_auth=requires_auth,
        description=description or (inspect.getdoc(action) or "").split("\n")[0],
    )


def rasa_tracker(ctx: Context, *, reveal: frozenset[str] = frozenset()) -> Any:
    """A ``rasa_sdk.Tracker`` for ``ctx``: redacted text, slots and entities.

    Placeholders of the ``reveal`` types in slot and entity values are replaced by their
    values through ``ctx.reveal`` (audited; the handler must declare those types).
    """
    from rasa_sdk import Tracker

    slots: dict[str, Any] = {k: _revealed(ctx, v, reveal) for k, v in ctx.slots.items()}
    if ctx.customer_id is not None:
        slots[VERIFIED_SLOT] = ctx.customer_id
    intent = {"name": ctx.intent, "confidence": ctx.confidence} if ctx.intent else {}
    entities = [
        {"entity": c.entity, "value": _revealed(ctx, c.value, reveal), "start": c.start, "end": c.end}
        for c in ctx.entities
    ]
    latest = {
        "text": ctx.text,
        "intent": intent,
        "intent_ranking": [intent] if intent else [],
        "entities": entities,
    }
    user_event = {"event": "user", "timestamp": None, "text": ctx.text, "parse_data": latest, "input_channel": ctx.channel}
    return Tracker(
        sender_id=ctx.conversation_id,
        slots=slots,
        latest_message=latest,
        events=[user_event],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def _revealed(ctx: Context, value: SlotValue, allowed: frozenset[str]) -> SlotValue:
    if not allowed or not isinstance(value, str):
        return value
    m = PLACEHOLDER_RE.fullmatch(value.strip())
    if m is None or m.group(1) not in allowed:
        return value
    try:
        return ctx.reveal(value)
    except RevealError:
        return value  # no value held for it in this turn: the action sees the placeholder


def _reply(message: Mapping[str, Any], domain: Mapping[str, Any], slots: Mapping[str, SlotValue]) -> Reply | None:
    text = message.get("text")
    template = message.get("response") or message.get("template")
    if not text and isinstance(template, str):
        text = _template_text(domain, template, slots)
    if not isinstance(text, str) or not text:
        return None
    buttons = message.get("buttons") or []
    titles = tuple(str(b["title"]) for b in buttons if isinstance(b, Mapping) and b.get("title"))
    return Reply(text, titles)


def _template_text(domain: Mapping[str, Any], name: str, slots: Mapping[str, SlotValue]) -> str | None:
    variants = (domain.get("responses") or {}).get(name) or []
    first = variants[0] if variants and isinstance(variants[0], Mapping) else {}
    text = first.get("text")
    if not isinstance(text, str):
        return None
    return _TEMPLATE_SLOT.sub(lambda m: str(slots.get(m.group(1), m.group(0))), text)


def _result(name: str, events: object, replies: list[Reply], ctx: Context) -> Result:
    if events is None:
        events = []
    if not isinstance(events, list):
        raise HandlerError(f"action {name!r} returned {type(events).__name__}, not a list of events")
    slots: dict[str, SlotValue] = {}
    clear: list[str] = []
    start_form: str | None = None
    handoff = False
    for event in events:
        kind = event.get("event") if isinstance(event, Mapping) else None
        if kind == "slot":
            slot, value = event.get("name"), event.get("value")
            if not isinstance(slot, str):
                raise HandlerError(f"action {name!r} returned a SlotSet without a slot name")
            if value is None:
                slots.pop(slot, None)
                clear.append(slot)
            elif isinstance(value, (str, int, float, bool)):
                slots[slot] = value
            else:
                raise HandlerError(f"action {name!r} set slot {slot!r} to a {type(value).__name__}; safebot slots hold plain values")
        elif kind == "reset_slots":
            clear.extend(s for s in ctx.slots if s not in clear)
            slots.clear()
        elif kind == "followup":
            target = event.get("name")
            if not isinstance(target, str):
                raise HandlerError(f"action {name!r} returned a FollowupAction without a name")
            start_form = target
        elif kind == "pause":
            handoff = True
        elif kind == "bot":
            text = event.get("text")
            if isinstance(text, str) and text:
                replies.append(Reply(text))
        else:
            shown = kind if isinstance(kind, str) and kind.isidentifier() else "unknown"
            raise HandlerError(f"action {name!r} returned an event safebot cannot apply ({shown!r})")
    return Result(tuple(replies), slots, start_form=start_form, handoff=handoff, clear_slots=tuple(clear))
