"""The ``safebot`` command line (a contract: see DESIGN.md, "Command line").

User errors print one line on stderr and exit with status 2; no tracebacks. :func:`main`
maps every error a user can cause (a usage mistake, a bad file, a path that cannot be
written) to that line; long work shows progress on a terminal only (:mod:`safebot.progress`).
"""

from __future__ import annotations

import inspect
import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from safebot.errors import SafebotError

if TYPE_CHECKING:  # pragma: no cover
    from safebot.engine import Bot
    from safebot.nlu import IntentClassifier
    from safebot.redaction.redactor import Redactor

app = typer.Typer(add_completion=False, no_args_is_help=True, help="safebot: chatbots that never leak PII.")
policy_app = typer.Typer(no_args_is_help=True, help="Work with redaction policies.")
app.add_typer(policy_app, name="policy")

DESTINATION_HELP = "customer, transcript, analytics, agent or nlu"


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def write_output(path: Path, text: str) -> None:
    """Write a command's ``-o`` file, or fail with one line saying what is wrong with the path.

    Written to a temporary file beside it and renamed, so a failed run never leaves half a
    report behind. Commands in other modules use it too (``from safebot.cli import write_output``).
    """
    import os
    import tempfile

    if path.is_dir():
        _fail(f"{path}: is a directory; -o takes a file name")
    parent = path.parent
    if not parent.exists():
        _fail(f"{path}: directory {parent} does not exist")
    if not parent.is_dir():
        _fail(f"{path}: {parent} is not a directory")
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        _fail(f"{path}: cannot write in {parent} ({exc.strerror or type(exc).__name__})")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        _fail(f"{path}: cannot write ({exc.strerror or type(exc).__name__})")


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"safebot {version('safebot')}")
        except PackageNotFoundError:  # a source tree without an install
            typer.echo("safebot (not installed)")
        raise typer.Exit(0)


@app.callback()
def _root(
    _show_version: Annotated[bool, typer.Option("--version", help="print the version and exit", callback=_version,
                                                is_eager=True)] = False,
) -> None:
    """safebot: chatbots that never leak PII."""


def _build_redactor(policy_path: Path) -> Redactor:
    from safebot.redaction.policy import load_policy
    from safebot.redaction.redactor import Redactor

    return Redactor(load_policy(policy_path))


def _parse_line(raw: bytes, number: int) -> tuple[str | None, str | None]:
    """(text, error) for one input line: a JSON object with a "text" field, or plain text.

    Each line is decoded on its own, so one invalid byte costs only its own line.
    """
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, f"line {number}: not valid UTF-8"
    stripped = line.rstrip("\r\n")
    if stripped.lstrip().startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            return None, f"line {number}: invalid JSON at column {exc.colno}"
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            return None, f'line {number}: JSON object without a string "text" field'
        return obj["text"], None
    return stripped, None


#: exit codes of `safebot redact` (also in its --help)
REDACT_INVALID, REDACT_BLOCKED = 1, 3


@app.command()
def redact(
    policy: Annotated[Path, typer.Option("--policy", help="policy YAML file")],
    destination: Annotated[str, typer.Option("--destination", "-d", help=DESTINATION_HELP)] = "transcript",
) -> None:
    """Redact stdin lines (plain text or JSON objects with "text") to JSON lines on stdout.

    Each output line is {"text", "entities", "blocked"}; a blocked line (detection failed or ran
    past its time budget) has "text": "<REDACTED_MESSAGE>", "blocked": true and a "reason", and is
    noted on stderr. A line that cannot be read becomes {"error": ...}. Exit status: 0 when every
    line was redacted, 1 if any line could not be read, 3 if any line was blocked.
    """
    from safebot.redaction import DESTINATIONS

    if destination not in DESTINATIONS:
        _fail(f"unknown destination {destination!r}; expected one of: {', '.join(DESTINATIONS)}")
    redactor = _build_redactor(policy)
    invalid = blocked = 0
    interactive = sys.stdin.isatty()
    batch: list[tuple[int, str | None, str | None]] = []

    def flush() -> None:
        nonlocal blocked
        texts = [t for _, t, err in batch if err is None and t is not None]
        analyses = iter(redactor.analyze_many(texts)) if texts else iter(())
        for number, _, err in batch:
            if err is not None:
                sys.stdout.write(json.dumps({"error": err}) + "\n")
                continue
            analysis = next(analyses)
            r = redactor.render(analysis, destination)
            out: dict[str, object] = {"text": r.text, "entities": [f.to_json() for f in r.findings], "blocked": r.blocked}
            if analysis.blocked:
                blocked += 1
                out["reason"] = analysis.reason
                typer.echo(f"note: line {number} was blocked ({analysis.reason}); nothing of it was output", err=True)
            sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        batch.clear()

    for number, raw in enumerate(sys.stdin.buffer, start=1):
        text, err = _parse_line(raw, number)
        invalid += err is not None
        batch.append((number, text, err))
        if interactive or len(batch) >= 256:
            flush()
    flush()
    if invalid:
        typer.echo(f"error: {invalid} input line(s) could not be read; see the error objects in the output", err=True)
        raise typer.Exit(REDACT_INVALID)
    if blocked:
        typer.echo(f"error: {blocked} line(s) were blocked", err=True)
        raise typer.Exit(REDACT_BLOCKED)


