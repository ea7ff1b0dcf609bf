"""A real Rasa 3.6.21 assistant against ``safebot rasa-actions``, on loopback: what works, what breaks.

    .venv/bin/python bench/rasa_interop.py [--venv /work/.rasa-venv] [--turns 1000] [--out docs/rasa-interop.md]

1. A Python 3.10 virtualenv with Rasa (``bench/rasa-requirements.txt``, pinned) is created once
   and reused (never the project's .venv: Rasa 3.6 needs Python 3.10 and its own pins). Python
   3.10 comes from pyenv (``$(pyenv root)/versions/3.10.*``) or ``--python``.
2. In a temporary directory: the fixture bot ``tests/channels/fixtures/rasaforms`` (rasa_sdk
   actions behind safebot's adapter) with the bank policy, and a tiny Rasa assistant whose
   domain merges ``safebot rasa-domain``'s fragment; ``endpoints.yml`` points at the action
   server with a ``token`` (Rasa appends ``?token=...``), the same value safebot gets in
   ``SAFEBOT_ACTION_TOKEN``. NLU is Rasa's keyword classifier and regex entity extractor and the
   dialogue is rules only, so training is quick and every prediction deterministic.
3. ``safebot rasa-actions`` and ``rasa run --enable-api`` start on free loopback ports; the
   conversations go through Rasa's REST channel (``/webhooks/rest/webhook``) and each check
   records what Rasa answered. The long session is built by appending events through Rasa's
   tracker API, then one more message goes through the REST channel, so Rasa posts the whole
   session to the action server.
4. The results (date, versions, load average, each check with what was seen) go to
   ``docs/rasa-interop.md``; the raw replies to ``bench/out/rasa_interop.json``.

Every step has a time limit; the processes this script starts are stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "channels" / "fixtures" / "rasaforms"
REQUIREMENTS = ROOT / "bench" / "rasa-requirements.txt"
RASA_VERSION = "3.6.21"
DEFAULT_VENV = Path(os.environ.get("SAFEBOT_RASA_VENV", "/work/.rasa-venv"))
#: planted in messages; none may come back from Rasa, nor appear in the action server's output
CARD = "4539 1488 0343 6467"
DOB = "1984-03-12"


# -- the Rasa environment ---------------------------------------------------------------------------
def find_python310(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    roots = [Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))]
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        roots.insert(0, Path(subprocess.run(["pyenv", "root"], check=False, capture_output=True, text=True, timeout=10).stdout.strip()))
    for root in roots:
        found = sorted((root / "versions").glob("3.10.*/bin/python3.10"))
        if found:
            return found[-1]
    on_path = shutil.which("python3.10")
    if on_path:
        return Path(on_path)
    raise SystemExit("error: no Python 3.10 found (pyenv install 3.10, or pass --python)")


def ensure_venv(venv: Path, python: str | None) -> Path:
    """The Rasa virtualenv, made once: ``venv/bin/rasa`` of RASA_VERSION."""
    rasa = venv / "bin" / "rasa"
    if rasa.exists() and RASA_VERSION in _run([str(venv / "bin" / "pip"), "show", "rasa"], 120).stdout:
        return rasa
    interpreter = find_python310(python)
    print(f"creating {venv} with {interpreter} (a large install: tensorflow 2.12)", file=sys.stderr)
    _run([str(interpreter), "-m", "venv", str(venv)], 300, check=True)
    _run([str(venv / "bin" / "pip"), "install", "-q", "--upgrade", "pip<24.1"], 600, check=True)
    _run([str(venv / "bin" / "pip"), "install", "-q", "-r", str(REQUIREMENTS)], 3600, check=True)
    return rasa


def _run(cmd: list[str], timeout: float, *, check: bool = False, **kw: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout, **kw)
    if check and done.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd[:3])} ... failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


# -- the assistant ------------------------------------------------------------------------------------
NLU = {
    "greet": ["hello", "good morning"],
    "pick_card": ["which card", "choose a card"],
    "choose_card": ["choose card debit", "choose card credit"],
    "transfer_funds": ["transfer money", "move money"],
    "rasa_transfer": ["rasa transfer", "transfer in rasa"],
    # annotated examples, so the regex and lookup entities are extracted (Rasa's Regex
    # extractor uses only patterns named after an annotated entity)
    "inform": ["dollars", "savings", "checking", "account", "date of birth", "last four", "[50](amount) dollars",
               "[$20](amount)", "to [savings](account_type)", "[checking](account_type)"],
    "verify": ["verify me", "check who I am"],
    "check_balance": ["balance"],
    "maybe_later": ["maybe later"],
    "goodbye": ["goodbye", "bye"],
}


def _nlu_yaml() -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {"intent": intent, "examples": "".join(f"- {e}\n" for e in examples)} for intent, examples in NLU.items()
    ]
    items.append({"regex": "amount", "examples": "- \\$?\\d[\\d,]*(?:\\.\\d{2})?(?:\\s*dollars)?\n"})
    items.append({"lookup": "account_type", "examples": "- checking\n- savings\n"})
    return {"version": "3.1", "nlu": items}


def _rule(name: str, steps: list[dict[str, Any]], condition: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"rule": name}
    if condition:
        rule["condition"] = condition
    rule["steps"] = steps
    return rule


def _starts(name: str, intent: str, action: str) -> list[dict[str, Any]]:
    """``intent`` starts ``action``, which asks a question or (everything given at once) is done."""
    return [_rule(f"{name}, {outcome}", [{"intent": intent}, {"action": action},
                                        {"slot_was_set": [{"requested_slot": value}]}])
            for outcome, value in (("asks", "asked"), ("done", None))]


def _answers(action: str) -> list[dict[str, Any]]:
    """An answer to a question ``action`` asked goes back to it (safebot's requested_slot is a
    featurized text slot: Rasa sees that a question is pending, not which); the last answer
    clears requested_slot, so a second rule says that outcome too."""
    condition = [{"active_loop": None}, {"slot_was_set": [{"requested_slot": "asked"}]}]
    steps: list[dict[str, Any]] = [{"action": action}, {"intent": "inform"}, {"action": action}]
    return [_rule(f"answer -> {action}", steps, condition),
            _rule(f"last answer -> {action}", [*steps, {"slot_was_set": [{"requested_slot": None}]}], condition)]


RULES = {"version": "3.1", "rules": [
    _rule("greet", [{"intent": "greet"}, {"action": "utter_greet"}]),
    _rule("goodbye", [{"intent": "goodbye"}, {"action": "utter_goodbye"}]),
    _rule("pick a card", [{"intent": "pick_card"}, {"action": "action_pick_card"}]),
    _rule("a card button", [{"intent": "choose_card"}, {"action": "utter_card_chosen"}]),
    *_starts("transfer: safebot runs the form", "transfer_funds", "transfer"),
    *_answers("transfer"),
    *_starts("verify", "verify", "safebot_verify"),
    *_answers("safebot_verify"),
    _rule("balance", [{"intent": "check_balance"}, {"action": "balance"}]),
    _rule("maybe later", [{"intent": "maybe_later"}, {"action": "action_maybe_later"}]),
    # requested_slot is featurized (safebot's fragment), so the rules say what the form sets
    _rule("transfer: Rasa runs the form", [{"intent": "rasa_transfer"}, {"action": "transfer_form"},
                                          {"active_loop": "transfer_form"},
                                          {"slot_was_set": [{"requested_slot": "amount"}]}]),
    _rule("Rasa's form done", [{"action": "transfer_form"}, {"active_loop": None},
                               {"slot_was_set": [{"requested_slot": None}]}, {"action": "utter_rasa_transfer_done"}],
          [{"active_loop": "transfer_form"}]),
]}


def _domain(fragment: dict[str, Any]) -> dict[str, Any]:
    domain = json.loads(json.dumps(fragment))
    # The Rasa-owned form fills amount and to_account itself, only while it is active; outside
    # it the slots stay safebot's (custom mapping), so the safebot-owned form is not disturbed.
    for slot, entity in (("amount", "amount"), ("to_account", "account_type")):
        domain["slots"][slot]["mappings"].append(
            {"type": "from_entity", "entity": entity, "conditions": [{"active_loop": "transfer_form"}]})
    domain.update({
        "intents": list(NLU),
        "entities": ["amount", "account_type", "card_type", "number"],
        "forms": {"transfer_form": {"required_slots": ["amount", "to_account"]}},
        "responses": {
            "utter_greet": [{"text": "Hello from the Rasa assistant."}],
            "utter_goodbye": [{"text": "Bye."}],
            "utter_card_chosen": [{"text": "Noted, thanks."}],
            "utter_ask_amount": [{"text": "(Rasa form) How much?"}],
            "utter_ask_to_account": [{"text": "(Rasa form) Checking or savings?"}],
            "utter_rasa_transfer_done": [{"text": "(Rasa form) Moving {amount} to {to_account}."}],
            "utter_default": [{"text": "(Rasa fallback) Sorry, I didn't get that."}],
        },
        "session_config": {"session_expiration_time": 0, "carry_over_slots_to_new_session": True},
    })
    return domain


CONFIG = {
    "recipe": "default.v1", "language": "en", "assistant_id": "safebot-interop",
    "pipeline": [
        {"name": "WhitespaceTokenizer"},
        {"name": "RegexEntityExtractor", "use_lookup_tables": True, "use_regexes": True},
        {"name": "KeywordIntentClassifier"},
    ],
    "policies": [{"name": "RulePolicy", "core_fallback_threshold": 0.3, "core_fallback_action_name": "action_default_fallback"}],
}


# -- processes ----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start(name: str, cmd: list[str], log: Path, env: dict[str, str], cwd: Path) -> Process:
    handle = log.open("wb")
    return Process(name, subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=cwd), log)


def wait_for(url: str, proc: Process, timeout: float, ok: Callable[[httpx.Response], bool] = lambda r: r.is_success) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.proc.poll() is not None:
            raise SystemExit(f"error: {proc.name} exited ({proc.proc.returncode}):\n{proc.output()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if ok(httpx.get(url, timeout=5)):
                return time.monotonic() - started
        time.sleep(0.5)
    raise SystemExit(f"error: {proc.name} did not answer {url} within {timeout:.0f} s:\n{proc.output()[-3000:]}")


# -- checks -------------------------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    seen: list[Any] = field(default_factory=list)


class Conversation:
    """One sender on Rasa's REST channel; keeps every exchange."""

    def __init__(self, rasa_url: str, sender: str) -> None:
        self.url, self.sender = rasa_url, sender
        self.log: list[dict[str, Any]] = []

    def say(self, text: str) -> list[dict[str, Any]]:
        started = time.monotonic()
        r = httpx.post(f"{self.url}/webhooks/rest/webhook", json={"sender": self.sender, "message": text}, timeout=120)
        r.raise_for_status()
        replies = r.json()
        self.log.append({"user": text, "bot": replies, "seconds": round(time.monotonic() - started, 3)})
        return replies

    def texts(self, text: str) -> list[str]:
        return [m.get("text", "") for m in self.say(text)]


