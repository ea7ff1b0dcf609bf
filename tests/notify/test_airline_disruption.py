"""The airline example's disruption notice (examples/airline/disruption.py): every passenger of
a delayed or cancelled flight in the demo back end gets one notice, with the flight's details
as the template's parameters; the same disruption queued again sends nothing twice."""

from __future__ import annotations

import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from notify_harness import ACCESS_TOKEN, PHONE_NUMBER_ID, SECRETS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from examples.airline.backend import open_backend  # noqa: E402
from examples.airline.disruption import disruption_notice  # noqa: E402


def test_every_passenger_of_a_disrupted_flight_gets_one_notice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safebot.channels.whatsapp.testing import FakeGraph
    from safebot.notify.service import Notifier, worker_env

    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    airline = open_backend(tmp_path / "demo.sqlite3")
    tomorrow = date.today() + timedelta(days=1)
    with FakeGraph(access_token=ACCESS_TOKEN) as graph:
        bot_dir = tmp_path / "airline"
        shutil.copytree(ROOT / "examples" / "airline", bot_dir,
                        ignore=shutil.ignore_patterns(".safebot", "__pycache__", "tests", "*.sqlite3"))
        yaml = (bot_dir / "bot.yaml").read_text().replace("https://graph.facebook.com", graph.url)
        yaml = yaml.replace('phone_number_id: "100000000000002"', f'phone_number_id: "{PHONE_NUMBER_ID}"')
        (bot_dir / "bot.yaml").write_text(yaml + "notifications:\n  per_recipient_seconds: 0\n")
        notifier = Notifier(worker_env(bot_dir))
        try:
            delayed = disruption_notice(airline, "NW214", tomorrow)
            assert delayed.template == "flight_delayed"
            assert delayed.params == {"flight": "NW214", "origin": "LHR", "date": f"{tomorrow.day} {tomorrow:%B}",
                                      "time": "14:50"}  # 11:30 + 200 min (seed.py DISRUPTIONS)
            assert len(delayed.recipients) == 2 and delayed.unreachable == 0
            first = notifier.enqueue(delayed.template, delayed.recipients, params=delayed.params,
                                     idempotency_key=delayed.idempotency_key)
            again = notifier.enqueue(delayed.template, delayed.recipients, params=delayed.params,
                                     idempotency_key=delayed.idempotency_key)
            assert again.duplicate and again.notification_id == first.notification_id and not again.delivery_ids
            cancelled = disruption_notice(airline, "NW305", tomorrow)
            assert cancelled.template == "flight_cancelled" and "time" not in cancelled.params
            notifier.enqueue(cancelled.template, cancelled.recipients, params=cancelled.params,
                             idempotency_key=cancelled.idempotency_key)
            counts = notifier.drain(timeout=30)
            assert counts.get("sent") == 3, counts
            sent = graph.sent
            assert sorted(r.json["to"] for r in sent) == ["447700900142", "447700900214", "447700900305"]
            by_template = {r.json["template"]["name"] for r in sent}
            assert by_template == {"flight_delayed", "flight_cancelled"}
            for r in sent:
                [body, button] = r.json["template"]["components"]
                assert button["sub_type"] == "quick_reply"
                names = {p["parameter_name"] for p in body["parameters"]}
                assert names == ({"flight", "origin", "date", "time"} if r.json["template"]["name"] == "flight_delayed"
                                 else {"flight", "origin", "date"})
            with pytest.raises(ValueError, match="on time"):
                disruption_notice(airline, "NW218", tomorrow)
        finally:
            notifier.close()
            notifier.env.store.close()