@policy_app.command("test")
def policy_test(
    policy_file: Annotated[Path, typer.Argument(help="policy YAML file")],
    cases_file: Annotated[Path, typer.Argument(help="policy_cases.yaml")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="list passing cases too")] = False,
) -> None:
    """Run compliance cases against a policy; prints 'N passed, N failed'."""
    from safebot.progress import stages, track
    from safebot.redaction.cases import check_entity_types, load_cases, run_case

    cases = load_cases(cases_file)
    with stages("policy test") as stage:
        stage("loading the policy and its recognizers")
        redactor = _build_redactor(policy_file)
    # run_cases, one case at a time, so the bar can advance (labels only, never a case's text)
    known = set(redactor.policy.known_entities()) | set(redactor.policy.entities)
    check_entity_types(cases, known)
    results = [run_case(redactor, case, i, known)
               for i, case in enumerate(track(cases.cases, "policy cases"))]
    for r in results:
        if not r.passed:
            typer.echo(f"FAIL {r.name}")
            for problem in r.problems:
                typer.echo(f"     {problem}")
        elif verbose:
            typer.echo(f"ok   {r.name}")
    passed = sum(r.passed for r in results)
    typer.echo(f"{passed} passed, {len(results) - passed} failed")
    if passed != len(results):
        raise typer.Exit(1)


#: exit status of `safebot policy diff` when a change loosens protection (CI requires a sign-off)
DIFF_LOOSENS = 1


def _format_option(value: str) -> str:
    if value not in ("md", "html"):
        _fail(f"--format must be md or html, not {value!r}")
    return value


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        write_output(out, text)


@policy_app.command("explain")
def policy_explain(
    policy_file: Annotated[Path, typer.Argument(help="policy YAML file")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="md (Markdown) or html (one self-contained page)")] = "md",
    out: Annotated[Path | None, typer.Option("-o", "--output", help="write to a file instead of stdout")] = None,
) -> None:
    """A policy as a reviewer reads it: its hash, packs, spaCy pipeline, threshold and time
    budget; the treatment of every entity per destination; each entity's threshold; the
    allow-list; every recognizer (name, entity, source, how it matches, context words).

    --format md (the default) is Markdown; --format html one self-contained HTML page
    that also runs a worked example per entity through the real redactor. The policy is
    validated first: a bad one is one error line naming the file, line and field."""
    from safebot.redaction.policy import load_policy

    _format_option(fmt)
    policy = load_policy(policy_file)
    if fmt == "html":
        from safebot.console.commands import explain_html

        _emit(explain_html(policy), out)
    else:
        from safebot.redaction.report import explain

        _emit(explain(policy), out)


