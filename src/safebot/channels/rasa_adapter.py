"""Run existing ``rasa_sdk`` actions as safebot handlers, and their form validation on safebot forms.

The action gets a ``rasa_sdk.Tracker`` built from safebot's state, so it sees what a handler
sees: the redacted message (placeholders, never values), redacted slots and entities, the
verified customer in :data:`~safebot.channels.rasa.VERIFIED_SLOT`. Its ``CollectingDispatcher``
messages become the handler's replies, which pass outbound redaction like every reply (the
customer sees ``****1111``, never a card number). The events it returns become the
:class:`~safebot.engine.Result`:

=============================================  ==============================================
rasa event / exception                         safebot Result
=============================================  ==============================================
``SlotSet(name, value)``                       ``slots[name] = value`` (None: cleared)
``AllSlotsReset()``                            every current slot cleared
``FollowupAction(name)``                       ``start_form`` (a safebot handler name)
``ActiveLoop(name)``                           ``start_form``: ``loops[name]``, else ``name``
``ActiveLoop(None)``                           nothing: no form is active while a handler runs
``ConversationPaused()``                       ``handoff=True``
``BotUttered(text)``                           one more reply
``raise ActionExecutionRejection``             :class:`~safebot.errors.ActionRejected` (Rasa: 400)
anything else                                  HandlerError (never silently dropped)
=============================================  ==============================================

A message's text and buttons are used (``{"title", "payload"}`` becomes a
:class:`~safebot.engine.handlers.Button`; an ``/intent`` payload survives outbound redaction,
any other is redacted like the title); images, attachments, custom JSON and carousels are
dropped (safebot replies are text). A ``response=`` (template) message is rendered from
``domain["responses"]`` (the first variant; ``{slot}`` filled from the redacted slots), by
safebot rather than by Rasa, so the text passes outbound redaction; a response missing from
``domain`` is dropped with a warning.

``reveals``: placeholders of these entity types, in slots and entity values, are revealed
for the action (each reveal audited). The message text itself stays redacted.

Forms. A ``rasa_sdk.FormValidationAction`` validates a safebot form's slots as they are filled,
turn by turn, exactly where the form checks an answer: ``validation=`` (or :func:`rasa_form` /
:func:`with_validation`) puts its ``validate_<slot>`` / ``extract_<slot>`` methods behind each
:class:`~safebot.engine.forms.SlotSpec`. The action's own ``run`` is called with a tracker whose
last events are the ``SlotSet`` candidates of this answer and whose ``active_loop`` is the form,
so ``tracker.slots_to_validate()``, ``required_slots()`` and ``next_requested_slot`` behave as
under Rasa. A returned ``SlotSet(slot, None)`` rejects the value: the safebot form says the
slot's ``invalid`` text and asks again; another value replaces the answer (``str()`` of it).
Served to a Rasa assistant that owns the form (Rasa calls ``validate_<form>`` itself), the
action is a handler of its own: ``rasa_handler(ValidateTransferForm(), domain=DOMAIN)``.

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

import asyncio
import inspect
import logging
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from safebot.channels.rasa import REQUESTED_SLOT, VERIFIED_SLOT
from safebot.engine.context import Context
from safebot.engine.forms import Form, SlotSpec, Validator
from safebot.engine.handlers import Button, Handler, Reply, Result, SlotValue
from safebot.errors import ActionRejected, HandlerError, RevealError, WiringError
from safebot.redaction.types import Placeholder

__all__ = ["VALIDATION_TIMEOUT_S", "rasa_form", "rasa_handler", "rasa_tracker", "with_validation"]

log = logging.getLogger("safebot.channels.rasa")

_TEMPLATE_SLOT = re.compile(r"\{(\w+)\}")
#: a validate_/extract_ method that takes longer than this rejects the answer (fail closed)
VALIDATION_TIMEOUT_S = 10.0
#: the sender id a validation tracker carries: the form check does not know the conversation
_VALIDATION_SENDER = "safebot-form-validation"


def rasa_handler(
    action: Any,
    *,
    intents: Iterable[str] = (),
    name: str | None = None,
    requires_auth: bool = False,
    reveals: Iterable[str] = (),
    form: Form | None = None,
    validation: Any = None,
    domain: Mapping[str, Any] | None = None,
    loops: Mapping[str, str] | None = None,
    description: str = "",
) -> Handler:
    """A :class:`~safebot.engine.Handler` that runs ``action`` (a ``rasa_sdk.Action``).

    ``name`` defaults to ``action.name()``; it is also the action name the
    ``rasa-actions`` server registers. ``domain`` is passed to ``action.run`` (default: an
    empty domain) and renders ``response=`` messages. ``validation``: a
    ``FormValidationAction`` for ``form`` (or, without ``form``, for the form of that name
    in ``domain``), see :func:`with_validation`. ``loops``: Rasa form names to the safebot
    handlers that own them, for ``ActiveLoop(name)`` events.

    A ``FormValidationAction`` given as ``action`` itself becomes a handler with no intents
    that validates the slots already filled (what Rasa calls ``validate_<form>`` for when
    the Rasa assistant runs the form).
    """
    from rasa_sdk import Action
    from rasa_sdk.forms import ValidationAction

    action = _instance(action, Action, "rasa_handler")
    handler_name = name or action.name()
    if not isinstance(handler_name, str) or not handler_name:
        raise TypeError("the action's name() must return a non-empty string")
    allowed = frozenset(reveals)
    the_domain: dict[str, Any] = dict(domain or {})
    loop_names = dict(loops or {})
    if validation is not None:
        if form is None:
            form = rasa_form(validation, the_domain)
        else:
            form = with_validation(form, validation, the_domain)
    validating = isinstance(action, ValidationAction)
    if validating and not _form_slots(action, the_domain):
        raise WiringError(
            f"{handler_name}: a validation action needs domain= with the slots it validates "
            "(forms.<form>.required_slots for a FormValidationAction)"
        )

    async def run(ctx: Context) -> Result:
        from rasa_sdk.executor import CollectingDispatcher
        from rasa_sdk.interfaces import ActionExecutionRejection

        tracker = rasa_tracker(ctx, reveal=allowed)
        if validating:
            _as_candidates(tracker, _form_slots(action, the_domain))
        dispatcher = CollectingDispatcher()
        try:
            events = action.run(dispatcher, tracker, the_domain)
            if inspect.isawaitable(events):
                events = await events
            if dispatcher.is_streaming_active:
                await dispatcher.stream_end()
        except ActionExecutionRejection:
            # Its message is the action author's text and may quote the customer: not kept.
            raise ActionRejected(f"action {handler_name!r} rejected execution") from None
        replies = [r for m in dispatcher.messages if (r := _reply(m, the_domain, tracker.slots)) is not None]
        return _result(handler_name, events, replies, ctx, loop_names)

    return Handler(
        handler_name,
        tuple(intents),
        run,
        form=form,
        reveals=allowed,
        requires_auth=requires_auth,
        description=description or (inspect.getdoc(action) or "").split("\n")[0],
    )


def rasa_form(
    validation: Any,
    domain: Mapping[str, Any],
    *,
    invalid: str = "Sorry, that doesn't look right.",
    max_retries: int = 2,
) -> Form:
    """A safebot :class:`~safebot.engine.forms.Form` for the Rasa form ``validation`` validates.

    The slots are the form's ``required_slots`` in ``domain["forms"]``; each asks with the
    domain's ``utter_ask_<form>_<slot>`` or ``utter_ask_<slot>`` response and is filled from
    its ``from_entity`` mappings, or from the answer's text when a mapping is ``from_text`` or
    the action has an ``extract_<slot>`` method. Values pass the action's ``validate_<slot>``.

    >>> from rasa_sdk.forms import FormValidationAction
    >>> class ValidateTransferForm(FormValidationAction):
    ...     def name(self): return "validate_transfer_form"
    >>> domain = {"forms": {"transfer_form": {"required_slots": ["amount"]}},
    ...           "slots": {"amount": {"mappings": [{"type": "from_entity", "entity": "amount"}]}},
    ...           "responses": {"utter_ask_amount": [{"text": "How much?"}]}}
    >>> [(s.name, s.prompt, s.entities) for s in rasa_form(ValidateTransferForm(), domain).slots]
    [('amount', 'How much?', ('amount',))]
    """
    from rasa_sdk.forms import FormValidationAction

    validation = _instance(validation, FormValidationAction, "rasa_form")
    form_name = validation.form_name()
    spec = (domain.get("forms") or {}).get(form_name)
    names = spec.get("required_slots") if isinstance(spec, Mapping) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise WiringError(f"the domain has no required_slots for form {form_name!r}")
    slots_def = domain.get("slots") or {}
    specs = []
    for slot in names:
        mappings = (slots_def.get(slot) or {}).get("mappings") or []
        entities = tuple(
            m["entity"] for m in mappings
            if isinstance(m, Mapping) and m.get("type") == "from_entity" and isinstance(m.get("entity"), str)
        )
        from_text = any(isinstance(m, Mapping) and m.get("type") == "from_text" for m in mappings)
        if not entities and not from_text and not callable(getattr(validation, f"extract_{slot}", None)):
            raise WiringError(
                f"form {form_name!r}: slot {slot!r} has no from_entity or from_text mapping and the "
                f"action no extract_{slot} method, so nothing could fill it"
            )
        prompt = _template_text(domain, f"utter_ask_{form_name}_{slot}", {}) or _template_text(
            domain, f"utter_ask_{slot}", {}
        )
        specs.append(SlotSpec(slot, prompt or f"What is your {slot.replace('_', ' ')}?", entities=entities,
                              from_text=from_text, invalid=invalid))
    return with_validation(Form(form_name, specs, max_retries=max_retries), validation, domain)


def with_validation(form: Form, validation: Any, domain: Mapping[str, Any] | None = None) -> Form:
    """``form`` with every slot also checked by ``validation`` (a ``FormValidationAction``).

    A slot's own ``validate`` runs first; the action then sees the value as this answer's
    ``SlotSet`` candidate. A slot with an ``extract_<slot>`` method takes the answer's text
    (``from_text``) and the method decides what is in it. Errors and time-outs
    (:data:`VALIDATION_TIMEOUT_S`) reject the value, logged by type only.
    """
    from rasa_sdk.forms import FormValidationAction

    validation = _instance(validation, FormValidationAction, "with_validation")
    the_domain = _validation_domain(validation, dict(domain or {}), [s.name for s in form.slots])
    slot_names = tuple(s.name for s in form.slots)
    specs = []
    for spec in form.slots:
        extracts = callable(getattr(validation, f"extract_{spec.name.replace('-', '_')}", None))
        check = _FormCheck(validation, the_domain, spec.name, slot_names, spec.validate, extracts)
        specs.append(replace(spec, validate=check, from_text=spec.from_text or extracts))
    return replace(form, slots=specs)


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


# -- form validation ---------------------------------------------------------------------------
class _FormCheck:
    """A :class:`SlotSpec` validator that asks a ``FormValidationAction`` about one answer."""

    def __init__(
        self, action: Any, domain: dict[str, Any], slot: str, slots: Sequence[str],
        own: Validator | None, extracts: bool,
    ) -> None:
        self.action, self.domain, self.slot, self.slots = action, domain, slot, tuple(slots)
        self.own, self.extracts = own, extracts

    def __call__(self, value: str) -> str | None:
        if self.own is not None:
            checked = self.own(value)
            if checked is None:
                return None
            value = checked
        try:
            return self._ask(value)
        except Exception as exc:  # noqa: BLE001 - a validator bug rejects the answer, never the turn
            log.error("form validation %s failed for slot %s (%s)", self.action.name(), self.slot, type(exc).__name__)
            return None

    def _ask(self, value: str) -> str | None:
        from rasa_sdk.executor import CollectingDispatcher
        from rasa_sdk.interfaces import ActionExecutionRejection

        tracker = _validation_tracker(self.action.form_name(), self.slots, self.slot, value, candidate=not self.extracts)
        dispatcher = CollectingDispatcher()
        try:
            events = _run_to_end(self.action.run(dispatcher, tracker, self.domain), VALIDATION_TIMEOUT_S)
        except ActionExecutionRejection:
            return None
        decided = _slot_values(events)
        if self.slot not in decided:
            # extract_<slot> found nothing in the answer; or nothing validated it (accepted as is)
            return None if self.extracts else value
        result = decided[self.slot]
        if result is None:
            return None
        if not isinstance(result, (str, int, float)) or isinstance(result, bool):
            log.warning("form validation %s set slot %s to a %s; rejected", self.action.name(), self.slot,
                        type(result).__name__)
            return None
        others = sorted(set(decided) - {self.slot, REQUESTED_SLOT})
        if others:
            log.info("form validation %s also set %d other slot(s); a slot check cannot apply them",
                     self.action.name(), len(others))
        return str(result)


def _validation_tracker(form: str, slots: Sequence[str], slot: str, value: str, *, candidate: bool) -> Any:
    """The tracker Rasa's FormAction hands ``validate_<form>``: the form active, the slot
    requested, this answer's candidates as the last ``SlotSet`` events."""
    from rasa_sdk import Tracker

    values: dict[str, Any] = dict.fromkeys(slots)
    values[REQUESTED_SLOT] = slot
    latest = {"text": value, "intent": {}, "intent_ranking": [], "entities": []}
    events: list[dict[str, Any]] = [
        {"event": "active_loop", "timestamp": None, "name": form},
        {"event": "slot", "timestamp": None, "name": REQUESTED_SLOT, "value": slot},
        {"event": "action", "timestamp": None, "name": "action_listen"},
        {"event": "user", "timestamp": None, "text": value, "parse_data": latest, "input_channel": None},
    ]
    if candidate:
        values[slot] = value
        events.append({"event": "slot", "timestamp": None, "name": slot, "value": value})
    return Tracker(
        sender_id=_VALIDATION_SENDER, slots=values, latest_message=latest, events=events, paused=False,
        followup_action=None, active_loop={"name": form, "validate": True, "rejected": False, "trigger_message": {}},
        latest_action_name="action_listen",
    )


