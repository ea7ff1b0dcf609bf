"""Testing helpers: a conversation runner, a capturing sink, log capture and PII canaries.

Used by ``safebot test BOT_DIR`` and by the project's own tests.

>>> leaks = find_leaks(["4111 1111 1111 1111"], {"transcript": ["card <CREDIT_CARD_1>"]})
>>> leaks
[]
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from safebot.config.yaml_models import load_yaml_model
from safebot.redaction.leaks import find_leaks
from safebot.sinks.memory import CapturingSink

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine.bot import Bot

__all__ = [
    "CapturingSink",
    "ConversationRunner",
    "ConversationTest",
    "capture_logs",
    "find_leaks",
    "load_conversation_tests",
]


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - a log line that cannot be formatted is still counted
            self.lines.append(f"{record.levelname} {record.name} <unformattable>")


@contextlib.contextmanager
def capture_logs(level: int = logging.DEBUG) -> Iterator[list[str]]:
    """Capture every log line (all loggers, tracebacks included) while the block runs."""
    handler = _ListHandler()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def _dump(sink: CapturingSink) -> list[str]:
    """Every captured event as the JSON a file exporter would write: text and data alike."""
    import json

    return [json.dumps(e.to_json()) for e in sink.events]


def _canon(s: str) -> str:
    return re.sub(r"[^0-9a-z]", "", s.lower())


def _column_values(engine: Any) -> list[str]:
    """Every value of every table, one per line (bytes as latin-1)."""
    import sqlalchemy as sa

    meta = sa.MetaData()
    meta.reflect(engine)
    out: list[str] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(sa.select(table)):
                out.extend(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in row if v is not None)
    return out


# -- conversation tests --------------------------------------------------------------------------


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str
    intent: str | None = Field(default="__any__")
    reply: str | None = None
    reply_contains: list[str] | str | None = None
    reply_matches: str | None = None
    slots: dict[str, Any] = Field(default_factory=dict)
    #: 'verified', 'not_verified', 'handed_off', 'locked'
    state: list[str] | str | None = None
    #: what the channel knows about the message, set before the turn (issue 10: a reply to an
    #: alert, ``{notification: fraud_alert, notification_ref: "17"}``)
    channel_slots: dict[str, str] = Field(default_factory=dict)


class ConversationTest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    steps: list[Step]
    #: values typed in this test that must never reach a sink (besides what the redactor finds)
    pii: list[str] = Field(default_factory=list)


class ConversationFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tests: list[ConversationTest]


def load_conversation_tests(path: str | Path) -> list[tuple[Path, ConversationTest]]:
    """All tests in a file or in every ``*.yml``/``*.yaml`` of a directory."""
    path = Path(path)
    files = sorted([*path.glob("*.yml"), *path.glob("*.yaml")]) if path.is_dir() else [path]
    out = []
    for f in files:
        for t in load_yaml_model(ConversationFile, f).tests:
            out.append((f, t))
    return out


@dataclass
class TestReport:
    name: str
    file: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def _as_list(v: list[str] | str | None) -> list[str]:
    return [] if v is None else [v] if isinstance(v, str) else list(v)


class ConversationRunner:
    """Runs conversation tests against a loaded bot and scans every sink for planted PII.

    Sinks scanned: the transcript and audit log in the store, the analytics events (a
    :class:`CapturingSink` the runner attaches, plus any JSON-lines exporter files of the
    bot), every log line (all loggers, DEBUG), the hand-off queue, and the replies the
    customer saw (which may show a masked tail, never a whole value).
    """

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.analytics = CapturingSink("analytics")
        self.agent = CapturingSink("agent")
        bot.sinks.extend([self.analytics, self.agent])

    def run(self, test: ConversationTest, file: str = "") -> TestReport:
        report = TestReport(test.name, file)
        cid = f"test-{uuid.uuid4().hex[:12]}"
        replies_seen: list[str] = []
        planted: list[str] = list(test.pii)
        with capture_logs() as logs:
            for i, step in enumerate(test.steps, start=1):
                for d in self.bot.redactor.values_found(step.user):
                    planted.append(d.reveal())
                try:
                    result = self.bot.handle_sync(cid, step.user, slots=step.channel_slots or None)
                except Exception as exc:  # noqa: BLE001 - a failing turn is a failing test, not a crash
                    report.problems.append(f"step {i}: turn raised {type(exc).__name__}")
                    break
                replies_seen.extend(result.replies)
                self._check_step(report, i, step, result, cid)
        self._check_leaks(report, cid, planted, logs, replies_seen)
        return report

    def _check_step(self, report: TestReport, i: int, step: Step, result: Any, cid: str) -> None:
        text = "\n".join(result.replies)
        if step.intent != "__any__" and result.intent != step.intent:
            report.problems.append(f"step {i}: intent {result.intent!r}, expected {step.intent!r}")
        if step.reply is not None and step.reply not in result.replies:
            report.problems.append(f"step {i}: no reply equal to {step.reply!r}; got {list(result.replies)!r}")
        for part in _as_list(step.reply_contains):
            if part.lower() not in text.lower():
                report.problems.append(f"step {i}: replies do not contain {part!r}; got {list(result.replies)!r}")
        if step.reply_matches and not re.search(step.reply_matches, text, re.IGNORECASE | re.DOTALL):
            report.problems.append(f"step {i}: replies do not match /{step.reply_matches}/; got {list(result.replies)!r}")
        if step.slots or step.state:
            tracker = self.bot.tracker(cid)
            for name, expected in step.slots.items():
                got = tracker.slots.get(name)
                if expected == "<any>" and got is not None:
                    continue
                if str(got) != str(expected) if expected is not None else got is not None:
                    report.problems.append(f"step {i}: slot {name}={got!r}, expected {expected!r}")
            for state in _as_list(step.state):
                ok = {
                    "verified": tracker.verified,
                    "not_verified": not tracker.verified,
                    "handed_off": tracker.handed_off,
                    "locked": tracker.locked,
                    "in_form": tracker.form is not None,
                    "no_form": tracker.form is None,
                }.get(state)
                if ok is None:
                    report.problems.append(f"step {i}: unknown state {state!r}")
                elif not ok:
                    report.problems.append(f"step {i}: expected state {state!r}")

    def _check_leaks(self, report: TestReport, cid: str, planted: list[str], logs: list[str], replies: list[str]) -> None:
        import json

        sinks: dict[str, list[str]] = {
            "transcript": [json.dumps(r, default=str) for r in self.bot.transcript(cid)],
            "audit log": [json.dumps(r, default=str) for r in self.bot.audit_log(cid)],
            "conversation state": [json.dumps(self.bot.state(cid).to_json(), default=str)],
            "analytics": _dump(self.analytics),
            "hand-off queue": _dump(self.agent),
            "logs": logs,
        }
        ref = self.bot.conversation_ref(cid)
        for path in self.bot.exporter_files():
            if path.exists():
                # Only what this test's conversation wrote: earlier runs are not this test's leaks.
                lines = path.read_text(encoding="utf-8").splitlines()
                sinks[f"analytics file {path.name}"] = [line for line in lines if ref in line]
        database = self.bot.store.engine.url.database if self.bot.store.backend == "sqlite" else None
        if database:
            # The file's bytes, free pages and WAL included: what a copy of the file would hold.
            # (Not the -shm wal-index: page numbers and checksums, whose bytes look like digits.)
            for path in (Path(database), Path(database + "-wal")):
                if path.exists():
                    sinks[f"database file {path.name}"] = [path.read_bytes().decode("latin-1")]
            # And every column value on its own: in the file a text column's bytes run straight
            # into the next column's, so a short value (a PIN) is only a token of its own here.
            sinks["database rows"] = _column_values(self.bot.store.engine)
        # Keep values long enough to be identifying; 'yes' or '12' are not PII on their own.
        values = [v for v in dict.fromkeys(planted) if len(_canon(v)) >= 4]
        for sink, which in find_leaks(values, sinks):
            report.problems.append(f"planted value {which} found in {sink}")
        # The customer may see a masked tail, never the whole value.
        for _, which in find_leaks([v for v in values if len(_canon(v)) >= 8], {"replies": replies}):
            report.problems.append(f"planted value {which} shown in full to the customer")