@policy_app.command("diff")
def policy_diff(
    old: Annotated[Path, typer.Argument(help="the policy as it is")],
    new: Annotated[Path, typer.Argument(help="the proposed policy")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="md (Markdown) or html (one self-contained page)")] = "md",
    out: Annotated[Path | None, typer.Option("-o", "--output", help="write to a file instead of stdout")] = None,
) -> None:
    """What a policy change does to each destination; changes that loosen protection (an entity
    removed, a treatment weakened, a threshold raised, an allow-list entry added...) first.
    Exit status 1 when any change loosens protection, so CI can require a sign-off."""
    from safebot.redaction.policy import load_policy
    from safebot.redaction.report import changes, diff, loosens

    _format_option(fmt)
    before, after = load_policy(old), load_policy(new)
    found = changes(before, after)
    if fmt == "html":
        from safebot.console.pages import diff_page

        _emit(diff_page(before, after, old_label=str(old), new_label=str(new), found=found), out)
    else:
        _emit(diff(before, after), out)
    if loosens(found):
        n = sum(c.effect == "loosens" for c in found)
        typer.echo(f"{n} change(s) loosen protection: a compliance sign-off is needed", err=True)
        raise typer.Exit(DIFF_LOOSENS)


def _load_bot(bot_dir: Path, **kwargs: Any) -> Bot:
    """Check the bot directory in a second (file, line, field), then load it, its stages shown
    on a terminal."""
    from safebot.preflight import load_bot

    return load_bot(bot_dir, **kwargs)


@app.command()
def chat(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per turn")] = False,
    conversation: Annotated[str | None, typer.Option("--conversation", "-c", help="conversation id")] = None,
) -> None:
    """Chat with a bot. Reads lines from stdin when it is not a terminal."""
    import uuid

    bot = _load_bot(bot_dir)
    cid = conversation or f"cli-{uuid.uuid4().hex[:12]}"
    interactive = sys.stdin.isatty() and not as_json
    if interactive:
        typer.echo(f"{bot.config.name}: type a message, Ctrl-D to quit.")
    try:
        while True:
            if interactive:
                try:
                    line = input("you> ")
                except EOFError:
                    break
            else:
                raw = sys.stdin.readline()
                if not raw:
                    break
                line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            result = bot.handle_sync(cid, line, channel="console")
            if as_json:
                sys.stdout.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
            else:
                for reply in result.replies:
                    sys.stdout.write(f"bot> {reply}\n" if interactive else f"{reply}\n")
                if not interactive:
                    sys.stdout.write("\n")
            sys.stdout.flush()
    finally:
        bot.close()


@app.command()
def nlu(bot_dir: Annotated[Path, typer.Argument(help="bot directory")]) -> None:
    """Classify stdin lines: {"text" (redacted), "intent" (null = out of scope), "confidence"}."""
    from safebot.nlu.training import load_or_train
    from safebot.preflight import check_bot_dir
    from safebot.progress import bar, stages
    from safebot.redaction.policy import load_policy
    from safebot.redaction.redactor import Redactor

    config = check_bot_dir(bot_dir).config
    with stages(f"loading {bot_dir}") as stage:
        stage("reading the policy")
        policy = load_policy(bot_dir / config.policy)
        stage("loading the intent model")
        clf = load_or_train(bot_dir, config)
        stage("loading the redaction models")
        redactor = Redactor(policy, hmac_key=b"nlu-cli")
    # A bar for a file or a pipe on stdin (never for lines typed at the terminal), in bytes
    # read: the lines themselves are never shown.
    with bar(_stdin_size(), "classifying", unit="bytes") if not sys.stdin.isatty() else nullcontext(_ignore) as advance:
        for raw in sys.stdin:
            advance(len(raw.encode("utf-8", "surrogateescape")))
            _classify_line(raw, redactor, clf)


def _ignore(n: float = 1) -> None:
    pass