def _validation_domain(action: Any, domain: dict[str, Any], slots: Sequence[str]) -> dict[str, Any]:
    """``domain`` with the action's form listed (``FormValidationAction.domain_slots`` reads
    ``forms.<form>.required_slots``), when the caller's domain does not list it."""
    form = action.form_name() if hasattr(action, "form_name") else None
    if form is None or form in (domain.get("forms") or {}) or not slots:
        return domain
    forms = dict(domain.get("forms") or {})
    forms[form] = {"required_slots": list(slots)}
    return {**domain, "forms": forms}


def _form_slots(action: Any, domain: Mapping[str, Any]) -> list[str]:
    try:
        names = action.domain_slots(domain)
    except Exception:  # noqa: BLE001 - a domain without the form: nothing to validate
        return []
    return [n for n in names if isinstance(n, str)]


def _as_candidates(tracker: Any, slots: Sequence[str]) -> None:
    """Rasa validates the candidates of this turn; a handler only has the filled slots, so
    every filled slot of the form is a candidate again (validators should be idempotent)."""
    for name in slots:
        value = tracker.slots.get(name)
        if value is not None:
            tracker.events.append({"event": "slot", "timestamp": None, "name": name, "value": value})


def _run_to_end(result: Any, timeout: float) -> Any:
    """``result`` if it is not awaitable, else its outcome. Form checks are synchronous (they run
    inside the dialogue step), so a coroutine runs on its own loop: here when no loop is
    running, else on a helper thread, waited for at most ``timeout`` seconds."""
    if not inspect.isawaitable(result):
        return result

    async def wait() -> Any:
        return await result

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = asyncio.run(wait())
        except BaseException as exc:  # noqa: BLE001 - carried back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="safebot-form-validation", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError("form validation timed out")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _slot_values(events: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for event in events if isinstance(events, list) else []:
        if isinstance(event, Mapping) and event.get("event") == "slot" and isinstance(event.get("name"), str):
            out[event["name"]] = event.get("value")
    return out