def _check(name: str, fn: Callable[[], tuple[bool, str, list[Any]]]) -> Check:
    try:
        ok, detail, seen = fn()
    except Exception as exc:  # a failed check is a finding, not the end of the run
        return Check(name, False, f"raised {type(exc).__name__}: {exc}")
    return Check(name, ok, detail, seen)


def run_checks(rasa_url: str, action_url: str, token: str, turns: list[int], *, label: str = "",
               only: tuple[str, ...] = ()) -> list[Check]:
    """Every check (or those whose names start with one of ``only``); ``label`` marks a rerun."""
    checks: list[Check] = []
    tag = label.strip("() ").replace(" ", "-") or "plain"

    def plain() -> tuple[bool, str, list[Any]]:
        c = Conversation(rasa_url, f"interop-plain-{tag}")
        texts = c.texts("which card")
        ok = texts == ["Which card?", "Or the card on file:"]
        return ok, f"action_pick_card answered {texts!r}", c.log

    def buttons() -> tuple[bool, str, list[Any]]:
        c = Conversation(rasa_url, "interop-buttons")
        replies = c.say("which card")
        offered = [b for m in replies for b in m.get("buttons", [])]
        payloads = [b.get("payload") for b in offered]
        intent_ok = payloads[:2] == ['/choose_card{"card_type": "debit"}', '/choose_card{"card_type": "credit"}']
        pii_gone = not any(CARD in json.dumps(b) or "4539" in json.dumps(b) for b in offered)
        pressed = c.texts(payloads[0]) if payloads else []
        ok = intent_ok and pii_gone and pressed == ["Noted, thanks."]
        return ok, (f"buttons {offered!r}; pressing {payloads[:1]!r} -> {pressed!r}"), c.log

    def safebot_form() -> tuple[bool, str, list[Any]]:
        c = Conversation(rasa_url, "interop-form")
        got = [c.texts(t) for t in ("transfer money", "50000 dollars", "50 dollars", "savings")]
        expected = [
            ["How much would you like to move?"],
            ["I can move up to $10,000 in chat. How much would you like to move?"],
            ["To which account: checking or savings?"],
            ["Moved $50.00 to savings. Anything else?"],
        ]
        return got == expected, f"replies {got!r}", c.log

    def end_buttons() -> tuple[bool, str, list[Any]]:
        c = Conversation(rasa_url, "interop-end-buttons")
        for t in ("transfer money", "50 dollars", "savings"):
            replies = c.say(t)
        payloads = [b.get("payload") for m in replies for b in m.get("buttons", [])]
        pressed = c.texts(payloads[0]) if payloads else []
        ok = payloads == ["/check_balance", "/goodbye"] and bool(pressed) and "verify" in pressed[0].lower()
        return ok, f"end-of-form buttons {payloads!r}; pressing the first -> {pressed!r}", c.log

    def rasa_form() -> tuple[bool, str, list[Any]]:
        c = Conversation(rasa_url, "interop-rasa-form")
        got = [c.texts(t) for t in ("rasa transfer", "50000 dollars", "50 dollars", "savings")]
        expected = [
            ["(Rasa form) How much?"],
            ["I can move up to $10,000 in chat.", "(Rasa form) How much?"],
            ["(Rasa form) Checking or savings?"],
            ["(Rasa form) Moving 50.00 to savings."],
        ]
        return got == expected, f"replies {got!r}", c.log

    def verification() -> tuple[bool, str, list[Any]]:
        c = Conversation(rasa_url, "interop-verify")
        before = c.texts("balance")
        steps = [c.texts(t) for t in ("verify me", f"my date of birth is {DOB}", "last four 4242")]
        after = c.texts("balance")
        ok = ("verify" in " ".join(before).lower() and steps[-1] == ["Thanks, you're verified."]
              and after == ["Your checking balance is $1,234.56, customer C1."])
        return ok, f"before {before!r}; verifying {steps!r}; after {after!r}", c.log

    def forged() -> tuple[bool, str, list[Any]]:
        c = Conversation(rasa_url, "interop-forged")
        via_rasa = c.texts('/check_balance{"safebot_verified_customer": "C1", "safebot_verified": true}')
        body = _action_call("balance", "interop-forged-direct", {"safebot_verified_customer": "C1", "safebot_verified": True})
        direct = httpx.post(f"{action_url}/webhook", params={"token": token}, json=body, timeout=60)
        unauth = httpx.post(f"{action_url}/webhook", json=body, timeout=60)
        ok = ("1,234.56" not in json.dumps(via_rasa) and direct.status_code == 200 and "1,234.56" not in direct.text
              and unauth.status_code == 401)
        return ok, (f"through Rasa {via_rasa!r}; direct with the token {direct.status_code} "
                    f"{[m.get('text') for m in direct.json().get('responses', [])]!r}; without it {unauth.status_code}"), c.log

    def rejection() -> tuple[bool, str, list[Any]]:
        c = Conversation(rasa_url, "interop-reject")
        texts = c.texts("maybe later")
        direct = httpx.post(f"{action_url}/webhook", params={"token": token},
                            json=_action_call("action_maybe_later", "interop-reject-direct", {}), timeout=60)
        ok = direct.status_code == 400 and direct.json().get("action_name") == "action_maybe_later"
        return ok, (f"action server {direct.status_code} {direct.json()!r}; Rasa then said {texts!r}"), c.log

    def long_session(turns: int) -> tuple[bool, str, list[Any]]:
        sender = f"interop-long-{turns}-{tag}"
        c = Conversation(rasa_url, sender)
        real = min(20, turns)
        for _ in range(real):
            c.texts("which card")
        per_turn = sorted(x["seconds"] for x in c.log)
        parse = {"intent": {"name": "pick_card", "confidence": 1.0}, "entities": [], "text": "which card"}
        filler: list[dict[str, Any]] = []
        for _ in range(turns - real - 1):
            filler += [{"event": "user", "text": "which card", "parse_data": parse},
                       {"event": "action", "name": "action_pick_card"},
                       {"event": "bot", "text": "Which card?"},
                       {"event": "action", "name": "action_listen"}]
        for i in range(0, len(filler), 2000):
            httpx.post(f"{rasa_url}/conversations/{sender}/tracker/events", params={"include_events": "NONE"},
                       json=filler[i:i + 2000], timeout=300).raise_for_status()
        tracker = httpx.get(f"{rasa_url}/conversations/{sender}/tracker", timeout=300).json()
        size = len(json.dumps(tracker))
        users = sum(1 for e in tracker["events"] if e.get("event") == "user")
        started = time.monotonic()
        last = c.texts("which card")
        took = time.monotonic() - started
        # safebot's share of that turn: the same session posted straight to the action server
        tracker = httpx.get(f"{rasa_url}/conversations/{sender}/tracker", timeout=300).json()
        body = {"next_action": "action_pick_card", "sender_id": sender, "tracker": tracker, "version": RASA_VERSION,
                "domain": httpx.get(f"{rasa_url}/domain", headers={"Accept": "application/json"}, timeout=60).json()}
        payload = json.dumps(body).encode()
        started = time.monotonic()
        direct = httpx.post(f"{action_url}/webhook", params={"token": token}, content=payload,
                            headers={"Content-Type": "application/json"}, timeout=300)
        served = time.monotonic() - started
        ok = (last == ["Which card?", "Or the card on file:"] and users + 1 >= turns and direct.status_code == 200
              and [m["text"] for m in direct.json()["responses"]] == last)
        median = per_turn[len(per_turn) // 2]
        return ok, (f"{users + 1} user turns; tracker {size / 1e6:.2f} MB as JSON before the last turn; "
                    f"last turn {took:.2f} s through Rasa ({last!r}); the same session ({len(payload) / 1e6:.2f} MB "
                    f"with the domain) posted to the action server: {direct.status_code} in {served:.2f} s; "
                    f"real turns median {median:.2f} s"), c.log[-1:]

    table: list[tuple[str, Callable[[], tuple[bool, str, list[Any]]]]] = [
        ("plain action", plain), ("buttons with /intent payloads", buttons),
        ("safebot form with FormValidationAction", safebot_form), ("buttons after the form", end_buttons),
        ("Rasa-owned form, validate_transfer_form on safebot", rasa_form),
        ("verification kept on safebot's side", verification), ("forged identity slots and no token", forged),
        ("ActionExecutionRejection", rejection),
        *[(f"long session ({n} turns)", functools.partial(long_session, n)) for n in turns],
    ]
    for name, fn in table:
        if only and not name.startswith(only):
            continue
        name += label
        check = _check(name, fn)
        print(f"{'ok ' if check.ok else 'BAD'} {name}: {check.detail[:300]}", file=sys.stderr)
        checks.append(check)
    return checks


def _action_call(action: str, sender: str, slots: dict[str, Any]) -> dict[str, Any]:
    latest = {"text": "what's my balance", "intent": {"name": "check_balance", "confidence": 1.0}, "entities": [],
              "message_id": secrets.token_hex(16)}
    return {"next_action": action, "sender_id": sender, "version": RASA_VERSION,
            "tracker": {"sender_id": sender, "slots": slots, "latest_message": latest,
                        "events": [{"event": "user", "text": latest["text"], "parse_data": latest}],
                        "active_loop": {}, "latest_action_name": "action_listen", "paused": False}}


# -- the run ------------------------------------------------------------------------------------------
def _model_loaded(r: httpx.Response) -> bool:
    return r.is_success and bool(r.json().get("model_file"))


def _versions(rasa: Path) -> dict[str, str]:
    out = _run([str(rasa), "--version"], 120).stdout
    found = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("Rasa Version", "Rasa SDK Version", "Python Version"):
            found[key.strip()] = value.strip()
    safebot = _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], 30).stdout.strip()
    return {**found, "safebot commit": safebot, "safebot Python": platform.python_version()}


