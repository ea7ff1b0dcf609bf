"""``notifications.yaml``: the message templates a bot may start a conversation with.

A template has a name and language (as approved by Meta), a category as WhatsApp reviews it
(UTILITY, MARKETING, AUTHENTICATION), the purpose it needs consent or another lawful basis
for, a body with named parameters (``{{amount}}``), and quick-reply buttons. Parameters are
typed, and checked against the bot's redaction policy when the file loads: a parameter that
would carry a value the ``customer`` treatment does not show in full (a card number, an SSN,
a passport number, a name) fails to load with the file, line and parameter named. A card
appears as its last four digits at most (``card_last_four``).

.. code-block:: yaml

    templates:
      - name: fraud_alert
        category: UTILITY
        purpose: fraud_alerts
        lawful_basis: legitimate_interests
        body: "We held a payment of {{amount}} at {{merchant}} on your card ending {{card}}. Was that you?"
        parameters:
          amount: {type: money}
          merchant: {type: text, max_length: 40}
          card: {type: card_last_four}
        buttons: ["Yes, it was me", "No, it wasn't me"]

>>> catalog = load_templates("examples/bank/notifications.yaml", policy)       # doctest: +SKIP
>>> catalog.get("fraud_alert").category                                        # doctest: +SKIP
'UTILITY'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from safebot.config.yaml_models import line_of, parse_yaml_model, read_yaml
from safebot.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from safebot.redaction.policy import Policy

__all__ = [
    "CATEGORIES",
    "ENTITY_TYPES",
    "LAWFUL_BASES",
    "PLAIN_TYPES",
    "Catalog",
    "ParamError",
    "Template",
    "load_templates",
]

Category = Literal["UTILITY", "MARKETING", "AUTHENTICATION"]
CATEGORIES: tuple[str, ...] = ("UTILITY", "MARKETING", "AUTHENTICATION")
LawfulBasis = Literal["consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests"]
LAWFUL_BASES: tuple[str, ...] = (
    "consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests",
)

#: types whose values are checked by a pattern that no identifier can pass: sent as they are
PLAIN_TYPES: dict[str, re.Pattern[str]] = {
    "money": re.compile(r"(?:[A-Z]{3} ?|[$€£¥])?-?[0-9]{1,3}(?:[, ]?[0-9]{3}){0,3}(?:\.[0-9]{2})?(?: ?[A-Z]{3})?"),
    "date": re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2} [A-Z][a-z]{2,8}(?: [0-9]{4})?|[A-Z][a-z]{2,8} [0-9]{1,2}(?:, [0-9]{4})?)"),
    "time": re.compile(r"[0-2]?[0-9]:[0-5][0-9](?: ?[AaPp][Mm])?"),
    "flight_number": re.compile(r"[A-Z0-9]{2}[0-9]{1,4}[A-Z]?"),
    "airport": re.compile(r"[A-Z]{3}"),
    "number": re.compile(r"-?[0-9]{1,6}"),
    "card_last_four": re.compile(r"[0-9]{4}"),
    "duration": re.compile(r"[0-9]{1,3} ?(?:h|min|hours?|minutes?)(?: [0-9]{1,2} ?(?:min|minutes?))?"),
}
#: types that name what an identifier is: allowed only if the customer treatment shows it whole
ENTITY_TYPES: dict[str, str] = {
    "card_number": "CREDIT_CARD",
    "cvv": "CVV",
    "pin": "PIN",
    "iban": "IBAN_CODE",
    "account_number": "BANK_ACCOUNT",
    "routing_number": "ABA_ROUTING_NUMBER",
    "ssn": "US_SSN",
    "itin": "US_ITIN",
    "passport": "PASSPORT",
    "booking_reference": "BOOKING_REFERENCE",
    "ticket_number": "TICKET_NUMBER",
    "frequent_flyer": "FREQUENT_FLYER",
    "known_traveler": "KNOWN_TRAVELER_NUMBER",
    "date_of_birth": "DATE_OF_BIRTH",
    "person": "PERSON",
    "email": "EMAIL_ADDRESS",
    "phone": "PHONE_NUMBER",
    "address": "ADDRESS",
}
ParamType = Literal[
    "text", "money", "date", "time", "flight_number", "airport", "number", "card_last_four", "duration",
    "card_number", "cvv", "pin", "iban", "account_number", "routing_number", "ssn", "itin", "passport",
    "booking_reference", "ticket_number", "frequent_flyer", "known_traveler", "date_of_birth", "person",
    "email", "phone", "address",
]
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z][a-z0-9_]{0,31})\s*\}\}")
_NAME = r"^[a-z][a-z0-9_]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    type: ParamType = "text"
    #: longest value accepted (WhatsApp allows more; alerts should be short)
    max_length: Annotated[int, Field(ge=1, le=1024)] = 64
    description: str = ""


class QuickReply(_Strict):
    #: the button's text (WhatsApp: at most 25 characters); a tap comes back as this text
    title: Annotated[str, Field(min_length=1, max_length=25)]

    @classmethod
    def _coerce(cls, value: Any) -> Any:
        return {"title": value} if isinstance(value, str) else value


class Template(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,128}$")]
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")] = "en_US"
    category: Category
    #: what the customer must have agreed to (or another lawful basis covers): ``fraud_alerts``
    purpose: Annotated[str, Field(pattern=_NAME)]
    lawful_basis: LawfulBasis
    body: Annotated[str, Field(min_length=1, max_length=1024)]
    parameters: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")], Parameter] = Field(default_factory=dict)
    buttons: Annotated[list[QuickReply], Field(max_length=10)] = Field(default_factory=list)
    #: a delivery not sent this long after it was queued expires instead (a stale alert misleads)
    ttl_seconds: Annotated[int, Field(ge=30, le=30 * 86400)] | None = None
    description: str = ""

    @field_validator("buttons", mode="before")
    @classmethod
    def _titles(cls, value: Any) -> Any:
        return [QuickReply._coerce(v) for v in value] if isinstance(value, list) else value

    def placeholders(self) -> list[str]:
        return list(dict.fromkeys(_PLACEHOLDER.findall(self.body)))

    def render(self, params: Mapping[str, str]) -> str:
        """The body with ``params`` filled in (what the customer reads)."""
        return _PLACEHOLDER.sub(lambda m: params.get(m.group(1), m.group(0)), self.body)

    def components(self, params: Mapping[str, str], payload: Callable[[int], str]) -> list[dict[str, Any]]:
        """The Cloud API ``components`` of a send: named body parameters, and one payload per
        quick reply (``payload(i)``) so a tap can be tied to its delivery."""
        out: list[dict[str, Any]] = []
        if self.parameters:
            out.append({"type": "body", "parameters": [
                {"type": "text", "parameter_name": name, "text": params[name]} for name in self.placeholders()
            ]})
        for i, _ in enumerate(self.buttons):
            out.append({"type": "button", "sub_type": "quick_reply", "index": str(i),
                        "parameters": [{"type": "payload", "payload": payload(i)}]})
        return out


class Purpose(_Strict):
    #: how the purpose is named to the customer ("fraud alerts", "flight updates")
    label: Annotated[str, Field(min_length=1, max_length=64)]
    description: str = ""


class OptOutTexts(_Strict):
    #: sent once when an opt-out is recorded; {what} names what stops ("fraud alerts", "messages")
    stopped: str = "You won't get {what} from us on WhatsApp any more. Reply START to get them again."
    started: str = "Thanks, you'll get {what} from us on WhatsApp again. Reply STOP at any time to stop them."


class NotificationsFile(_Strict):
    templates: list[Template] = Field(default_factory=list)
    purposes: dict[Annotated[str, Field(pattern=_NAME)], Purpose] = Field(default_factory=dict)
    opt_out: OptOutTexts = Field(default_factory=OptOutTexts)


class ParamError(ValueError):
    """A parameter value that does not fit its template. The message names the parameter, never
    the value."""


@dataclass(frozen=True)
class Catalog:
    """The loaded templates of a bot, by name."""

    templates: Mapping[str, Template]
    purposes: Mapping[str, Purpose]
    opt_out: OptOutTexts
    source: str = "<none>"

    def get(self, name: str) -> Template:
        try:
            return self.templates[name]
        except KeyError:
            raise ConfigError(f"no template named {name!r}", path=self.source) from None

    def label(self, purpose: str) -> str:
        found = self.purposes.get(purpose)
        return found.label if found is not None else purpose.replace("_", " ")

    def describe(self, policy: Policy | None = None) -> list[dict[str, Any]]:
        """What each template may carry, for a compliance reviewer (``safebot notify templates``)."""
        out = []
        for t in self.templates.values():
            out.append({
                "name": t.name, "language": t.language, "category": t.category, "purpose": t.purpose,
                "lawful_basis": t.lawful_basis, "body": t.body,
                "parameters": {n: {"type": p.type, "max_length": p.max_length,
                                   "sent_as": _sent_as(p.type)} for n, p in t.parameters.items()},
                "buttons": [b.title for b in t.buttons], "ttl_seconds": t.ttl_seconds,
            })
        return out

    def prepare(self, template: Template, raw: Mapping[str, object], render_text: Callable[[str], str]) -> dict[str, str]:
        """Check ``raw`` against ``template`` and return the values the customer will see.

        Typed values must match their pattern exactly; ``text`` values are replaced by their
        ``customer`` rendering (``render_text``). Raises :class:`ParamError` naming the
        parameter (never its value).
        """
        missing = [n for n in template.parameters if n not in raw]
        extra = [str(n) for n in raw if n not in template.parameters]
        if missing:
            raise ParamError(f"template {template.name}: parameter {missing[0]!r} is missing")
        if extra:
            raise ParamError(f"template {template.name}: {extra[0]!r} is not a parameter of this template")
        out: dict[str, str] = {}
        for name, spec in template.parameters.items():
            value = raw[name]
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise ParamError(f"template {template.name}: parameter {name!r} must be text or a number")
            text = str(value).strip()
            if not text or len(text) > spec.max_length:
                raise ParamError(f"template {template.name}: parameter {name!r} must be 1-{spec.max_length} characters")
            pattern = PLAIN_TYPES.get(spec.type)
            if pattern is not None:
                if pattern.fullmatch(text) is None:
                    raise ParamError(f"template {template.name}: parameter {name!r} is not a valid {spec.type}")
                out[name] = text
            else:  # text (entity types never load)
                out[name] = render_text(text)
        return out


def _sent_as(kind: str) -> str:
    if kind in PLAIN_TYPES:
        return "as given, if it matches the type's pattern"
    return "its customer rendering (anything the policy detects is treated as for the customer)"


def _shown_whole(policy: Policy, entity: str) -> tuple[bool, str]:
    treatment = policy.treatment(entity, "customer")
    # Every treatment but none hides something: mask keeps a tail, the rest replace or drop.
    return False, str(treatment)


def load_templates(path: str | Path, policy: Policy | None = None) -> Catalog:
    """Read and check ``notifications.yaml``; a missing file is an empty catalog.

    With ``policy``, every parameter is checked against its ``customer`` treatment.
    Raises :class:`ConfigError` with the file, line and field of the first problem.
    """
    path = Path(path)
    if not path.exists():
        return Catalog({}, {}, OptOutTexts(), str(path))
    data, node = read_yaml(path)
    parsed = parse_yaml_model(NotificationsFile, data, node, str(path))
    seen: dict[str, int] = {}

    def fail(message: str, loc: tuple[int | str, ...]) -> None:
        field = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))
        raise ConfigError(message, path=str(path), line=line_of(node, loc), field=field)

    for i, t in enumerate(parsed.templates):
        where: tuple[int | str, ...] = ("templates", i)
        if t.name in seen:
            fail(f"template {t.name!r} is declared twice (first at templates[{seen[t.name]}])", (*where, "name"))
        seen[t.name] = i
        if t.category == "MARKETING" and t.lawful_basis != "consent":
            fail("a MARKETING template needs lawful_basis: consent (an opt-in)", (*where, "lawful_basis"))
        used = t.placeholders()
        for name in used:
            if name not in t.parameters:
                fail(f"the body uses {{{{{name}}}}}, which is not declared under parameters", (*where, "body"))
        for name, p in t.parameters.items():
            if name not in used:
                fail(f"parameter {name!r} is declared but the body never uses it", (*where, "parameters", name))
            entity = ENTITY_TYPES.get(p.type)
            if entity is None:
                continue
            if policy is None:
                fail(f"parameter {name!r} is a {p.type}: checking it needs the bot's policy", (*where, "parameters", name, "type"))
                continue
            whole, treatment = _shown_whole(policy, entity)
            if not whole:
                hint = " (send its last four digits: type card_last_four)" if entity == "CREDIT_CARD" else ""
                fail(f"parameter {name!r} would carry a {entity}, which the customer treatment does not show "
                     f"in full ({treatment}){hint}", (*where, "parameters", name, "type"))
        titles = [b.title for b in t.buttons]
        if len(set(titles)) != len(titles):
            fail("two quick-reply buttons have the same title (a tap could not be told apart)", (*where, "buttons"))
    return Catalog({t.name: t for t in parsed.templates}, dict(parsed.purposes), parsed.opt_out, str(path))