def _stdin_size() -> int | None:
    """The size of stdin when it is a regular file (``< lines.txt``): the bar's end."""
    import os
    import stat

    try:
        st = os.fstat(sys.stdin.fileno())
    except (OSError, ValueError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _classify_line(raw: str, redactor: Redactor, clf: IntentClassifier) -> None:
    line = raw.rstrip("\r\n")
    text = redactor.redact(line, destination="nlu").text
    p = clf.predict(text)
    sys.stdout.write(
        json.dumps({"text": text, "intent": p.intent, "confidence": round(float(p.confidence), 4)}, ensure_ascii=False)
        + "\n"
    )
    sys.stdout.flush()


@app.command()
def train(bot_dir: Annotated[Path, typer.Argument(help="bot directory")]) -> None:
    """Train the bot's intent model into BOT_DIR/.safebot/."""
    import time

    from safebot.nlu.training import model_dir, train_bot
    from safebot.preflight import check_bot_dir
    from safebot.progress import stages
    from safebot.redaction.policy import load_policy

    started = time.perf_counter()
    # The whole directory is checked before a minute of training: the quick check first
    # (a second), then the policy's own checks that build its recognizers.
    config = check_bot_dir(bot_dir).config
    with stages(f"train {bot_dir}") as stage:
        stage("checking the policy")
        load_policy(bot_dir / config.policy)
        stage("training the intent model")
        train_bot(bot_dir, config)
    typer.echo(f"trained {model_dir(bot_dir)} in {time.perf_counter() - started:.1f}s")


@app.command("test")
def test_bot(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="list passing tests too")] = False,
) -> None:
    """Run BOT_DIR/tests: expected intents, replies and slots, and no planted PII in any sink."""
    import tempfile

    from safebot.preflight import check_bot_dir
    from safebot.progress import track
    from safebot.testing import ConversationRunner, load_conversation_tests

    checked = check_bot_dir(bot_dir)
    tests = load_conversation_tests(bot_dir / "tests")
    # Tests must not touch the bot's own store or sinks (its analytics file, the agents' hand-off
    # queue): a throw-away SQLite file, and the runner's capturing sinks instead of exporters.
    with tempfile.TemporaryDirectory(prefix="safebot-test-") as tmp:
        bot = _load_bot(bot_dir, checked=checked, store_url=f"sqlite:///{tmp}/test.sqlite3", exporters=False)
        try:
            runner = ConversationRunner(bot)
            passed = failed = 0
            for path, test in track(tests, "conversation tests"):
                report = runner.run(test, path.name)
                if report.passed:
                    passed += 1
                    if verbose:
                        typer.echo(f"ok   {path.name}: {test.name}")
                else:
                    failed += 1
                    typer.echo(f"FAIL {path.name}: {test.name}")
                    for problem in report.problems:
                        typer.echo(f"     {problem}")
        finally:
            bot.close()
    typer.echo(f"{passed} passed, {failed} failed")
    if failed or not tests:
        raise typer.Exit(1)


@app.command("rasa-actions")
def rasa_actions(
    bot_dir: Annotated[Path, typer.Argument(help="bot directory")],
    host: Annotated[str, typer.Option("--host", help="interface to bind (loopback unless told otherwise)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port (rasa-sdk's default is 5055)")] = 5055,
    max_body_mb: Annotated[int, typer.Option("--max-body-mb", help="largest request Rasa may send, in MB (it sends the whole session)")] = 16,
) -> None:
    """Serve the bot's handlers to a Rasa assistant over rasa-sdk's action-server protocol.

    Every call must carry the token in SAFEBOT_ACTION_TOKEN (Rasa's endpoints.yml `token:`);
    without one the server binds to loopback only.
    """
    import logging

    from safebot.channels.rasa import serve
    from safebot.channels.rasa.http import action_token, is_loopback

    if not 0 < port < 65536:
        _fail(f"--port must be between 1 and 65535, not {port}")
    if not 1 <= max_body_mb <= 1024:
        _fail(f"--max-body-mb must be between 1 and 1024, not {max_body_mb}")
    if action_token() is None and not is_loopback(host):
        _fail(f"refusing to serve on {host} without a token: set SAFEBOT_ACTION_TOKEN")
    _port_free(host, port)
    bot = _load_bot(bot_dir)
    # The command is an application, so it may configure logging: one line per action, with
    # the redacting filter as a second line of defence on the handler.
    from safebot.sinks import RedactingLogFilter

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingLogFilter(bot.redactor))
    safebot_log = logging.getLogger("safebot")
    safebot_log.addHandler(handler)
    safebot_log.setLevel(logging.INFO)
    typer.echo(f"{bot.config.name}: Rasa action server on http://{host}:{port} (actions: "
               f"{', '.join(h.name for h in bot.routes.handlers)})", err=True)
    try:
        serve(bot, host=host, port=port, max_body=max_body_mb * 1024 * 1024)
    finally:
        bot.close()


