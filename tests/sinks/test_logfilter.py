"""RedactingLogFilter: the second line of defence on safebot's log handlers.

The mechanics run against a small stand-in redactor (a card-number regex); one test runs the
real :class:`~safebot.redaction.Redactor` with the bank policy end to end.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from safebot.redaction.types import BLOCKED_TEXT, RedactedText, _mint
from safebot.sinks import RedactingLogFilter

BANK_POLICY = Path(__file__).resolve().parents[2] / "examples" / "bank" / "policy.yaml"
CARD = "4111 1111 1111 1111"


class CardRedactor:
    """Stand-in with Redactor.redact's signature: digit groups of 13-19 digits -> placeholder."""

    _card = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")

    def redact(self, text: str, destination: str = "transcript") -> RedactedText:
        return _mint(self._card.sub("<CREDIT_CARD_1>", text), destination, "p")  # type: ignore[arg-type]


@pytest.fixture
def redactor() -> CardRedactor:
    return CardRedactor()


class Logged:
    """A logger with one StringIO handler carrying the filter."""

    def __init__(self, name: str, log_filter: logging.Filter) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.handler.addFilter(log_filter)
        self.logger = logging.getLogger(name)
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False

    def close(self) -> None:
        self.logger.removeHandler(self.handler)

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def logged(redactor: object, request: pytest.FixtureRequest) -> Iterator[Logged]:
    out = Logged(f"safebot.test.{request.node.name}", RedactingLogFilter(redactor))  # type: ignore[arg-type]
    yield out
    out.close()


@pytest.mark.parametrize(
    "msg, args",
    [
        ("customer said: my card is %s, please block it", (CARD,)),
        (f"customer said: my card is {CARD}, please block it", ()),
        ("%(what)s is %(card)s", ({"what": "card", "card": CARD},)),
        ("slot values %r", ({"card": CARD},)),
        ("bad format %d", (CARD,)),  # formatting fails: the pieces are still redacted
    ],
    ids=["args", "f-string", "dict-args", "repr", "format-error"],
)
def test_planted_card_is_redacted_in_messages(logged: Logged, msg: str, args: tuple[object, ...]) -> None:
    logged.logger.info(msg, *args)
    assert CARD not in logged.text and "4111" not in logged.text
    assert "INFO" in logged.text
    assert "<CREDIT_CARD" in logged.text or BLOCKED_TEXT in logged.text


def test_planted_card_is_redacted_in_an_exception(logged: Logged) -> None:
    try:
        raise ValueError(f"no account for card {CARD}")
    except ValueError:
        logged.logger.exception("lookup failed")
    out = logged.text
    assert CARD not in out and "4111" not in out
    assert "lookup failed" in out and "ValueError" in out and "Traceback" in out
    assert "<CREDIT_CARD" in out


def test_exc_info_is_dropped_so_no_later_formatter_sees_it(redactor: object) -> None:
    record = logging.LogRecord("safebot.x", logging.ERROR, __file__, 1, "failed", None, None)
    try:
        raise KeyError(CARD)
    except KeyError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactingLogFilter(redactor).filter(record) is True  # type: ignore[arg-type]
    assert record.exc_info is None
    assert record.exc_text is not None and CARD not in record.exc_text and "KeyError" in record.exc_text
    assert CARD not in logging.Formatter().format(record)


class Blocked:
    def redact(self, text: str, destination: str = "transcript") -> RedactedText:
        return _mint(BLOCKED_TEXT, destination, "p", blocked=True)  # type: ignore[arg-type]


class Broken:
    def redact(self, text: str, destination: str = "transcript") -> RedactedText:
        raise RuntimeError(f"detector crashed on {text}")


class Chatty:
    """A redactor that logs through the logger it filters (as Redactor does on failure)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.calls = 0

    def redact(self, text: str, destination: str = "transcript") -> RedactedText:
        self.calls += 1
        self.logger.error("redaction failed (%s); message blocked", "timeout")
        return _mint(BLOCKED_TEXT, destination, "p", blocked=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("redactor_cls", [Blocked, Broken], ids=["blocked", "raises"])
def test_fail_closed(redactor_cls: type, request: pytest.FixtureRequest) -> None:
    out = Logged(f"safebot.test.{request.node.name}", RedactingLogFilter(redactor_cls()))
    try:
        try:
            raise ValueError(CARD)
        except ValueError:
            out.logger.exception("card %s", CARD)
    finally:
        out.close()
    assert CARD not in out.text
    assert out.text.splitlines()[0] == f"ERROR {out.logger.name} {BLOCKED_TEXT}"


def test_no_recursion_when_the_redactor_logs(request: pytest.FixtureRequest) -> None:
    logger = logging.getLogger(f"safebot.test.{request.node.name}")
    chatty = Chatty(logger)
    out = Logged(logger.name, RedactingLogFilter(chatty))
    try:
        logger.info("card %s", CARD)
    finally:
        out.close()
    assert chatty.calls == 1
    assert CARD not in out.text
    assert out.text.count(BLOCKED_TEXT) == 2  # the nested record is blocked too, not recursed into


def test_with_the_real_redactor_and_bank_policy(request: pytest.FixtureRequest) -> None:
    from safebot.redaction import Redactor, load_policy

    redactor = Redactor(load_policy(BANK_POLICY), hmac_key=b"k" * 32)
    out = Logged(f"safebot.test.{request.node.name}", RedactingLogFilter(redactor))
    try:
        out.logger.info("customer said: %s", f"my card is {CARD}, email jane.doe@example.com")
        try:
            raise ValueError(f"no account for card {CARD}")
        except ValueError:
            out.logger.exception("lookup failed")
    finally:
        out.close()
    for planted in (CARD, "4111", "jane.doe@example.com"):
        assert planted not in out.text
    assert "<CREDIT_CARD_1>" in out.text and "<EMAIL_ADDRESS_1>" in out.text
    assert "ValueError: no account for card <CREDIT_CARD_1>" in out.text
