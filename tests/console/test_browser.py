"""The console in a real browser: Debian's chromium, driven by Playwright.

Every page is loaded the way a reviewer would (signing in with the form, by keyboard), and
must load with no console message, no page error and no request that fails or leaves the
server; charts must draw; the audit filter must filter; a loosening policy change must be
visible in its own style; a customer's key must be refused. The page texts and the console
log are scanned for the PII planted in the conversations. With SAFEBOT_SCREENSHOTS=docs the
screenshots of docs/compliance.md are written there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import SCREENSHOTS, Console

pytestmark = pytest.mark.slow  # a browser and a server: about half a minute on a busy machine


@dataclass
class Watch:
    """Everything a page said or asked for while a test used it."""

    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def clean(self) -> bool:
        return not (self.console or self.errors or self.failed)


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, Watch]]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    watch = Watch()
    pg.on("console", lambda m: watch.console.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: watch.errors.append(str(e)))
    pg.on("requestfailed", lambda r: watch.failed.append(r.url))
    pg.on("request", lambda r: watch.requests.append(r.url))
    try:
        yield pg, watch
    finally:
        context.close()


def _shot(pg: Any, name: str) -> None:
    if SCREENSHOTS:
        pg.screenshot(path=str(Path(SCREENSHOTS) / f"console-{name}.png"), full_page=False)


def _sign_in(pg: Any, console: Console, key: str = "compliance") -> Any:
    pg.goto(console.served.url + "/console")
    assert pg.url.endswith("/console/login")
    pg.keyboard.press("Tab")  # the first stop is the skip link
    assert pg.evaluate("document.activeElement.textContent") == "Skip to content"
    pg.focus("#key")
    pg.keyboard.type(console.served.keys[key])
    with pg.expect_navigation(), pg.expect_response(
        lambda r: r.url.endswith("/console/login") and r.request.method == "POST"
    ) as resp:
        pg.keyboard.press("Enter")
    pg.wait_for_load_state()
    return resp.value


def _no_leaks(console: Console, pg: Any, watch: Watch) -> None:
    text = pg.content()
    assert not console.leaks(text)
    assert not console.leaks("\n".join(watch.console + watch.errors))


def test_every_page_loads_clean_and_charts_render(console: Console, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    resp = _sign_in(pg, console)
    assert resp.status == 303
    assert pg.url.endswith("/console/report")
    charts = pg.locator("svg.chart")
    assert charts.count() >= 3
    first = charts.first.bounding_box()
    assert first is not None and first["width"] > 300 and first["height"] > 80
    assert pg.locator("svg.chart").first.locator("rect").count() > 1  # columns were drawn
    assert "Findings per entity type per day" in pg.locator("svg.chart > title").all_text_contents()
    totals = pg.locator("ul.stats li b").all_text_contents()
    assert int(totals[1].replace(",", "")) >= 10  # turns: the planted conversations are counted
    _shot(pg, "report")
    for path, heading in (("/console/policy", "Redaction policy: retail-bank"), ("/console/audit", "Audit trail"),
                          ("/console/policy/diff", "Policy change")):
        pg.goto(console.served.url + path)
        assert pg.locator("h1").first.text_content().startswith(heading)
        _no_leaks(console, pg, watch)
        _shot(pg, path.rsplit("/", 1)[1])
    pg.goto(console.served.url + "/console/policy#entity-CREDIT_CARD")
    example = pg.locator("#entity-CREDIT_CARD ~ table").first
    assert "****1111" in example.text_content()  # the worked example, through the real redactor
    pg.locator("#entity-CREDIT_CARD").scroll_into_view_if_needed()
    _shot(pg, "policy-entity")
    assert watch.clean(), (watch.console, watch.errors, watch.failed)
    assert all(u.startswith(console.served.url) for u in watch.requests), watch.requests


def test_audit_filter_and_conversation_view(console: Console, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    _sign_in(pg, console)
    pg.goto(console.served.url + "/console/audit")
    pg.select_option("#f-entity", "CREDIT_CARD")
    pg.click("button[type=submit]:has-text('Filter')")
    pg.wait_for_load_state()
    assert "entity_type=CREDIT_CARD" in pg.url
    cells = pg.locator("#audit-table tbody tr td:nth-child(4)").all_text_contents()
    assert cells and set(cells) == {"CREDIT_CARD"}
    _shot(pg, "audit-filtered")
    pg.select_option("#f-handler", "freeze")
    pg.select_option("#f-entity", "")
    pg.click("button[type=submit]:has-text('Filter')")
    handlers = pg.locator("#audit-table tbody tr td:nth-child(9)").all_text_contents()
    assert handlers and set(handlers) == {"freeze"}
    pg.locator("#audit-table tbody tr td:nth-child(11) a").first.click()
    pg.wait_for_load_state()
    assert "/console/conversations/c-" in pg.url
    rows = pg.locator("#transcript tbody tr")
    assert rows.count() >= 2
    assert "<CREDIT_CARD_1>" in pg.locator("#transcript").text_content()
    _shot(pg, "conversation")
    _no_leaks(console, pg, watch)
    assert watch.clean(), (watch.console, watch.errors, watch.failed)


def test_a_loosening_change_is_visible_first(console: Console, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    policy = console.served.bot_dir / "policy.yaml"
    original = policy.read_text()
    loosened = (original.replace("  ABA_ROUTING_NUMBER: {}\n", "")
                .replace("      customer: mask:2\n", "      customer: mask:4\n")
                .replace('  - "help@examplebank.com"\n', '  - "help@examplebank.com"\n  - "EXAMPLEBANK"\n')
                .replace("  US_ITIN:\n", "  US_ITIN:\n    threshold: 0.9\n"))
    assert loosened != original
    policy.write_text(loosened)
    try:
        _sign_in(pg, console)
        pg.goto(console.served.url + "/console/policy/diff")
        assert pg.locator(".alert[role=alert]").is_visible()
        assert "4 changes loosen protection" in pg.locator(".alert").text_content()
        items = pg.locator("li.change")
        assert items.count() >= 4
        classes = [items.nth(i).get_attribute("class") for i in range(items.count())]
        assert classes[:4] == ["change loosens"] * 4  # loosening first
        first = items.first
        assert first.is_visible() and first.locator(".badge").text_content() == "Loosens"
        style = first.evaluate("e => getComputedStyle(e).borderLeftColor")
        other = pg.locator("li.change.tightens, li.change.review")
        if other.count():
            assert other.first.evaluate("e => getComputedStyle(e).borderLeftColor") != style
        assert any("ABA_ROUTING_NUMBER is no longer detected" in t for t in items.all_text_contents())
        _shot(pg, "diff")
        assert watch.clean(), (watch.console, watch.errors, watch.failed)
    finally:
        policy.write_text(original)


def test_a_customer_key_is_refused(console: Console, page: tuple[Any, Watch]) -> None:
    pg, watch = page
    resp = _sign_in(pg, console, "alice")
    assert resp.status == 403
    assert pg.url.endswith("/console/login")
    assert "does not have the compliance role" in pg.locator("[role=alert]").text_content()
    assert not pg.context.cookies()
    _shot(pg, "refused")
    direct = pg.request.get(console.served.url + "/console/audit",
                            headers={"Authorization": f"Bearer {console.served.keys['alice']}"}, max_redirects=0)
    assert direct.status == 403
    # the one message: chromium logs the refused sign-in's 403 itself
    assert [m for m in watch.console if "status of 403" not in m] == [] and len(watch.console) == 1
    assert not watch.errors and not watch.failed


def test_print_stylesheet_hides_the_navigation(console: Console, page: tuple[Any, Watch]) -> None:
    pg, _ = page
    _sign_in(pg, console)
    assert pg.locator("header.site nav").is_visible()
    pg.emulate_media(media="print")
    assert not pg.locator("header.site nav").is_visible()
    assert not pg.locator("form.filters").first.is_visible()
    assert pg.locator("svg.chart").first.is_visible()
    assert len(pg.pdf()) > 10_000  # the report prints (chromium's own PDF)


def test_static_pages_work_offline(console: Console, page: tuple[Any, Watch], tmp_path: Path) -> None:
    """The files `safebot policy explain/diff --format html` and `safebot report` write: opened
    from disk, they fetch nothing and log nothing."""
    from safebot.console.activity import Period, collect
    from safebot.console.examples import worked_examples
    from safebot.console.pages import diff_page, explain_page, report_page
    from safebot.redaction.policy import policy_from_dict

    pg, watch = page
    bot = console.served.bot
    policy = bot.redactor.policy
    looser = policy_from_dict({**policy.model_dump(mode="json", exclude={"entities"}),
                               "entities": {k: v.model_dump(mode="json") for k, v in policy.entities.items() if k != "CVV"}})
    files = {
        "explain": explain_page(policy, worked_examples(policy, bot.redactor.detector)),
        "diff": diff_page(policy, looser),
        "report": report_page(collect(bot.store, Period()), bot_name=bot.config.name),
    }
    for name, html in files.items():
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        pg.goto(path.as_uri())
        assert pg.locator("h1").count() == 1
        if name == "diff":  # CVV removed: a loosening, in its own style
            assert pg.locator("li.change.loosens").first.is_visible()
        if name == "report":
            assert pg.locator("svg.chart rect").count() > 0
        _no_leaks(console, pg, watch)
    assert watch.clean(), (watch.console, watch.errors, watch.failed)
    assert all(u.startswith("file://") for u in watch.requests), watch.requests
