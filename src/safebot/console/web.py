"""``/console``: the compliance pages, live, in ``safebot serve``.

Routes (all HTML, none in the OpenAPI document: they are pages, not an API)::

    GET  /console                          -> the report (or the sign-in page)
    GET  /console/login, POST /console/login, POST /console/logout
    GET  /console/report?since=&until=     the activity report
    GET  /console/policy                   the running policy, explained, worked examples
    GET  /console/policy/diff              the policy file on disk against the running one
    GET  /console/audit?conversation=&entity_type=&handler=&event=&date=&page=
    GET  /console/conversations/{id}       the transcript destination of one conversation

Who may look: a key with the ``compliance`` role, as ``Authorization: Bearer`` (scripts) or
through the sign-in form and its session cookie (browsers; see :mod:`.sessions`). Any other
role is 403; no credentials is a redirect to the sign-in page (401 for a bearer attempt).
Every page served is audited (``console_viewed``: the key's name and id, the page, the
filters or the conversation), before the page is sent.

Responses carry a Content-Security-Policy that allows the one inline stylesheet and nothing
else (no script runs on these pages, none is needed), ``X-Frame-Options: DENY``,
``Referrer-Policy: same-origin`` and ``Cache-Control: no-store``.
"""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations at runtime.

import datetime as _dt
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from sqlalchemy import select

from safebot.console import sessions
from safebot.console._tables import ensure_tables
from safebot.console.activity import Period
from safebot.console.pages import (
    Nav,
    audit_page,
    conversation_page,
    diff_page,
    explain_page,
    login_page,
    report_page,
)
from safebot.console.rollup import RollupKeeper
from safebot.console.templating import STYLE_HASH
from safebot.errors import ConfigError
from safebot.redaction.audit import AuditRecord
from safebot.serve.auth import verify_key
from safebot.serve.responses import Forbidden
from safebot.serve.state import ServerState
from safebot.stores._errors import mapped_errors
from safebot.stores._schema import AuditRow

__all__ = ["console_router"]

log = logging.getLogger("safebot.console")

PAGE_SIZE = 100
HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; style-src {STYLE_HASH}; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin: no referrer for other sites, and the browser keeps sending Origin on our own
    # forms (with no-referrer it sends 'Origin: null', which cannot be told from a sandbox)
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_ENTITY = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_CONVERSATION = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_EVENTS = ("redacted", "near_miss", "detection_failed", "revealed", "reveal_denied", "console_viewed",
           "checkpoint", "retention", "erasure")


@dataclass(frozen=True)
class Viewer:
    key_id: str
    name: str
    csrf: str | None


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _same_origin(request: Request) -> bool:
    """A form post from a page of this site (a cross-site form cannot set these headers)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return site == "same-origin"  # a browser that sends neither is too old to trust with a form
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items() if v}


class _Policies:
    """The running policy's explain data (built once) and the file on disk (re-read when it changes)."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self._lock = threading.Lock()
        self._examples: Any = None
        self._disk: tuple[tuple[float, int], Any] | None = None

    @property
    def path(self) -> Path:
        return Path(self.state.bot.bot_dir) / self.state.bot.config.policy

    def examples(self) -> Any:
        from safebot.console.examples import worked_examples

        with self._lock:
            if self._examples is None:
                bot = self.state.bot
                self._examples = worked_examples(bot.redactor.policy, bot.redactor.detector)
            return self._examples

    def on_disk(self) -> Any:
        """The policy file as it is now: a Policy, or the ConfigError that loading it gives."""
        from safebot.redaction.policy import load_policy

        try:
            st = self.path.stat()
            stamp = (st.st_mtime, st.st_size)
        except OSError:
            stamp = (0.0, -1)
        with self._lock:
            if self._disk is not None and self._disk[0] == stamp:
                return self._disk[1]
        try:
            loaded: Any = load_policy(self.path)
        except ConfigError as exc:
            loaded = exc
        with self._lock:
            self._disk = (stamp, loaded)
        return loaded


