"""The handler API: what a bot's ``handlers.py`` writes against.

A handler declares what it serves (intents), what it needs (a form of slots, verified
identity) and which entity types it may reveal; ``run`` returns a typed :class:`Result`.

>>> async def balance(ctx: Context) -> Result:
...     return Result.say("Your balance is $12.00.")
>>> h = Handler("check_balance", intents=("check_balance",), run=balance, requires_auth=True)
>>> h.requires_auth
True
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safebot.errors import HandlerError

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine.context import Context
    from safebot.engine.forms import Form

__all__ = ["Button", "Handler", "Reply", "Result", "Routes", "SlotValue", "Verification"]

SlotValue = str | int | float | bool | None

#: a button payload that starts with this is an intent ('/freeze_card'); such payloads carry
#: no customer data, so they pass unchanged. Any other payload is redacted like the title.
INTENT_PAYLOAD = "/"


@dataclass(frozen=True, slots=True)
class Button:
    """A quick-reply button. ``payload`` is what comes back when it is pressed (default: the
    title). Titles pass outbound redaction; a payload is kept only if it is an intent
    (``/intent`` or ``/intent{"slot": "value"}`` with safe values), otherwise redacted too."""

    title: str
    payload: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the customer. Outbound redaction runs on ``text`` before it is sent.

    >>> Reply("Which card?", ("Debit", Button("Credit", "/choose{\"card\": \"credit\"}"))).buttons[0]
    Button(title='Debit', payload=None)
    """

    text: str
    buttons: tuple[Button, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "buttons", tuple(b if isinstance(b, Button) else Button(str(b)) for b in self.buttons)
        )


@dataclass(frozen=True, slots=True)
class Result:
    """What a handler returns: replies, slot updates, and what should happen next."""

    replies: tuple[Reply, ...] = ()
    slots: Mapping[str, SlotValue] = field(default_factory=dict)
    #: start this form next (e.g. a dispute that needs more details)
    start_form: str | None = None
    #: pass the conversation to a human agent
    handoff: bool = False
    #: forget these slots after the turn (values a handler should not keep around)
    clear_slots: tuple[str, ...] = ()

    @classmethod
    def say(cls, *texts: str, **slots: SlotValue) -> Result:
        """Shorthand: ``Result.say("Done.", card_state="frozen")``."""
        return cls(tuple(Reply(t) for t in texts), dict(slots))

    def validate(self, handler: str) -> Result:
        if not isinstance(self, Result):
            raise HandlerError(f"handler {handler!r} returned {type(self).__name__}, not Result")
        for reply in self.replies:
            if not isinstance(reply, Reply) or not isinstance(reply.text, str):
                raise HandlerError(f"handler {handler!r} returned a reply that is not a Reply")
        if self.start_form is not None and not isinstance(self.start_form, str):
            raise HandlerError(f"handler {handler!r} returned a start_form that is not a handler name")
        for name, value in self.slots.items():
            if not isinstance(name, str) or not isinstance(value, (str, int, float, bool, type(None))):
                raise HandlerError(f"handler {handler!r} set slot {name!r} to an unsupported type")
        return self


Run = Callable[["Context"], Awaitable[Result]]


@dataclass(frozen=True)
class Handler:
    """A domain handler.

    ``intents``: the intents routed to it. ``form``: slots it needs, collected first.
    ``reveals``: entity types ``ctx.reveal`` may return for it (anything else raises
    :class:`~safebot.errors.RevealError`). ``requires_auth``: identity must be verified first.
    """

    name: str
    intents: tuple[str, ...]
    run: Run
    form: Form | None = None
    reveals: frozenset[str] = frozenset()
    requires_auth: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "intents", tuple(self.intents))
        object.__setattr__(self, "reveals", frozenset(self.reveals))


@dataclass(frozen=True)
class Verification:
    """The bot's identity check: a form, and a function that turns its slots into a customer.

    ``verify`` returns the customer id, or None when the details do not match. After
    ``max_attempts`` failures the conversation is locked and handed to a human.
    """

    form: Form
    verify: Callable[[Context], Awaitable[str | None]]
    reveals: frozenset[str] = frozenset()
    max_attempts: int = 3
    success: str = "Thanks, you're verified."
    failure: str = "Sorry, those details don't match our records."
    locked: str = (
        "For your security I can't try again in this chat. I'm passing you to a colleague who can help."
    )


@dataclass(frozen=True)
class Routes:
    """The route table: intents to handlers, the verification flow, and fixed responses.

    Built by the bot's ``handlers.py`` in ``setup(bot_dir)``; there are no decorators and
    no global registry.
    """

    handlers: Sequence[Handler]
    verification: Verification | None = None
    responses: Mapping[str, str] = field(default_factory=dict)
    #: intents that answer a form's question rather than start something new
    inform_intents: frozenset[str] = frozenset({"provide_info", "inform", "affirm", "deny"})

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for h in self.handlers:
            for intent in h.intents:
                if intent in seen:
                    raise HandlerError(f"intent {intent!r} is routed to both {seen[intent]!r} and {h.name!r}")
                seen[intent] = h.name

    def check_wiring(self, intents: frozenset[str], entities: frozenset[str], where: str) -> None:
        """Fail at load, not mid-conversation: every routed intent must be one the NLU knows,
        every form slot's entity one the NLU or the policy produces, auth needs a verification.

        Raises :class:`~safebot.errors.WiringError` naming ``where`` (the handlers file).
        """
        from safebot.errors import WiringError

        names: set[str] = set()
        for h in self.handlers:
            if h.name in names:
                raise WiringError(f"two handlers are named {h.name!r}", path=where)
            names.add(h.name)
            for intent in h.intents:
                if intent not in intents:
                    raise WiringError(
                        f"handler {h.name!r} routes intent {intent!r}, which nlu.yml does not define", path=where
                    )
            if h.requires_auth and self.verification is None:
                raise WiringError(f"handler {h.name!r} requires auth but setup() defines no Verification", path=where)
        forms = [(h.name, h.form) for h in self.handlers if h.form is not None]
        if self.verification is not None:
            forms.append(("verification", self.verification.form))
        for owner, form in forms:
            for spec in form.slots:
                for entity in spec.entities:
                    if entity not in entities:
                        raise WiringError(
                            f"{owner}: slot {spec.name!r} takes entity {entity!r}, which neither nlu.yml nor "
                            "the policy produces",
                            path=where,
                        )

    def for_intent(self, intent: str) -> Handler | None:
        for h in self.handlers:
            if intent in h.intents:
                return h
        return None

    def by_name(self, name: str) -> Handler | None:
        return next((h for h in self.handlers if h.name == name), None)

    def to_start(self, name: str) -> Handler | None:
        """The handler a ``Result.start_form`` names: by handler name, else by its form's name."""
        return self.by_name(name) or next((h for h in self.handlers if h.form is not None and h.form.name == name), None)

