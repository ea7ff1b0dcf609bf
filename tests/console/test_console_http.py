"""/console over HTTP on a real server: who may look, how a browser signs in, what is audited,
and that no page or response carries a planted value."""

from __future__ import annotations

import re

import httpx
import pytest
from conftest import Console

PAGES = ["/console/report", "/console/policy", "/console/policy/diff", "/console/audit",
         "/console/audit?entity_type=CREDIT_CARD", "/console/audit?handler=freeze",
         "/console/audit?date=2026-01-01", "/console/audit?event=redacted&page=2"]


def _get(console: Console, path: str, key: str | None = "compliance", **kw: object) -> httpx.Response:
    with console.served.client(key, follow_redirects=False) as c:
        r = c.get(path, **kw)  # type: ignore[arg-type]
    console.bodies.append(r.text)
    return r


@pytest.mark.parametrize("path", [*PAGES, "/console/conversations/{cid}"])
def test_compliance_key_reads_every_page(console: Console, path: str) -> None:
    r = _get(console, path.format(cid=console.conversation))
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script" not in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
    assert not console.leaks(r.text)


@pytest.mark.parametrize("key", ["alice", "prometheus"])
@pytest.mark.parametrize("path", ["/console", "/console/report", "/console/policy", "/console/audit", "/console/conversations/{cid}"])
def test_other_roles_get_403(console: Console, key: str, path: str) -> None:
    name = "metrics" if key == "prometheus" else key
    r = _get(console, path.format(cid=console.conversation), name)
    assert r.status_code == 403, r.status_code
    assert "frozen" not in r.text and "<table" not in r.text


def test_no_credentials_redirects_to_sign_in_and_bad_keys_are_401(console: Console) -> None:
    r = _get(console, "/console/audit", None)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    for key in ("revoked", None):
        headers = {"Authorization": "Bearer " + (console.served.keys[key] if key else "sbk_0000000000000000_" + "x" * 43)}
        r = httpx.get(console.served.url + "/console/audit", headers=headers)
        assert r.status_code == 401


def _login(console: Console, key: str, origin: str | None = "same") -> httpx.Response:
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if origin == "same":
        headers["origin"] = console.served.url
    elif origin:
        headers["origin"] = origin
    return httpx.post(console.served.url + "/console/login", content=f"key={console.served.keys[key]}", headers=headers)


def test_sign_in_sets_a_strict_http_only_session_cookie(console: Console) -> None:
    r = _login(console, "compliance")
    assert r.status_code == 303 and r.headers["location"] == "/console/report"
    cookie = r.headers["set-cookie"]
    assert re.search(r"safebot_console=[A-Za-z0-9_-]{40,};", cookie)
    for flag in ("HttpOnly", "SameSite=strict", "Path=/console"):
        assert flag.lower() in cookie.lower(), cookie
    assert console.served.keys["compliance"] not in cookie  # a session token, not the key
    token = r.cookies["safebot_console"]
    page = httpx.get(console.served.url + "/console/audit", cookies={"safebot_console": token})
    assert page.status_code == 200 and "signed in as <b>reviewer</b>" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    # sign-out needs this site's origin and the form's token
    out = httpx.post(console.served.url + "/console/logout", content="csrf=wrong", cookies={"safebot_console": token},
                     headers={"origin": console.served.url, "content-type": "application/x-www-form-urlencoded"})
    assert out.status_code == 403
    out = httpx.post(console.served.url + "/console/logout", content=f"csrf={csrf.group(1)}", cookies={"safebot_console": token},
                     headers={"origin": console.served.url, "content-type": "application/x-www-form-urlencoded"})
    assert out.status_code == 303
    after = httpx.get(console.served.url + "/console/audit", cookies={"safebot_console": token})
    assert after.status_code == 303  # the session is gone on the server, not only in the browser


@pytest.mark.parametrize(("key", "origin", "status"), [
    ("alice", "same", 403),            # a customer key cannot sign in
    ("metrics", "same", 403),
    ("revoked", "same", 401),
    ("compliance", "https://evil.example", 403),  # a cross-site form (login CSRF)
])
def test_sign_in_refusals(console: Console, key: str, origin: str, status: int) -> None:
    r = _login(console, key, origin)
    assert r.status_code == status
    assert "set-cookie" not in r.headers
    assert console.served.keys[key] not in r.text


