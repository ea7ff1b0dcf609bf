"""The one interpreter of the handler contract (``Handler``, ``Verification``, ``Result``).

Every channel runs handlers through these two functions, so a handler behaves the same in a
safebot conversation and behind a Rasa assistant:

* the handler gets a :class:`~safebot.engine.context.Context` (redacted text, slots, the
  verified customer, audited ``reveal``);
* anything it raises is contained: logged by type only (an exception message can hold customer
  text), turned into a safe error code, never re-raised to the caller;
* a result that is not a :class:`~safebot.engine.handlers.Result` is an error;
* every slot value it sets is cleaned by the turn's redaction session before anyone stores it;
* ``ActionRejected`` (rasa-sdk's ``ActionExecutionRejection``) is kept distinct, so the Rasa
  server can answer rasa-sdk's 400;
* a verifier's answer must look like a customer id; an error is reported, never a match.

>>> outcome = await run_handler(handler, ctx, session.clean_slot)    # doctest: +SKIP
>>> outcome.error is None                                              # doctest: +SKIP
True
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from safebot.engine.context import Context
from safebot.engine.handlers import Handler, Result, SlotValue, Verification
from safebot.errors import ActionRejected, RevealError, SafebotError

__all__ = ["CUSTOMER_ID", "HandlerOutcome", "VerifyOutcome", "run_handler", "run_verification"]

log = logging.getLogger("safebot.engine")

#: what a verified customer id may look like (it is stored and shown to agents)
CUSTOMER_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")

SlotCleaner = Callable[[str, object], SlotValue]


@dataclass(frozen=True)
class HandlerOutcome:
    """A handler's validated result with cleaned slots, or a safe error code."""

    handler: str
    result: Result | None = None
    error: str | None = None

    @property
    def rejected(self) -> bool:
        return self.error == ActionRejected.code


@dataclass(frozen=True)
class VerifyOutcome:
    """The verified customer id, or None (no match); ``error`` when the verifier failed."""

    customer_id: str | None = None
    error: str | None = None


#: a handler that has not answered after this many seconds is abandoned (an error reply)
DEFAULT_TIMEOUT_S = 30.0


async def run_handler(
    handler: Handler, ctx: Context, clean_slot: SlotCleaner, *, timeout: float = DEFAULT_TIMEOUT_S
) -> HandlerOutcome:
    """Run ``handler`` with ``ctx``; never raises for anything the handler does."""
    try:
        result = await asyncio.wait_for(handler.run(ctx), timeout)
        if not isinstance(result, Result):
            raise TypeError("not a Result")
        result.validate(handler.name)
        slots = {name: clean_slot(name, value) for name, value in result.slots.items()}
    except ActionRejected:
        log.info("handler %s rejected the call", handler.name)
        return HandlerOutcome(handler.name, error=ActionRejected.code)
    except TimeoutError:
        log.error("handler %s did not answer within %.0f s", handler.name, timeout)
        return HandlerOutcome(handler.name, error="handler_timeout")
    except RevealError as exc:
        # RevealError messages name the handler and the entity type only.
        log.error("%s", exc)
        return HandlerOutcome(handler.name, error=exc.code)
    except Exception as exc:  # noqa: BLE001 - a handler bug must not leak text or kill the turn
        log.error("handler %s failed (%s)", handler.name, type(exc).__name__)
        return HandlerOutcome(handler.name, error="handler_error")
    return HandlerOutcome(handler.name, _with_slots(result, slots))


async def run_verification(
    verification: Verification, ctx: Context, *, timeout: float = DEFAULT_TIMEOUT_S
) -> VerifyOutcome:
    """Run the bot's verification; a failure is an error outcome, never a customer."""
    try:
        customer = await asyncio.wait_for(verification.verify(ctx), timeout)
    except TimeoutError:
        log.error("verification did not answer within %.0f s", timeout)
        return VerifyOutcome(None, "verification_timeout")
    except RevealError as exc:
        log.error("%s", exc)
        return VerifyOutcome(None, exc.code)
    except SafebotError as exc:
        log.error("verification failed (%s)", exc.code)
        return VerifyOutcome(None, "verification_error")
    except Exception as exc:  # noqa: BLE001 - e.g. ValueError("no customer with dob ...")
        log.error("verification failed (%s)", type(exc).__name__)
        return VerifyOutcome(None, "verification_error")
    if customer is None:
        return VerifyOutcome(None)
    if not isinstance(customer, str) or not CUSTOMER_ID.fullmatch(customer):
        log.error("verification returned something that is not a customer id")
        return VerifyOutcome(None, "verification_error")
    return VerifyOutcome(customer)


def _with_slots(result: Result, slots: dict[str, SlotValue]) -> Result:
    return Result(
        result.replies, slots, start_form=result.start_form, handoff=result.handoff,
        clear_slots=tuple(result.clear_slots),
    )