def console_router(state: ServerState, *, fold: bool = True) -> APIRouter:
    """The console's routes for ``state``'s bot. ``fold``: start the report roll-up now."""
    router = APIRouter(prefix="/console", include_in_schema=False)
    bot = state.bot
    store = bot.store
    ensure_tables(store)
    keeper = RollupKeeper(store)
    if fold:
        keeper.fold_soon()
    policies = _Policies(state)
    handlers = sorted({h.name for h in bot.routes.handlers} | {"verification", "handoff"})

    async def viewer(request: Request) -> Viewer | None:
        """The signed-in reviewer: a compliance bearer key (401/403 otherwise) or a session."""
        header = request.headers.get("authorization")
        if header is not None:
            key = await state.authenticate(header, role="compliance")
            request.state.key_id = key.id
            return Viewer(key.id, key.name, None)
        token = request.cookies.get(sessions.COOKIE)
        session = await anyio.to_thread.run_sync(sessions.find_session, store, token) if token else None
        if session is None:
            return None
        request.state.key_id = session.key_id
        return Viewer(session.key_id, session.key_name, session.csrf)

    def to_login() -> Response:
        return RedirectResponse("/console/login", status_code=303, headers=HEADERS)

    def audit_view(who: Viewer, view: str, conversation: str | None = None, **filters: str) -> None:
        detail: dict[str, str | int | None] = {"viewer": who.name, "key": who.key_id}
        detail.update({k: v for k, v in filters.items() if v})
        record = AuditRecord(
            "console_viewed",
            bot.redactor.policy.hash, conversation_id=conversation, reason=view, detail=detail,
        )
        with store.unit_of_work() as uow:
            uow.audit(record)

    async def seen(who: Viewer, view: str, conversation: str | None = None, **filters: str) -> None:
        await anyio.to_thread.run_sync(lambda: audit_view(who, view, conversation, **filters))

    def nav(who: Viewer, page: str) -> Nav:
        return Nav(who.name, page, who.csrf)

    @router.get("")
    async def home(request: Request) -> Response:
        who = await viewer(request)
        return to_login() if who is None else RedirectResponse("/console/report", status_code=303, headers=HEADERS)

    @router.get("/login")
    async def login_form(request: Request) -> Response:
        return _html(login_page())

    @router.post("/login")
    async def login(request: Request) -> Response:
        if not _same_origin(request):
            return _html(login_page("This form must be sent from the console's own page."), 403)
        presented = (await _form(request)).get("key", "").strip()
        key = await anyio.to_thread.run_sync(verify_key, store, presented) if presented else None
        if key is None:
            return _html(login_page("That key is not valid (unknown, mistyped or revoked)."), 401)
        if key.role != "compliance":
            return _html(login_page("That key does not have the compliance role."), 403)
        request.state.key_id = key.id
        token, _ = await anyio.to_thread.run_sync(sessions.open_session, store, key)
        out = RedirectResponse("/console/report", status_code=303, headers=HEADERS)
        secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
        out.set_cookie(sessions.COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/console",
                       max_age=sessions.SESSION_SECONDS)
        log.info("console sign-in: key %s", key.id)
        return out

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        who = await viewer(request)
        form = await _form(request)
        if who is None:
            return to_login()
        if not _same_origin(request) or who.csrf is None or form.get("csrf") != who.csrf:
            raise Forbidden("sign out from the console's own page")
        await anyio.to_thread.run_sync(sessions.close_session, store, request.cookies.get(sessions.COOKIE))
        out = to_login()
        out.delete_cookie(sessions.COOKIE, path="/console", httponly=True, samesite="strict")
        return out

    @router.get("/report")
    async def report(request: Request, since: str = "", until: str = "") -> Response:
        who = await viewer(request)
        if who is None:
            return to_login()
        try:
            period = Period.parse(since or None, until or None)
        except ConfigError as exc:
            await seen(who, "report")
            return _html(f"<!doctype html><html lang=\"en\"><title>Bad period</title><p>{escape(exc.reason)}</p></html>", 422)
        await seen(who, "report", since=period.since.isoformat() if period.since else "",
                   until=period.until.isoformat() if period.until else "")
        activity = await anyio.to_thread.run_sync(keeper.activity, period)
        return _html(report_page(activity, bot_name=bot.config.name, nav=nav(who, "report"),
                                 policy_hash=bot.redactor.policy.hash))

    @router.get("/policy")
    async def policy(request: Request) -> Response:
        who = await viewer(request)
        if who is None:
            return to_login()
        await seen(who, "policy")
        examples = await anyio.to_thread.run_sync(policies.examples)
        return _html(explain_page(bot.redactor.policy, examples, nav=nav(who, "policy"), source=bot.config.policy))

    @router.get("/policy/diff")
    async def policy_diff(request: Request) -> Response:
        who = await viewer(request)
        if who is None:
            return to_login()
        await seen(who, "policy_diff")
        disk = await anyio.to_thread.run_sync(policies.on_disk)
        if isinstance(disk, ConfigError):
            body = diff_page(bot.redactor.policy, bot.redactor.policy, nav=nav(who, "diff"),
                             old_label="running", new_label=f"{bot.config.policy} on disk: does not load ({disk})")
            return _html(body)
        return _html(diff_page(bot.redactor.policy, disk, nav=nav(who, "diff"), old_label="running now",
                               new_label=f"{bot.config.policy} on disk (applies at the next restart)"))

    @router.get("/audit")
    async def audit(
        request: Request, conversation: str = "", entity_type: str = "", handler: str = "", event: str = "",
        date: str = "", page: str = "1",
    ) -> Response:
        who = await viewer(request)
        if who is None:
            return to_login()
        filters = {"conversation": conversation.strip(), "entity_type": entity_type.strip(), "handler": handler.strip(),
                   "event": event.strip(), "date": date.strip()}
        error = _check_filters(filters)
        number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
        if error:
            filters = {k: "" for k in filters}
        await seen(who, "audit", filters["conversation"] or None, page=str(number),
                   **{k: v for k, v in filters.items() if k != "conversation"})
        rows, more = await anyio.to_thread.run_sync(lambda: _audit_rows(store, filters, number))
        choices = {"entity_type": sorted(bot.redactor.policy.entities), "handler": handlers, "event": list(_EVENTS)}
        body = audit_page(rows, filters=filters, choices=choices, page=number, more=more, nav=nav(who, "audit"), error=error)
        return _html(body, 422 if error else 200)

    @router.get("/conversations/{conversation}")
    async def conversation_view(request: Request, conversation: str) -> Response:
        who = await viewer(request)
        if who is None:
            return to_login()
        if _CONVERSATION.fullmatch(conversation) is None:
            await seen(who, "conversation")
            return _html(conversation_page("(invalid id)", [], [], nav=nav(who, "audit")), 404)
        await seen(who, "conversation", conversation)
        turns, records = await anyio.to_thread.run_sync(lambda: _conversation(store, conversation))
        return _html(conversation_page(conversation, turns, records, nav=nav(who, "audit")))

    return router


