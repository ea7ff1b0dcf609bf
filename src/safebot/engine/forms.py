"""Forms: slots collected over several turns, validated, re-prompted.

A slot is filled from an entity candidate of one of its ``entities`` (a regex/lookup entity
from nlu.yml such as ``amount``, or a redactor placeholder type such as ``DATE_OF_BIRTH``,
whose value is then the placeholder, never the raw value). A slot may instead take the
whole (redacted) message when ``from_text`` is set, for free-form answers.

>>> last4 = SlotSpec("card_last_four", "What are the last four digits of your card?",
...                  entities=("card_last_four",), validate=digits(4))
>>> last4.check("4242")
'4242'
>>> last4.check("42") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from safebot.nlu.placeholders import EntityCandidate

__all__ = ["Form", "SlotSpec", "amount", "choice", "digits", "fill"]

Validator = Callable[[str], str | None]


def digits(n: int) -> Validator:
    """Exactly ``n`` digits (separators ignored)."""

    def check(value: str) -> str | None:
        d = re.sub(r"\D", "", value)
        return d if len(d) == n else None

    return check


def amount(value: str) -> str | None:
    """A positive money amount, normalised to two decimals: '$1,200' -> '1200.00'."""
    m = re.search(r"\d[\d,]*(?:\.\d{1,2})?", value)
    if m is None:
        return None
    number = float(m.group(0).replace(",", ""))
    return f"{number:.2f}" if number > 0 else None


def choice(*options: str) -> Validator:
    """One of ``options`` (case-insensitive; returns the canonical option)."""
    lookup = {o.lower(): o for o in options}

    def check(value: str) -> str | None:
        return lookup.get(value.strip().lower())

    return check


@dataclass(frozen=True)
class SlotSpec:
    """One slot of a form."""

    name: str
    prompt: str
    entities: tuple[str, ...] = ()
    validate: Validator | None = None
    invalid: str = "Sorry, that doesn't look right."
    from_text: bool = False
    required: bool = True

    def check(self, value: str) -> str | None:
        if self.validate is None:
            return value
        return self.validate(value)


@dataclass(frozen=True)
class Form:
    """An ordered set of slots. ``max_retries`` invalid answers per slot end the form."""

    name: str
    slots: Sequence[SlotSpec]
    max_retries: int = 2
    cancel_words: frozenset[str] = field(
        default_factory=lambda: frozenset({"cancel", "stop", "never mind", "nevermind", "forget it", "quit"})
    )

    def next_missing(self, filled: Mapping[str, object]) -> SlotSpec | None:
        return next((s for s in self.slots if s.required and filled.get(s.name) in (None, "")), None)


@dataclass
class FillOutcome:
    filled: dict[str, str] = field(default_factory=dict)
    invalid: list[SlotSpec] = field(default_factory=list)
    #: the asked slot rejected the whole message as a free-text answer (may be another request)
    text_rejected: bool = False


def fill(
    form: Form,
    slots: Mapping[str, object],
    entities: Sequence[EntityCandidate],
    text: str,
    asked: str | None,
) -> FillOutcome:
    """Fill any of ``form``'s empty slots from ``entities``; the asked slot may take the text.

    Each entity candidate fills at most one slot; a slot whose candidate fails validation is
    reported as invalid only if it is the slot that was asked for.
    """
    out = FillOutcome()
    used: set[int] = set()
    for spec in form.slots:
        if slots.get(spec.name) not in (None, "") and spec.name != asked:
            continue
        for i, cand in enumerate(entities):
            if i in used or cand.entity not in spec.entities:
                continue
            value = spec.check(cand.value)
            if value is not None:
                out.filled[spec.name] = value
                used.add(i)
                break
            if spec.name == asked:
                out.invalid.append(spec)
        else:
            if spec.name == asked and spec.name not in out.filled and spec.from_text and text.strip():
                value = spec.check(text.strip())
                if value is not None:
                    out.filled[spec.name] = value
                elif spec not in out.invalid:
                    out.invalid.append(spec)
                    out.text_rejected = True
    return out
