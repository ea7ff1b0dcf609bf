"""Northwind Airways: the airline example's handlers and route table.

Handlers only ever see redacted text and slots holding placeholders (``<PASSPORT_1>``).
Three of them reveal a value, each for one declared entity type and one purpose:
verification (booking reference and last name, compared by the back end), passport
details (written to the back end for advance passenger information) and bag payment
(the card, of which the customer is shown only the last four digits).

Conversational shape: an intent handler looks something up and explains it, then, when
the customer has to choose or confirm, starts a small form handled by a second handler
(``seat_choice``, ``rebook_choice``, ``refund_confirm`` ...). Those follow-up forms take
their answer from the customer's next message only (``from_text``), so that restarting
one after a refusal ("14A is taken") cannot re-fill it from the same message and loop.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from safebot.engine import Context, Form, Handler, Result, Routes, SlotSpec, Verification
from safebot.errors import HandlerError

from . import parsing
from .backend import (
    ASSISTANCE_DESCRIPTIONS,
    MEAL_DESCRIPTIONS,
    BackendError,
    Booking,
    CheckInResult,
    InvalidRequestError,
    NotEligibleError,
    Reservations,
    SeatUnavailableError,
    Segment,
    TravelDocumentRequiredError,
    open_backend,
)
from .backend.fares import AIRCRAFT, FARES
from .formatting import day, delay, money, option_line, refund_reason, status_sentence

#: a persistent database for the demo back end; unset, each bot process starts from the seed
DB_ENV = "NORTHWIND_DEMO_DB"
#: a delay of at least this long makes a segment "disrupted" (the back end's free-rebook rule)
DISRUPTED_MINUTES = 120
CANCEL_WORDS = frozenset({"cancel", "stop", "never mind", "nevermind", "forget it", "quit",
                          "no", "no thanks", "none", "none of them", "neither"})

Run = Callable[[Context], Awaitable[Result]]


# -- back end ----------------------------------------------------------------------------------


def _backend_path(bot_dir: Path) -> Path:
    """Where the demo reservations database lives.

    By default a fresh copy of the seed per bot process: the demo bookings in the README are
    then always as described (14D free, no passport on file, ...) and conversation tests are
    repeatable. Set NORTHWIND_DEMO_DB to keep changes across restarts (or to share one
    database between several worker processes).
    """
    configured = os.environ.get(DB_ENV)
    if configured:
        return Path(configured)
    scratch = Path(tempfile.mkdtemp(prefix="northwind-demo-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    return scratch / "demo.sqlite3"


def _now() -> datetime:
    return datetime.now()


def _upcoming(booking: Booking) -> list[Segment]:
    """Segments that have not left yet, in travel order."""
    now = _now()
    return [s for s in booking.segments
            if (s.flight.estimated_departure or s.flight.scheduled_departure) > now]


def _disrupted(segment: Segment) -> bool:
    return segment.flight.status == "cancelled" or segment.flight.delay_minutes >= DISRUPTED_MINUTES


def _segment_for(ctx: Context, booking: Booking, *, prefer_disrupted: bool = False) -> Segment | None:
    """The segment the customer means: a flight number they named, else a disrupted one
    (for rebooking), else the next one."""
    upcoming = _upcoming(booking)
    named = ctx.entity("flight_number")
    if named:
        wanted = named.replace(" ", "").upper()
        match = next((s for s in upcoming if s.flight.flight_number == wanted), None)
        if match is not None:
            return match
    if prefer_disrupted:
        disrupted = next((s for s in upcoming if _disrupted(s)), None)
        if disrupted is not None:
            return disrupted
    return upcoming[0] if upcoming else None


# -- verification --------------------------------------------------------------------------------


def _name_candidates(name: str) -> list[str]:
    """'Linh Nguyen' -> ['Linh Nguyen', 'Nguyen']: the redactor may catch the full name while the
    back end wants the last name."""
    words = name.replace(",", " ").split()
    return [" ".join(words[i:]) for i in range(len(words))]


def make_verify(airline: Reservations) -> Callable[[Context], Awaitable[str | None]]:
    async def verify(ctx: Context) -> str | None:
        """Booking reference + last name -> the booking id (the conversation's customer id)."""
        reference = ctx.reveal(str(ctx.slot("booking_reference")))
        name = ctx.reveal(str(ctx.slot("last_name")))
        for candidate in _name_candidates(name):
            booking_id = airline.verify_booking(reference, candidate)
            if booking_id is not None:
                return booking_id
        return None

    return verify


def verification_form() -> Form:
    return Form("verification", [
        SlotSpec("booking_reference",
                 "What's your booking reference? It's the six letters and numbers on your confirmation.",
                 entities=("BOOKING_REFERENCE",),
                 invalid="I couldn't read a booking reference there (six letters and digits)."),
        SlotSpec("last_name", "Thanks. And the passenger's last name?",
                 entities=("PERSON",), invalid="I couldn't read a last name there."),
    ])


# -- the handlers ----------------------------------------------------------------------------------


class Airline:
    """The handlers, closed over one back end (opened once in ``setup``)."""

    def __init__(self, airline: Reservations) -> None:
        self.airline = airline

    def booking(self, ctx: Context) -> Booking:
        if ctx.customer_id is None:  # the route table requires auth; this guards a misconfiguration
            raise HandlerError("booking handler ran without a verified customer")
        return self.airline.get_booking(ctx.customer_id)

    # flight status ------------------------------------------------------------------------------
    async def flight_status(self, ctx: Context) -> Result:
        """Any flight by number, no verification needed; 'my flight' needs the booking."""
        number = ctx.entity("flight_number")
        if number:
            return self._status_of(number, ctx.entity("date"))
        if ctx.customer_id is not None:
            return await self.booking_status(ctx)
        if ctx.entity("BOOKING_REFERENCE"):
            return Result(start_form="booking_status")
        return Result(start_form="flight_lookup")

    def _status_of(self, number: str, when: str | None) -> Result:
        try:
            flight = self.airline.flight_status(number, parsing.parse_day(when, _now().date()))
        except InvalidRequestError:
            flight = None
        if flight is None:
            shown = number.replace(" ", "").upper()
            return Result.say(
                f"I can't find {shown} in our schedule. I can only see Northwind Airways (NW) flights; "
                "for another airline, please check with them."
            )
        return Result.say(status_sentence(flight))

    async def flight_lookup(self, ctx: Context) -> Result:
        """The answer to 'which flight?': a flight number, or a booking reference."""
        answer = str(ctx.slot("flight_query"))
        if answer.startswith("<BOOKING_REFERENCE"):
            return Result(start_form="booking_status")
        return self._status_of(answer, ctx.entity("date"))

    async def booking_status(self, ctx: Context) -> Result:
        booking = self.booking(ctx)
        upcoming = _upcoming(booking)
        if not upcoming:
            return Result.say("There are no upcoming flights on your booking.")
        return Result.say(*(status_sentence(s.flight) for s in upcoming[:2]))

    # rebooking ------------------------------------------------------------------------------------
    async def rebook(self, ctx: Context) -> Result:
        booking = self.booking(ctx)
        segment = _segment_for(ctx, booking, prefer_disrupted=True)
        if segment is None:
            return Result.say("There's no upcoming flight on your booking that I can change.")
        on = parsing.parse_day(ctx.entity("date"), _now().date())
        options = self.airline.rebook_options(booking.booking_id, segment.segment_id, on_date=on, limit=4)
        if not options:
            return Result.say(
                f"I'm sorry, I can't see another {segment.flight.origin} to {segment.flight.destination} "
                "flight with free seats. Say 'agent' and a colleague will look for more options."
            )
        flight = segment.flight
        if flight.status == "cancelled":
            why = f"Your flight {flight.flight_number} on {day(flight.flight_date)} is cancelled, so changing is free."
        elif _disrupted(segment):
            why = (f"Your flight {flight.flight_number} on {day(flight.flight_date)} is delayed by "
                   f"{delay(flight.delay_minutes)}, so changing is free.")
        else:
            fee = self._change_fee(booking)
            why = (f"You're booked on {flight.flight_number} on {day(flight.flight_date)}. "
                   + (f"Your fare has a change fee of {money(fee)}." if fee else "Changes are free on your fare."))
        lines = "\n".join(option_line(i, f) for i, f in enumerate(options, start=1))
        encoded = ",".join(f"{f.flight_number}@{f.flight_date.isoformat()}@{f.scheduled_departure:%H:%M}" for f in options)
        return Result(
            replies=Result.say(f"{why} These flights have seats:\n{lines}").replies,
            slots={"rebook_segment": segment.segment_id, "rebook_options": encoded},
            start_form="rebook_choice",
        )

    def _change_fee(self, booking: Booking) -> Decimal:
        return FARES[booking.fare_class].change_fee

    async def rebook_choice(self, ctx: Context) -> Result:
        options = [o.split("@") for o in str(ctx.slot("rebook_options", "")).split(",") if o]
        pick = str(ctx.slot("rebook_pick"))
        chosen = _resolve_pick(pick, options)
        done = ("rebook_options", "rebook_segment")
        if chosen is None:
            return Result(
                replies=Result.say("That isn't one of the flights I listed.").replies,
                start_form="rebook_choice",
            )
        number, when, _ = chosen
        try:
            result = self.airline.rebook(str(ctx.customer_id), str(ctx.slot("rebook_segment")),
                                         number, date.fromisoformat(when))
        except InvalidRequestError:
            return Result(Result.say("Sorry, that flight has just filled up. Please ask me to rebook again "
                                     "to see the current options.").replies, clear_slots=done)
        seg = result.segment
        fee = f" A change fee of {money(result.change_fee)} was charged." if result.change_fee else " There's no charge."
        return Result(
            Result.say(f"Done! You're now on {seg.flight.flight_number} on {day(seg.flight.flight_date)}, "
                       f"departing {seg.flight.scheduled_departure:%H:%M}, seat {seg.seat}.{fee} "
                       "Your old boarding pass is no longer valid.").replies,
            clear_slots=done,
        )

    # seats ----------------------------------------------------------------------------------------
    async def change_seat(self, ctx: Context) -> Result:
        booking = self.booking(ctx)
        segment = _segment_for(ctx, booking)
        if segment is None:
            return Result.say("There's no upcoming flight on your booking to choose a seat for.")
        wanted = ctx.slot("seat") or ctx.entity("seat")
        if isinstance(wanted, str) and wanted:
            return self._move(booking, segment, wanted)
        asked = ctx.slot("seat_kind")  # "can I get a window seat?", kept through verification
        kind = parsing.seat_kind(asked if isinstance(asked, str) else ctx.text)
        if kind is not None and segment.seat and _kind_of(segment.seat, segment.flight.aircraft) == kind:
            return Result.say(f"You're already in {kind} seat {segment.seat} on {segment.flight.flight_number}. "
                              "If you'd like a different one, tell me which seat.")
        return self._offer_seats(booking, segment, intro="", kind=kind)

    async def seat_choice(self, ctx: Context) -> Result:
        booking = self.booking(ctx)
        segment = next((s for s in booking.segments if s.segment_id == ctx.slot("seat_segment")), None)
        segment = segment or _segment_for(ctx, booking)
        if segment is None:
            return Result.say("There's no upcoming flight on your booking to choose a seat for.")
        return self._move(booking, segment, str(ctx.slot("seat")))

    def _move(self, booking: Booking, segment: Segment, seat: str) -> Result:
        seat = seat.replace(" ", "").upper()
        try:
            moved = self.airline.change_seat(booking.booking_id, segment.segment_id, seat)
        except SeatUnavailableError:
            return self._offer_seats(booking, segment, intro=f"Sorry, {seat} is already taken. ")
        except InvalidRequestError as exc:
            reasons = {
                "no_such_seat": f"There's no seat {seat} on this aircraft. ",
                "seat_in_other_cabin": f"{seat} is in a different cabin from your ticket. ",
            }
            if exc.code in reasons:
                return self._offer_seats(booking, segment, intro=reasons[exc.code])
            return Result.say("I can't change seats on that flight any more (it has left or was cancelled).",
                              seat_segment=None)
        return Result(
            Result.say(f"Done: you're now in seat {moved.seat} on {moved.flight.flight_number} "
                       f"on {day(moved.flight.flight_date)}.").replies,
            clear_slots=("seat_segment",),
        )

    def _offer_seats(self, booking: Booking, segment: Segment, intro: str, kind: str | None = None) -> Result:
        seat_map = self.airline.seat_map(booking.booking_id, segment.segment_id)
        available = seat_map.available
        if kind is not None:
            available = tuple(s for s in available if _seat_kind(s, seat_map.letters) == kind)
        free = _nearby(available, seat_map.current_seat, 8)
        what = f"free {kind} seats" if kind else "other free seats"
        if not free:
            return Result.say(f"{intro}I'm sorry, there are no {what} in your cabin on this flight.")
        current = f"You're in {seat_map.current_seat} on {seat_map.flight_number}. " if seat_map.current_seat else ""
        listed = (f"Free {kind} seats near you: {', '.join(free)}." if kind else
                  f"Free seats near you: {', '.join(free)} (seats A and {seat_map.letters[-1]} are windows).")
        return Result(
            Result.say(f"{intro}{current}{listed}").replies,
            slots={"seat_segment": segment.segment_id},
            start_form="seat_choice",
        )

    # baggage --------------------------------------------------------------------------------------
    async def baggage_allowance(self, ctx: Context) -> Result:
        """The passenger's own fare if verified, else the table for every fare (no booking needed)."""
        if ctx.customer_id is None and ctx.entity("BOOKING_REFERENCE"):
            return Result(start_form="booking_allowance")
        if ctx.customer_id is not None:
            fare = self.booking(ctx).fare_class
            a = self.airline.baggage_allowance(fare)
            checked = (f"{a.checked_bags} checked bag{'s' if a.checked_bags != 1 else ''} of up to {a.checked_bag_max_kg} kg"
                       if a.checked_bags else "no checked bags")
            return Result.say(
                f"Your {fare} fare includes {a.cabin_bags} cabin bag (up to {a.cabin_bag_max_kg} kg) and {checked}. "
                f"Extra checked bags are {money(a.extra_bag_price)} each; say 'add a bag' to buy one."
            )
        lines = []
        for fare in ("basic", "standard", "flex", "business"):
            a = self.airline.baggage_allowance(fare)
            lines.append(f"{fare}: {a.cabin_bags} cabin bag ({a.cabin_bag_max_kg} kg), "
                         f"{a.checked_bags} checked ({a.checked_bag_max_kg} kg)")
        return Result.say("Baggage included by fare: " + "; ".join(lines) + ". "
                          "Tell me your booking reference and last name to see exactly what your ticket includes.")

    async def baggage_trip(self, ctx: Context) -> Result:
        """A bag problem is about a flight already flown: the last one, or say there is none."""
        booking = self.booking(ctx)
        upcoming = _upcoming(booking)
        flown = [s for s in booking.segments if s not in upcoming]
        if not flown:
            first = booking.segments[0].flight if booking.segments else None
            when = f", {first.flight_number} on {day(first.flight_date)}," if first is not None else ""
            return Result.say(
                f"The first flight on this booking{when} hasn't left yet, so there's no bag from it to trace. "
                "If your bag went missing on an earlier trip with another booking, say 'agent' and a colleague "
                "will help you trace it."
            )
        issue = ctx.slot("bag_issue")
        slots: dict[str, str] = {"bag_segment": flown[-1].segment_id}
        if isinstance(issue, str) and issue:
            slots["bag_issue"] = issue
        return Result(slots=slots, start_form="report_baggage_details")

    async def report_baggage(self, ctx: Context) -> Result:
        kind = str(ctx.slot("bag_issue"))
        segment = ctx.slot("bag_segment")
        # The contact detail stays a placeholder: the demo back end has no field for it. A real
        # baggage-tracing API would take it, and only then should this handler reveal it.
        report = self.airline.report_baggage(str(ctx.customer_id), kind,  # type: ignore[arg-type]
                                             segment_id=segment if isinstance(segment, str) else None)
        what = {"delayed": "delayed", "lost": "missing", "damaged": "damaged"}[kind]
        return Result.say(
            f"I'm sorry about your {what} bag. I've opened file {report.file_reference} at {report.station} "
            f"for flight {report.flight_number}. Our baggage team will contact you with updates on the "
            "contact details you gave; please keep the file reference handy."
        )

    async def add_bag(self, ctx: Context) -> Result:
        booking = self.booking(ctx)
        a = self.airline.baggage_allowance(booking.fare_class)
        room = 3 - booking.extra_bags
        if room <= 0:
            return Result.say("Your booking already has the maximum of 3 extra bags.")
        count = ctx.slot("bag_count")
        return Result(
            slots={"bag_count": count} if count else {},
            replies=Result.say(f"Your {booking.fare_class} fare includes {_bags(booking.included_bags)} and you have "
                       f"{booking.extra_bags} extra. Extra bags are {money(a.extra_bag_price)} each "
                       f"(up to {a.checked_bag_max_kg} kg), and you can add {room} more.").replies,
            start_form="add_bag_payment",
        )

    async def add_bag_payment(self, ctx: Context) -> Result:
        count = int(str(ctx.slot("bag_count")))
        # Revealed only to take payment; the customer is shown the last four digits, nothing
        # else of the number is kept. (The demo back end has no payment step.)
        last4 = "".join(ch for ch in ctx.reveal(str(ctx.slot("payment_card"))) if ch.isdigit())[-4:]
        try:
            added = self.airline.add_bags(str(ctx.customer_id), count)
        except InvalidRequestError:
            return Result.say("That would take you over the limit of 3 extra bags, so I haven't charged anything.")
        return Result.say(
            f"Done: {added.bags_added} extra bag{'s' if added.bags_added > 1 else ''} added for "
            f"{money(added.total_price, added.currency)}, charged to your card ending {last4}. "
            f"You now have {added.checked_bags_total} checked bags on this booking."
        )

    # refunds and cancellation ---------------------------------------------------------------------
    async def request_refund(self, ctx: Context) -> Result:
        e = self.airline.refund_eligibility(str(ctx.customer_id))
        if not e.eligible:
            extra = (" I can move you to another flight instead: just say 'rebook'."
                     if e.reason == "non_refundable_fare" else "")
            return Result.say(f"I'm sorry, I can't refund this booking because {refund_reason(e.reason)}.{extra}")
        return Result(
            Result.say(f"Good news: you can have a full refund of {money(e.amount, e.currency)} "
                       f"because {refund_reason(e.reason)}. This cancels all flights on the booking.").replies,
            start_form="refund_confirm",
        )

    async def refund_confirm(self, ctx: Context) -> Result:
        if ctx.slot("confirm") != "yes":
            return Result.say("OK, I haven't changed anything. Your booking stays as it is.")
        try:
            r = self.airline.request_refund(str(ctx.customer_id))
        except NotEligibleError as exc:
            return Result.say(f"I'm sorry, the refund can't go through because {refund_reason(exc.code)}.")  # type: ignore[arg-type]
        return Result.say(
            f"Done: refund {r.refund_reference} for {money(r.amount, r.currency)} has been submitted. "
            "It goes back to the original payment method within 7 working days."
        )

    async def cancel_booking(self, ctx: Context) -> Result:
        booking = self.booking(ctx)
        if booking.status != "active":
            return Result.say(f"This booking is already {booking.status}.")
        e = self.airline.refund_eligibility(booking.booking_id)
        back = (f"you'll get {money(e.amount, e.currency)} back" if e.eligible
                else f"there's no refund because {refund_reason(e.reason)}")
        return Result(Result.say(f"If you cancel, {back}.").replies, start_form="cancel_confirm")

    async def cancel_confirm(self, ctx: Context) -> Result:
        if ctx.slot("confirm") != "yes":
            return Result.say("OK, your booking stays as it is.")
        c = self.airline.cancel_booking(str(ctx.customer_id))
        refund = (f" {money(c.refund_amount, c.currency)} will be refunded." if c.refund_amount else "")
        return Result.say(f"Your booking is cancelled (reference {c.cancellation_reference}).{refund}")

    # check-in and documents -----------------------------------------------------------------------
    async def check_in(self, ctx: Context) -> Result:
        try:
            result = self.airline.check_in(str(ctx.customer_id))
        except TravelDocumentRequiredError:
            return Result(
                Result.say("This is an international flight, so I need the passenger's passport details "
                           "before I can check you in.").replies,
                slots={"check_in_next": True},
                start_form="update_passport",
            )
        except InvalidRequestError as exc:
            if exc.code == "flight_cancelled":
                return Result.say("Your flight is cancelled, so there's nothing to check in for. Say 'rebook' "
                                  "and I'll find you another flight.")
            return Result.say("There's no upcoming flight on your booking to check in for.")
        return Result.say(*self._boarding_passes(result))

    def _boarding_passes(self, result: CheckInResult) -> list[str]:
        return [
            f"You're checked in on {bp.flight_number}, seat {bp.seat}. Boarding starts at "
            f"{bp.boarding_time:%H:%M}{f' at gate {bp.gate}' if bp.gate else ''}. "
            f"Boarding pass {bp.boarding_pass_reference} is in the app and in your email."
            for bp in result.boarding_passes
        ]

    async def update_passport(self, ctx: Context) -> Result:
        number = ctx.reveal(str(ctx.slot("passport_number")))
        country = str(ctx.slot("nationality"))
        expiry = date.fromisoformat(str(ctx.slot("passport_expiry")))
        try:
            self.airline.update_passport(str(ctx.customer_id), number, country, expiry)
        except InvalidRequestError as exc:
            problems = {
                "invalid_passport_number": "that passport number doesn't look right (6 to 9 letters and digits)",
                "invalid_nationality": "I need the nationality as a country, like British or GBR",
                "passport_expired": "that passport has expired",
                "passport_expires_before_travel": "the passport expires before your trip ends",
            }
            why = problems.get(exc.code, "the details couldn't be saved")
            return Result(Result.say(f"I couldn't save those details: {why}. Say 'update passport' to try again.").replies,
                          clear_slots=("check_in_next",))
        # Confirm with the last three characters only: enough to spot a typo, not enough to copy.
        saved = (f"Thanks, the passport ending {number[-3:]} ({country}, expires {day(expiry)} {expiry.year}) "
                 "is saved for advance passenger information.")
        replies = [saved]
        if ctx.slot("check_in_next"):
            try:
                replies += self._boarding_passes(self.airline.check_in(str(ctx.customer_id)))
            except BackendError:
                replies.append("I couldn't complete check-in just now; please try again in a moment.")
        return Result(Result.say(*replies).replies, clear_slots=("check_in_next",))

    # extras -----------------------------------------------------------------------------------
    async def special_assistance(self, ctx: Context) -> Result:
        code = str(ctx.slot("assistance"))
        r = self.airline.request_special_assistance(str(ctx.customer_id), code)  # type: ignore[arg-type]
        return Result.say(
            f"I've added {ASSISTANCE_DESCRIPTIONS[r.code]} ({r.code}) to every flight on your booking, "
            f"reference {r.request_reference}. Please arrive 3 hours before departure and let the check-in desk know."
        )

    async def meal_request(self, ctx: Context) -> Result:
        code = str(ctx.slot("meal"))
        r = self.airline.request_meal(str(ctx.customer_id), code)  # type: ignore[arg-type]
        return Result.say(f"Done: a {MEAL_DESCRIPTIONS[r.code]} meal ({r.code}) is booked on all your flights.")

    async def frequent_flyer_miles(self, ctx: Context) -> Result:
        balance = self.airline.frequent_flyer_balance(str(ctx.customer_id))
        if balance is None:
            return Result.say("This booking isn't linked to a Northwind Miles account. You can join in the app "
                              "and claim miles for flights up to 6 months back.")
        expiring = (f" {balance.miles_expiring:,} miles expire on {day(balance.expiring_on)} {balance.expiring_on.year}."
                    if balance.miles_expiring and balance.expiring_on else "")
        return Result.say(f"You're a {balance.tier.title()} member with {balance.miles:,} miles.{expiring}")

    # identity volunteered up front ---------------------------------------------------------------------
    async def provide_info(self, ctx: Context) -> Result:
        """Details given without a question: a booking (verify now) or a flight (its status)."""
        if ctx.customer_id is None and (ctx.entity("BOOKING_REFERENCE") or ctx.entity("PERSON")):
            return Result(start_form="identified")
        number = ctx.entity("flight_number")
        if number:
            return self._status_of(number, ctx.entity("date"))
        return Result.say("Thanks. What would you like to do? I can help with flight status, rebooking, seats, "
                          "bags, refunds, check-in, assistance, passports and miles.")

    async def identified(self, ctx: Context) -> Result:
        return Result.say("What can I help you with on this booking?")


def _bags(n: int) -> str:
    return "no checked bags" if n == 0 else f"{n} checked bag{'s' if n > 1 else ''}"


def _seat_kind(seat: str, letters: str) -> str:
    """'window', 'aisle' or 'middle', for a cabin of blocks of three seats ('ABC DEF', 'ABC DEF GHK')."""
    i = letters.find(seat[-1])
    if i in (0, len(letters) - 1):
        return "window"
    return "aisle" if i % 3 in (0, 2) else "middle"


def _kind_of(seat: str, aircraft: str) -> str:
    return _seat_kind(seat, AIRCRAFT[aircraft].letters) if aircraft in AIRCRAFT else "middle"


def _nearby(available: tuple[str, ...], current: str | None, n: int) -> list[str]:
    """The ``n`` free seats closest to the current row (front first on ties)."""
    row = int(current[:-1]) if current else 1
    return sorted(available, key=lambda s: (abs(int(s[:-1]) - row), int(s[:-1]), s[-1]))[:n]


def _resolve_pick(pick: str, options: list[list[str]]) -> list[str] | None:
    """Match 'opt:2', 'NW218' or 't:17:45' against the offered options (number@date@time)."""
    if pick.startswith("opt:"):
        i = int(pick[4:]) - 1
        return options[i] if 0 <= i < len(options) else None
    if pick.startswith("t:"):
        return next((o for o in options if o[2] == pick[2:]), None)
    return next((o for o in options if o[0] == pick), None)


# -- forms -------------------------------------------------------------------------------------


def _remembered(name: str, spec: SlotSpec) -> Form:
    """A form of one optional slot: it asks nothing, but keeps a detail the customer gave
    with the request ('change my seat to 14D') while verification runs in between."""
    return Form(name, [SlotSpec(spec.name, spec.prompt, entities=spec.entities, validate=spec.validate,
                                required=False)])


def _forms() -> dict[str, Form]:
    count = SlotSpec("bag_count", "How many extra bags would you like to add (1 to 3)?",
                     entities=("bag_count",), from_text=True, validate=parsing.bag_count,
                     invalid="I can add 1, 2 or 3 extra bags.")
    return {
        "add_bag": _remembered("add_bag", count),
        "change_seat": Form("change_seat", [
            SlotSpec("seat", "", entities=("seat",), validate=parsing.seat, required=False),
            SlotSpec("seat_kind", "", entities=("seat_kind",), validate=parsing.seat_kind, required=False),
        ]),
        "flight_lookup": Form("flight_lookup", [
            SlotSpec("flight_query", "Which flight? Tell me the flight number (like NW214), or your booking "
                     "reference and last name to check your own flights.",
                     entities=("flight_number", "BOOKING_REFERENCE"),
                     invalid="I need a flight number such as NW214."),
        ]),
        "seat_choice": Form("seat_choice", [
            SlotSpec("seat", "Which seat would you like? For example: 14D.", from_text=True,
                     validate=parsing.seat, invalid="That isn't a seat on our aircraft (a row and a letter, like 14D)."),
        ], cancel_words=CANCEL_WORDS),
        "rebook_choice": Form("rebook_choice", [
            SlotSpec("rebook_pick", "Which one would you like? Reply with its number (or 'cancel' to keep your flight).",
                     from_text=True, validate=parsing.option_pick, invalid="Please pick one of the numbers above."),
        ], cancel_words=CANCEL_WORDS),
        "add_bag_payment": Form("add_bag_payment", [
            count,
            SlotSpec("payment_card", "Which card should I charge? Please type the card number.",
                     entities=("CREDIT_CARD",), invalid="I couldn't read a card number there."),
        ], cancel_words=CANCEL_WORDS),
        "report_baggage": _remembered("report_baggage", SlotSpec(
            "bag_issue", "", entities=("bag_issue",), validate=parsing.baggage_issue)),
        "report_baggage_details": Form("report_baggage_details", [
            SlotSpec("bag_issue", "I'm sorry to hear that. Is your bag delayed (didn't arrive), lost, or damaged?",
                     entities=("bag_issue",), from_text=True, validate=parsing.baggage_issue,
                     invalid="Please tell me whether the bag is delayed, lost or damaged."),
            SlotSpec("contact", "What email address or phone number should our baggage team use to reach you?",
                     entities=("EMAIL_ADDRESS", "PHONE_NUMBER"), invalid="I couldn't read an email address or phone number."),
        ]),
        "refund_confirm": Form("refund_confirm", [
            SlotSpec("confirm", "Shall I go ahead with the refund? (yes or no)", from_text=True,
                     validate=parsing.yes_no, invalid="Please answer yes or no."),
        ], cancel_words=frozenset({"cancel", "stop", "never mind", "forget it"})),
        "cancel_confirm": Form("cancel_confirm", [
            SlotSpec("confirm", "Do you want me to cancel the booking? (yes or no)", from_text=True,
                     validate=parsing.yes_no, invalid="Please answer yes or no."),
        ], cancel_words=frozenset({"stop", "never mind", "forget it"})),
        "update_passport": Form("update_passport", [
            SlotSpec("passport_number", "What's the passport number?",
                     entities=("PASSPORT",), invalid="I couldn't read a passport number there."),
            SlotSpec("nationality", "What nationality is the passport (for example British, or GBR)?",
                     entities=("nationality",), from_text=True, validate=parsing.nationality,
                     invalid="I didn't recognise that nationality."),
            SlotSpec("passport_expiry", "When does the passport expire? For example 2031-05-04.",
                     entities=("date",), from_text=True, validate=parsing.expiry_date,
                     invalid="I need a future date, like 2031-05-04. Expired passports can't be used."),
        ]),
        "special_assistance": Form("special_assistance", [
            SlotSpec("assistance", "What help do you need? For example a wheelchair to the aircraft, help for "
                     "someone who can't manage steps, a blind or deaf passenger, a service dog, or being met at the airport.",
                     entities=("assistance_need",), from_text=True, validate=parsing.assistance,
                     invalid="I didn't catch what assistance is needed."),
        ]),
        "meal_request": Form("meal_request", [
            SlotSpec("meal", "Which special meal? We offer vegan, vegetarian, gluten free, kosher, halal, Hindu, "
                     "child, baby, diabetic, low salt and low lactose.",
                     entities=("meal_type",), from_text=True, validate=parsing.meal,
                     invalid="That isn't one of our special meals."),
        ]),
    }


def setup(bot_dir: Path) -> Routes:
    """The route table: one back end for the bot's lifetime, handlers closed over it."""
    airline = open_backend(_backend_path(Path(bot_dir)))
    a = Airline(airline)
    f = _forms()
    verification = Verification(
        form=verification_form(),
        verify=make_verify(airline),
        reveals=frozenset({"BOOKING_REFERENCE", "PERSON"}),
        success="Thanks, I've found your booking.",
        failure="Sorry, I can't find a booking with those details.",
        locked="For your security I can't try again in this chat. I'm passing you to a colleague who can help.",
    )
    return Routes(
        handlers=[
            Handler("flight_status", ("flight_status",), a.flight_status, description="status of any flight"),
            Handler("flight_lookup", (), a.flight_lookup, form=f["flight_lookup"]),
            Handler("booking_status", (), a.booking_status, requires_auth=True),
            Handler("rebook_flight", ("rebook_flight",), a.rebook, requires_auth=True),
            Handler("rebook_choice", (), a.rebook_choice, form=f["rebook_choice"], requires_auth=True),
            Handler("change_seat", ("change_seat",), a.change_seat, form=f["change_seat"], requires_auth=True),
            Handler("seat_choice", (), a.seat_choice, form=f["seat_choice"], requires_auth=True),
            Handler("baggage_allowance", ("baggage_allowance",), a.baggage_allowance),
            Handler("booking_allowance", (), a.baggage_allowance, requires_auth=True),
            Handler("report_baggage", ("report_baggage",), a.baggage_trip, form=f["report_baggage"], requires_auth=True),
            Handler("report_baggage_details", (), a.report_baggage, form=f["report_baggage_details"],
                    requires_auth=True),
            Handler("add_bag", ("add_bag",), a.add_bag, form=f["add_bag"], requires_auth=True),
            Handler("add_bag_payment", (), a.add_bag_payment, form=f["add_bag_payment"],
                    reveals=frozenset({"CREDIT_CARD"}), requires_auth=True),
            Handler("request_refund", ("request_refund",), a.request_refund, requires_auth=True),
            Handler("refund_confirm", (), a.refund_confirm, form=f["refund_confirm"], requires_auth=True),
            Handler("cancel_booking", ("cancel_booking",), a.cancel_booking, requires_auth=True),
            Handler("cancel_confirm", (), a.cancel_confirm, form=f["cancel_confirm"], requires_auth=True),
            Handler("check_in", ("check_in",), a.check_in, requires_auth=True),
            Handler("update_passport", ("update_passport",), a.update_passport, form=f["update_passport"],
                    reveals=frozenset({"PASSPORT"}), requires_auth=True),
            Handler("special_assistance", ("special_assistance",), a.special_assistance,
                    form=f["special_assistance"], requires_auth=True),
            Handler("meal_request", ("meal_request",), a.meal_request, form=f["meal_request"], requires_auth=True),
            Handler("frequent_flyer_miles", ("frequent_flyer_miles",), a.frequent_flyer_miles, requires_auth=True),
            Handler("provide_info", ("provide_info",), a.provide_info),
            Handler("identified", (), a.identified, requires_auth=True),
        ],
        verification=verification,
    )