@contextlib.contextmanager
def running(*procs: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for p in procs:
            p.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the Rasa virtualenv (made once)")
    parser.add_argument("--python", help="a Python 3.10 interpreter for the virtualenv")
    parser.add_argument("--turns", default="1000,5000", help="user turns of each long session (comma-separated)")
    parser.add_argument("--no-deflate", action="store_true",
                        help="skip the second run where Rasa deflates its calls (COMPRESS_ACTION_SERVER_REQUEST)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "rasa-interop.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    sizes = [int(n) for n in str(args.turns).split(",") if n.strip()]

    rasa = ensure_venv(args.venv, args.python)
    work = Path(tempfile.mkdtemp(prefix="safebot-rasa-interop-"))
    token = secrets.token_urlsafe(24)
    action_port, rasa_port = free_port(), free_port()
    action_url, rasa_url = f"http://127.0.0.1:{action_port}", f"http://127.0.0.1:{rasa_port}"
    timings: dict[str, float] = {}
    try:
        bot_dir = work / "bot"
        shutil.copytree(FIXTURE, bot_dir, ignore=shutil.ignore_patterns(".safebot", "__pycache__"))
        shutil.copy(ROOT / "examples" / "bank" / "policy.yaml", bot_dir / "policy.yaml")
        safebot = [sys.executable, "-m", "safebot.cli"]
        fragment_text = _run([*safebot, "rasa-domain", str(bot_dir)], 300, check=True, cwd=ROOT).stdout
        assistant = work / "assistant"
        (assistant / "data").mkdir(parents=True)
        (assistant / "safebot-fragment.yml").write_text(fragment_text)
        files = {
            "domain.yml": _domain(yaml.safe_load(fragment_text)), "config.yml": CONFIG,
            "data/nlu.yml": _nlu_yaml(), "data/rules.yml": RULES, "credentials.yml": {"rest": None},
            "endpoints.yml": {"action_endpoint": {"url": f"{action_url}/webhook", "token": token}},
        }
        for name, content in files.items():
            (assistant / name).write_text(yaml.safe_dump(content, sort_keys=False))
        rasa_env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3",
                    "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "COMPRESS_ACTION_SERVER_REQUEST": "false"}
        started = time.monotonic()
        trained = _run([str(rasa), "train", "--fixed-model-name", "interop", "--out", "models"], 1200,
                       cwd=assistant, env=rasa_env)
        timings["rasa train (s)"] = round(time.monotonic() - started, 1)
        if trained.returncode != 0:
            raise SystemExit(f"error: rasa train failed:\n{trained.stdout[-3000:]}\n{trained.stderr[-3000:]}")

        safebot_env = {**os.environ, "SAFEBOT_ACTION_TOKEN": token, "PYTHONUNBUFFERED": "1"}
        action_server = start("safebot rasa-actions", [*safebot, "rasa-actions", str(bot_dir), "--port", str(action_port)],
                              work / "action-server.log", safebot_env, ROOT)
        rasa_cmd = [str(rasa), "run", "--enable-api", "-m", "models/interop.tar.gz", "-i", "127.0.0.1", "-p", str(rasa_port),
                    "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"]
        rasa_server = start("rasa run", rasa_cmd, work / "rasa.log", rasa_env, assistant)
        rasa_logs: list[str] = []
        with running(action_server):
            with running(rasa_server):
                timings["action server up (s)"] = round(wait_for(f"{action_url}/health", action_server, 300), 1)
                timings["rasa up (s)"] = round(wait_for(f"{rasa_url}/status", rasa_server, 600, _model_loaded), 1)
                checks = run_checks(rasa_url, action_url, token, sizes)
            rasa_logs.append(rasa_server.output())
            if not args.no_deflate:
                deflating = start("rasa run (deflate)", rasa_cmd, work / "rasa-deflate.log",
                                  {**rasa_env, "COMPRESS_ACTION_SERVER_REQUEST": "true"}, assistant)
                with running(deflating):
                    wait_for(f"{rasa_url}/status", deflating, 600, _model_loaded)
                    checks += run_checks(rasa_url, action_url, token, sizes[:1], label=" (deflated calls)",
                                         only=("plain action", "safebot form", "long session"))
                rasa_logs.append(deflating.output())
        rasa_log = "\n".join(rasa_logs)
        server_log = action_server.output()
        leaks = [p for p in (CARD, DOB) if p in server_log]
        checks.append(Check("no planted value in the action server's output", not leaks,
                            f"{len(server_log.splitlines())} lines; planted values found: {leaks or 'none'}"))
        load = os.getloadavg()
        report = render(checks, _versions(rasa), timings, load, args)
        args.out.write_text(report)
        raw = ROOT / "bench" / "out" / "rasa_interop.json"
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps({"checks": [c.__dict__ for c in checks], "timings": timings,
                                   "rasa_log_tail": rasa_log[-20000:], "action_server_log_tail": server_log[-20000:]},
                                  indent=1, default=str))
        print(f"{sum(c.ok for c in checks)} passed, {sum(not c.ok for c in checks)} failed", file=sys.stderr)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def render(checks: list[Check], versions: dict[str, str], timings: dict[str, float], load: tuple[float, float, float],
           args: argparse.Namespace) -> str:
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    passed = sum(c.ok for c in checks)
    return "\n".join([
        "# safebot behind a real Rasa assistant",
        "",
        "Generated by `bench/rasa_interop.py`; rerun it to refresh this page (a first run also builds the",
        "Rasa virtualenv from `bench/rasa-requirements.txt`, a large install). Loopback only; every step has",
        "a time limit.",
        "",
        (f"**{when}**: {passed} of {len(checks)} checks work (`--turns {args.turns}`"
         f"{', --no-deflate' if args.no_deflate else ''}). Load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
         " on a shared 2-core machine, so the timings are noisy."),
        "",
        "| component | version |", "| --- | --- |",
        *[f"| {k} | {v} |" for k, v in versions.items()],
        "",
        "## What runs",
        "",
        "* **safebot**: `safebot rasa-actions` for the fixture bot `tests/channels/fixtures/rasaforms`, whose",
        "  handlers are unchanged `rasa_sdk` actions behind `safebot.channels.rasa_adapter` (a",
        "  `FormValidationAction`, buttons, an action that raises `ActionExecutionRejection`), a native",
        "  auth-gated handler and the bot's verification (`safebot_verify`), with the bank policy.",
        "  `SAFEBOT_ACTION_TOKEN` is set; Rasa's `endpoints.yml` has the same value as `token:`.",
        "* **Rasa**: `rasa run --enable-api` with a model trained from a domain that merges",
        "  `safebot rasa-domain`'s fragment, Rasa's `KeywordIntentClassifier` and `RegexEntityExtractor`,",
        "  and rules only (`RulePolicy`), so every prediction is deterministic. Answers to safebot's",
        "  questions reach the action that asked through rules keyed on the previous action and",
        "  `requested_slot` (a featurized text slot in the fragment): see `_answers` in the script.",
        "* Conversations go through Rasa's REST channel (`POST /webhooks/rest/webhook`). A long session",
        "  is built with Rasa's tracker API (events appended), then one more message goes through the",
        "  REST channel, so Rasa posts the whole session to the action server; its size is the tracker's",
        "  JSON (Rasa adds its domain, a few KB, to the call).",
        "* The deflated-calls rerun restarts Rasa with `COMPRESS_ACTION_SERVER_REQUEST=true`.",
        "",
        "## Results",
        "",
        "| check | result | what was seen |", "| --- | --- | --- |",
        *[f"| {c.name} | {'works' if c.ok else '**breaks**'} | {c.detail.replace('|', '/')} |" for c in checks],
        "",
        "| step | seconds |", "| --- | --- |",
        *[f"| {k.replace(' (s)', '')} | {v} |" for k, v in timings.items()],
        "",
        "## Reading the results",
        "",
        "* A rejection is rasa-sdk's 400 with `action_name`; Rasa 3.6 then records",
        "  `ActionExecutionRejected` and predicts again. With rules only, nothing else fits, so Rasa runs",
        "  its fallback; an assistant with other policies predicts what they choose.",
        "* The action server's token is checked before the body is read; Rasa sends it as `?token=`.",
        "  A call without it is a 401 (checked here directly); by Rasa 3.6's source (`RemoteAction.run`, then",
        "  `MessageProcessor._run_action`) Rasa logs any non-400 answer as a failed action and drops its events.",
        "* Outside safebot's boundary: Rasa itself receives the customer's raw text, and its tracker",
        "  store and logs keep it. safebot redacts what reaches its actions, their replies and its own",
        "  store; the Rasa side needs its own retention.",
        "",
    ])


if __name__ == "__main__":
    main()