# -- handlers ------------------------------------------------------------------------------------
def _instance(action: Any, base: type, who: str) -> Any:
    if inspect.isclass(action) and issubclass(action, base):
        action = action()  # a subclass is instantiated, as rasa-sdk's executor does
    if not isinstance(action, base):
        raise TypeError(f"{who} takes a {base.__module__.split('.')[0]}.{base.__name__} instance or subclass")
    return action


def _revealed(ctx: Context, value: SlotValue, allowed: frozenset[str]) -> SlotValue:
    if not allowed or not isinstance(value, str):
        return value
    ph = Placeholder.parse(value.strip())
    if ph is None or ph.entity_type not in allowed:
        return value
    try:
        return ctx.reveal(value)
    except RevealError:
        return value  # no value held for it in this turn: the action sees the placeholder


def _reply(message: Mapping[str, Any], domain: Mapping[str, Any], slots: Mapping[str, SlotValue]) -> Reply | None:
    text = message.get("text")
    buttons = _buttons(message.get("buttons"), slots)
    template = message.get("response") or message.get("template")
    if not text and isinstance(template, str):
        # Rendered here, never passed to Rasa to render: Rasa would fill {slot} from its own
        # tracker, which holds raw values, after safebot's outbound redaction.
        text = _template_text(domain, template, slots)
        buttons = buttons or _buttons(_template(domain, template).get("buttons"), slots)
        if text is None:
            log.warning("response %s is not in the domain given to rasa_handler; the message is dropped",
                        template if template.isidentifier() else "(unnamed)")
    if not isinstance(text, str) or not text:
        return None
    return Reply(text, buttons)