def _port_free(host: str, port: int) -> None:
    """Fail with one line now if ``host:port`` cannot be listened on, not after the bot loads
    (uvicorn would log a traceback-like error and exit 1)."""
    from safebot.serve.server import bind

    bind(host, port).close()


def _register_serving() -> None:
    """`safebot serve` and `safebot keys` (their code is in safebot.serve.commands)."""
    from safebot.serve.commands import keys_app, serve_command

    app.command("serve")(serve_command)
    app.add_typer(keys_app, name="keys")


_register_serving()


def _register_console() -> None:
    """`safebot report` (issue 12; its code is in safebot.console.commands)."""
    from safebot.console.commands import report_command

    app.command("report")(report_command)


_register_console()


def _register_notifications() -> None:
    """`safebot notify ...` and `safebot worker` (issue 10; their code is in safebot.notify.commands)."""
    from safebot.notify.commands import notify_app, worker_command

    app.add_typer(notify_app, name="notify")
    app.command("worker")(worker_command)


_register_notifications()


def _register_compliance() -> None:
    """`safebot audit`, `retention`, `forget` and `redact-archive` (issue 11; their code lives in
    safebot.audit.commands, safebot.retention.commands, safebot.erasure_commands and
    safebot.archive.commands)."""
    from safebot.archive.commands import redact_archive_command
    from safebot.audit.commands import audit_app
    from safebot.erasure_commands import forget_command
    from safebot.retention.commands import retention_app

    app.add_typer(audit_app, name="audit")
    app.add_typer(retention_app, name="retention")
    app.command("forget")(forget_command)
    app.command("redact-archive")(redact_archive_command)


_register_compliance()


@app.command("init")
def init(
    bot_dir: Annotated[Path, typer.Argument(help="the new bot directory (must not exist or be empty)")],
    example: Annotated[str, typer.Option("--from", help="the example to start from: bank or airline")],
    name: Annotated[str | None, typer.Option("--name", help="the bot's name (default: from the directory name)")] = None,
) -> None:
    """Make a new bot directory from an example bot, renamed, and say what to edit first."""
    from safebot.scaffold import EXAMPLES, edit_first, init_bot

    if example not in EXAMPLES:
        _fail(f"--from must be one of: {', '.join(EXAMPLES)} (not {example!r})")
    made = init_bot(bot_dir, example, name=name)
    d = bot_dir.as_posix()
    typer.echo(f"created {d}/: {made.name!r}, from the {example} example ({made.files} files)")
    typer.echo("edit first:")
    width = max(len(path) for path, _ in edit_first(example)) + len(d) + 1
    for path, why in edit_first(example):
        typer.echo(f"  {d + '/' + path:<{width}}  {why}")
    typer.echo(f"then: safebot train {d} && safebot test {d} && safebot chat {d}")