def test_revoking_the_key_ends_its_sessions(console: Console) -> None:
    from safebot.serve.auth import create_key, revoke_key

    _, secret = create_key(console.served.bot.store, "temp-reviewer", "compliance")
    r = httpx.post(console.served.url + "/console/login", content=f"key={secret.reveal()}",
                   headers={"origin": console.served.url, "content-type": "application/x-www-form-urlencoded"})
    token = r.cookies["safebot_console"]
    assert httpx.get(console.served.url + "/console/report", cookies={"safebot_console": token}).status_code == 200
    revoke_key(console.served.bot.store, "temp-reviewer")
    assert httpx.get(console.served.url + "/console/report", cookies={"safebot_console": token}).status_code == 303


def test_every_view_is_audited_by_key_name_never_the_key(console: Console) -> None:
    store = console.served.bot.store
    before = [r for r in store.audit_log() if r["event"] == "console_viewed"]
    assert _get(console, f"/console/conversations/{console.conversation}").status_code == 200
    assert _get(console, "/console/audit?entity_type=CREDIT_CARD&handler=freeze").status_code == 200
    after = [r for r in store.audit_log() if r["event"] == "console_viewed"]
    new = after[len(before):]
    assert [r["reason"] for r in new] == ["conversation", "audit"]
    assert new[0]["conversation_id"] == console.conversation
    assert new[0]["detail"]["viewer"] == "reviewer"
    assert new[1]["detail"]["entity_type"] == "CREDIT_CARD" and new[1]["detail"]["handler"] == "freeze"
    text = str(after)
    assert console.served.keys["compliance"] not in text
    assert console.served.keys["compliance"][21:] not in text  # not even the secret part (sbk_<16 hex>_<secret>)


def test_conversation_view_is_the_transcript_destination_only(console: Console) -> None:
    r = _get(console, f"/console/conversations/{console.conversation}")
    stored = console.served.bot.store.transcript(console.conversation)
    user = [e["text"] for e in stored if e["kind"] == "user"]
    assert user and all(re.search(r"&lt;[A-Z_]+_\d+&gt;", t.replace("<", "&lt;").replace(">", "&gt;")) for t in user)
    for text in user:
        assert text.replace("<", "&lt;").replace(">", "&gt;") in r.text
    assert not console.leaks(r.text)


def test_audit_filters_select_only_matching_records(console: Console) -> None:
    r = _get(console, "/console/audit?entity_type=CREDIT_CARD")
    rows = re.findall(r"<tr><td class=\"num\">\d+</td>.*?</tr>", r.text)
    assert rows and all("<td>CREDIT_CARD</td>" in row for row in rows)
    r = _get(console, "/console/audit?handler=freeze")
    rows = re.findall(r"<tr><td class=\"num\">\d+</td>.*?</tr>", r.text)
    assert rows and all("<td>freeze</td>" in row and "revealed" in row for row in rows)
    r = _get(console, f"/console/audit?conversation={console.conversation}")
    assert r.text.count(f'href="/console/conversations/{console.conversation}"') >= 2


@pytest.mark.parametrize("query", ["entity_type=<script>", "handler=a b", "date=yesterday", "conversation=4111 1111", "event=nope"])
def test_bad_filters_are_422_without_echo(console: Console, query: str) -> None:
    r = _get(console, "/console/audit?" + query)
    assert r.status_code == 422
    value = query.split("=", 1)[1]
    assert value not in r.text and "<script>" not in r.text


def test_the_console_is_not_in_the_openapi_document(console: Console) -> None:
    doc = httpx.get(console.served.url + "/openapi.json").json()
    assert not [p for p in doc["paths"] if p.startswith("/console")]


def test_no_response_leaked_a_planted_value(console: Console) -> None:
    # runs last in this module (pytest keeps file order): every body seen so far, and the logs
    assert console.bodies
    for body in console.bodies:
        assert not console.leaks(body)
    assert not console.leaks("\n".join(console.served.logs.lines))