def _buttons(raw: object, slots: Mapping[str, SlotValue]) -> tuple[Button, ...]:
    out = []
    for b in raw if isinstance(raw, list) else []:
        if not isinstance(b, Mapping) or not b.get("title"):
            continue
        payload = b.get("payload")
        out.append(Button(_fill(str(b["title"]), slots), None if payload is None else _fill(str(payload), slots)))
    return tuple(out)


def _template(domain: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    variants = (domain.get("responses") or {}).get(name) or []
    first = variants[0] if variants and isinstance(variants[0], Mapping) else {}
    return first


def _template_text(domain: Mapping[str, Any], name: str, slots: Mapping[str, SlotValue]) -> str | None:
    text = _template(domain, name).get("text")
    return _fill(text, slots) if isinstance(text, str) else None


def _fill(text: str, slots: Mapping[str, SlotValue]) -> str:
    return _TEMPLATE_SLOT.sub(lambda m: str(slots.get(m.group(1), m.group(0))), text)


def _result(name: str, events: object, replies: list[Reply], ctx: Context, loops: Mapping[str, str]) -> Result:
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
        elif kind == "active_loop":
            loop = event.get("name")
            if loop is not None and not isinstance(loop, str):
                raise HandlerError(f"action {name!r} returned an ActiveLoop whose name is not a string")
            if loop:
                start_form = loops.get(loop, loop)
        elif kind == "pause":
            handoff = True
        elif kind == "bot":
            text = event.get("text")
            if isinstance(text, str) and text:
                replies.append(Reply(text))
        elif kind == "action_execution_rejected":
            raise ActionRejected(f"action {name!r} rejected execution")
        else:
            shown = kind if isinstance(kind, str) and kind.isidentifier() else "unknown"
            raise HandlerError(f"action {name!r} returned an event safebot cannot apply ({shown!r})")
    return Result(tuple(replies), slots, start_form=start_form, handoff=handoff, clear_slots=tuple(clear))