@app.command("rasa-domain")
def rasa_domain(bot_dir: Annotated[Path, typer.Argument(help="bot directory")]) -> None:
    """Print the Rasa domain fragment (actions and slots) an assistant declares to use the bot's handlers."""
    from safebot.channels.rasa_domain import domain_yaml
    from safebot.engine.config import load_bot_config
    from safebot.engine.loader import load_routes

    if not bot_dir.is_dir():
        _fail(f"{bot_dir} is not a directory")
    config = load_bot_config(bot_dir)
    typer.echo(domain_yaml(load_routes(bot_dir, config.handlers), bot_name=config.name), nl=False)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error a user can cause is one line on stderr, never a traceback.

    Exit status: 0 done; 1 the work ran and failed (tests failed, a file could not be
    written); 2 a usage error (missing argument, unknown command or option, bad value) or bad
    input (a file not found, bad YAML: file, line and field); 130 interrupted. Some commands
    document their own (``safebot redact``: 3 when a line was blocked).

    An unexpected exception is a bug: it is reported by type and place only, because its
    message may quote input; ``SAFEBOT_TRACEBACK=1`` shows the full traceback.
    """
    import os

    command = _command()
    try:
        rc = command.main(args=argv, prog_name="safebot", standalone_mode=False)
    except SafebotError as exc:
        _error_line(str(exc))
        raise SystemExit(2) from None
    except BrokenPipeError:
        # `safebot ... | head`: the reader left; say nothing more, on any stream.
        _silence_stdout()
        raise SystemExit(1) from None
    except OSError as exc:
        _error_line(_os_error(exc))
        raise SystemExit(2 if isinstance(exc, _BAD_PATH) else 1) from None
    except Exception as exc:
        usage = _usage_error(exc)
        if usage is not None:
            raise SystemExit(usage) from None
        if os.environ.get("SAFEBOT_TRACEBACK") == "1":
            raise
        _error_line(f"unexpected {type(exc).__name__} at {_where(exc)}: this is a bug in safebot or the bot's "
                    "code (its message is not shown, it may quote input; SAFEBOT_TRACEBACK=1 shows it)")
        raise SystemExit(1) from None
    raise SystemExit(rc if isinstance(rc, int) else 0)


#: file-system errors caused by what the user typed (exit 2, like other bad input)
_BAD_PATH = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)


def _error_line(message: str) -> None:
    # One line, whatever the message held (a newline would start a second, unprefixed line).
    typer.echo("error: " + " ".join(message.split()), err=True)


def _os_error(exc: OSError) -> str:
    reason = exc.strerror or type(exc).__name__
    if exc.filename is not None:
        return f"{exc.filename}: {reason[:1].lower() + reason[1:]}"
    return reason


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _usage_error(exc: Exception) -> int | None:
    """Exit status for click's own errors (usage mistakes, Abort), after printing one line;
    None for anything else. Typer vendors its own click, so these are matched by shape."""
    name = type(exc).__name__
    if name == "Abort":  # Ctrl-C or Ctrl-D at a prompt
        typer.echo("", err=True)
        return 130
    if not (hasattr(exc, "exit_code") and hasattr(exc, "format_message")):
        return None
    ctx = getattr(exc, "ctx", None)
    if name == "NoArgsIsHelpError":  # `safebot` or `safebot policy` alone: the help is the answer
        exc.show()  # type: ignore[attr-defined]
        return int(exc.exit_code)
    message = str(exc.format_message()).strip()
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    message = message.removesuffix(".")
    if ctx is not None and getattr(ctx, "command_path", None):
        message += f" (see '{ctx.command_path} --help')"
    _error_line(message)
    return int(exc.exit_code)


def _where(exc: BaseException) -> str:
    """``file:line`` of the innermost frame of a traceback (the place, not the message)."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "an unknown place"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


def _command() -> Any:
    """The click command tree for ``app``, with its help made to read like the README: an
    argument is shown by its upper-case name (``BOT_DIR``), a flag without a ``<bool>``
    value it does not take."""
    import typer.main

    root = typer.main.get_command(app)
    _tidy(root)
    return root


def _tidy(command: object) -> None:
    from typer import _click

    params = list(getattr(command, "params", ()))
    if isinstance(command, _click.Command):
        help_option = command.get_help_option(_click.Context(command))
        if help_option is not None:
            params.append(help_option)
    for param in params:
        if getattr(param, "metavar", "unset") is not None:
            continue
        if getattr(param, "param_type_name", "") == "argument":
            param.metavar = str(param.name).upper()
        elif getattr(param, "is_flag", False):
            param.metavar = ""  # display_type_rich() shows the metavar: nothing for a flag
    help_text = getattr(command, "help", None)
    if help_text:
        # Rich wraps help to the terminal; the docstring's own line breaks would cut each
        # line again mid-sentence. Paragraphs become one line each (a list item or an
        # indented line keeps its own line), and the command list shows the first one.
        paragraphs = [_unwrap(p) for p in inspect.cleandoc(help_text).split("\n\n")]
        command.help = "\n\n".join(paragraphs)  # type: ignore[attr-defined]
        if not getattr(command, "short_help", None):
            command.short_help = paragraphs[0]  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        _tidy(sub)


def _unwrap(paragraph: str) -> str:
    """One paragraph of a docstring as one line, except ``\\b`` blocks and list or indented lines."""
    if paragraph.startswith("\b"):
        return paragraph
    out: list[str] = []
    for line in paragraph.split("\n"):
        if out and not line.startswith((" ", "- ", "* ")):
            out[-1] = f"{out[-1]} {line.strip()}"
        else:
            out.append(line.rstrip())
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    main()
