"""A delay or cancellation notice to every passenger of a flight, from the demo back end.

EU 261/2004 art. 14 obliges the carrier to tell passengers of a delay or cancellation, so the
notices rest on a legal obligation (``lawful_basis: legal_obligation`` in notifications.yaml):
no opt-in is needed, but a passenger's channel opt-out (STOP) is still honoured. A reply
"Rebook me" (the notice's button, or a text reply quoting it) reaches the bot with the slots
``notification`` (``flight_delayed`` / ``flight_cancelled``) and ``notification_ref``, and starts
the rebooking form after verification (tests/notifications.yml).

The idempotency key names the flight, its date and what the notice says (status and new
departure time): running this twice for the same disruption sends nothing twice; a further
delay is a new notice.

::

    # queue the notices (the bot's outbox; `safebot worker examples/airline` sends them)
    python examples/airline/disruption.py examples/airline NW214 --date 2026-12-03
    # or write a recipients file for `safebot notify`
    python examples/airline/disruption.py examples/airline NW214 --csv passengers.csv

>>> notice = disruption_notice(open_backend(), "NW214", date.today())     # doctest: +SKIP
>>> notice.template, notice.params["time"], len(notice.recipients)        # doctest: +SKIP
('flight_delayed', '14:50', 2)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):  # run as a script: import the example as a package
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from examples.airline.backend import Reservations, open_backend
else:
    from .backend import Reservations, open_backend

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot
    from safebot.notify.outbox import Recipient
    from safebot.notify.service import NotifyResult

__all__ = ["DisruptionNotice", "disruption_notice", "notify_passengers"]


@dataclass(frozen=True)
class DisruptionNotice:
    template: str
    params: dict[str, str]
    recipients: tuple[Recipient, ...]
    idempotency_key: str
    #: passengers with no WhatsApp number on file (tell them another way)
    unreachable: int

    def __repr__(self) -> str:
        return f"DisruptionNotice({self.template}, {len(self.recipients)} recipients)"


def disruption_notice(airline: Reservations, flight_number: str, flight_date: date) -> DisruptionNotice:
    """What to send, and to whom, for a flight that is delayed or cancelled."""
    from safebot.notify.outbox import Recipient

    flight = airline.flight_status(flight_number, flight_date)
    if flight is None:
        raise ValueError(f"no flight {flight_number} on {flight_date.isoformat()}")
    params = {"flight": flight.flight_number, "origin": flight.origin,
              "date": f"{flight.flight_date.day} {flight.flight_date:%B}"}
    if flight.status == "cancelled":
        template, what = "flight_cancelled", "cancelled"
    elif flight.status == "delayed":
        departs: datetime = flight.estimated_departure or flight.scheduled_departure + timedelta(
            minutes=flight.delay_minutes)
        template, what = "flight_delayed", f"delayed-{departs:%Y%m%dT%H%M}"
        params["time"] = f"{departs:%H:%M}"
    else:
        raise ValueError(f"{flight.flight_number} on {flight_date.isoformat()} is on time: nothing to tell")
    passengers = airline.flight_passengers(flight.flight_number, flight.flight_date)
    recipients = tuple(Recipient(p.whatsapp, customer_id=p.booking_id, key=p.booking_id)
                       for p in passengers if p.whatsapp)
    key = f"disruption:{flight.flight_number}:{flight.flight_date.isoformat()}:{what}"
    return DisruptionNotice(template, params, recipients, key, len(passengers) - len(recipients))


async def notify_passengers(bot: Bot, airline: Reservations, flight_number: str, flight_date: date) -> NotifyResult:
    """Queue the notice to every passenger of the flight (one transaction; idempotent)."""
    from safebot.notify import notifier_for

    notice = disruption_notice(airline, flight_number, flight_date)
    return await notifier_for(bot).notify_many(notice.template, notice.recipients, params=notice.params,
                                               idempotency_key=notice.idempotency_key,
                                               requested_by="airline-ops")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Tell every passenger of a flight it is delayed or cancelled.")
    ap.add_argument("bot_dir", type=Path)
    ap.add_argument("flight")
    ap.add_argument("--date", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: tomorrow)")
    ap.add_argument("--csv", type=Path, help="write a recipients file for `safebot notify` instead of queueing")
    args = ap.parse_args(argv)
    # The bot's own back end when NORTHWIND_DEMO_DB names it (as handlers.py does), else the seed.
    airline = open_backend(os.environ.get("NORTHWIND_DEMO_DB") or Path(tempfile.mkdtemp()) / "demo.sqlite3")
    on = args.date or date.today() + timedelta(days=1)
    notice = disruption_notice(airline, args.flight, on)
    if args.csv is not None:
        with args.csv.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["whatsapp", "customer_id", "key", *notice.params])
            for r in notice.recipients:
                writer.writerow([r.address, r.customer_id, r.key, *notice.params.values()])
        print(f"{len(notice.recipients)} recipients written for template {notice.template}; "
              f"run: safebot notify {args.bot_dir} --template {notice.template} --recipients {args.csv} "
              f"--key {notice.idempotency_key}", file=sys.stderr)
        return
    from safebot.engine import Bot

    bot = Bot.load(args.bot_dir)
    result = asyncio.run(notify_passengers(bot, airline, args.flight, on))
    print(f"{notice.template}: {len(result.delivery_ids)} queued"
          + (" (already sent before: nothing new)" if result.duplicate else "")
          + (f", {notice.unreachable} passengers without a WhatsApp number" if notice.unreachable else ""),
          file=sys.stderr)


if __name__ == "__main__":
    main()