def _check_filters(f: dict[str, str]) -> str | None:
    # The message never repeats what was typed: a reviewer may paste a customer's value by mistake.
    if f["conversation"] and _CONVERSATION.fullmatch(f["conversation"]) is None:
        return "A conversation is its stored id (letters, digits and . _ : -), as the audit trail shows it."
    if f["entity_type"] and _ENTITY.fullmatch(f["entity_type"]) is None:
        return "An entity type is upper-case letters, digits and _ (for example CREDIT_CARD)."
    if f["handler"] and _NAME.fullmatch(f["handler"]) is None:
        return "A handler is a name of letters, digits and . _ : -."
    if f["event"] and f["event"] not in _EVENTS:
        return "Unknown event kind."
    if f["date"]:
        try:
            _dt.date.fromisoformat(f["date"])
        except ValueError:
            return "A date is YYYY-MM-DD."
    return None


_AUDIT_COLUMNS = (
    AuditRow.id, AuditRow.seq, AuditRow.time, AuditRow.event, AuditRow.entity_type, AuditRow.recognizer,
    AuditRow.score, AuditRow.destination, AuditRow.treatment, AuditRow.handler, AuditRow.reason,
    AuditRow.conversation_id, AuditRow.policy_hash,
)


def _audit_rows(store: Any, f: dict[str, str], page: int) -> tuple[list[dict[str, Any]], bool]:
    a = AuditRow
    stmt = select(*_AUDIT_COLUMNS)
    if f["conversation"]:
        stmt = stmt.where(a.conversation_id == f["conversation"])
    if f["entity_type"]:
        stmt = stmt.where(a.entity_type == f["entity_type"])
    if f["handler"]:
        stmt = stmt.where(a.handler == f["handler"])
    if f["event"]:
        stmt = stmt.where(a.event == f["event"])
    if f["date"]:
        day = _dt.date.fromisoformat(f["date"])
        stmt = stmt.where(a.time >= day.isoformat(), a.time < (day + _dt.timedelta(days=1)).isoformat())
    stmt = stmt.order_by(a.id.desc()).limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)
    with mapped_errors(), store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def _conversation(store: Any, cid: str) -> tuple[list[tuple[int, list[dict[str, Any]]]], list[dict[str, Any]]]:
    turns: dict[int, list[dict[str, Any]]] = {}
    for event in store.transcript(cid):
        turns.setdefault(int(event["turn"]), []).append(event)
    a = AuditRow
    stmt = select(*_AUDIT_COLUMNS).where(a.conversation_id == cid).order_by(a.id.desc()).limit(200)
    with mapped_errors(), store.engine.connect() as conn:
        records = [dict(r._mapping) for r in conn.execute(stmt)]
    return sorted(turns.items()), records

