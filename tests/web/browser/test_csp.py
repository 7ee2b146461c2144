"""The Content-Security-Policy breaks nothing: Chromium walks every page of the app, signed out
and as a user with every role, and no page logs a policy violation ("Refused to ..."). The
behaviours moved out of inline code still work: the shop's countdown ticks, the orders filter
submits on change, the error page's back link goes back, the leader's call button dials."""

from __future__ import annotations

import pytest
from flask import current_app
from playwright.sync_api import expect

from tests.support.batches import make_batch
from tests.support.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

# Parameter-less GET pages that change something or are not pages.
SKIPPED = {"auth.index", "auth.login", "static"}


def _violations(page) -> list[str]:
    found: list[str] = []
    page.context.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text or message.text.startswith("Refused to")
            else None
        ),
    )
    # Also what the page itself is told (a violation inside a worker or before load).
    page.context.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => console.error("
        "'Refused to ' + e.violatedDirective + ' ' + e.blockedURI + ' (Content Security Policy)'));"
    )
    return found


def _plain_pages() -> list[str]:
    """Every GET page without parameters, from the URL map (a new page is walked too)."""
    adapter = current_app.url_map.bind("localhost")
    urls = []
    for rule in current_app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.endpoint not in SKIPPED:
            if not rule.rule.startswith("/api/v1/") or rule.endpoint == "api.docs":
                urls.append(adapter.build(rule.endpoint))
    return sorted(set(urls))


@pytest.fixture
def everything(
    make_user, make_merchant, make_leader, make_point, make_product, make_window, make_order, make_share_link
):
    user = make_user("全能", phone="13800000901", is_admin=True)
    merchant = make_merchant("鲜果坊", owner=user)
    leader = make_leader("阳光小区", user=user)
    point = make_point(leader, name="阳光小区 东门", staff=[user])
    product = make_product(merchant, name="丹东草莓", price_fen=3990, stock=50)
    window = make_window(merchant, items=[{"product": product}], title="周末水果团")
    closed = make_window(merchant, items=[{"product": product}], title="牛奶团", status="closed")
    link = make_share_link(window, leader)
    batch = make_batch(closed, point, status="arrived")
    order = make_order(closed, point, [(closed.items[0], 1)], status="ready_for_pickup", batch=batch)
    waiting = make_order(window, point, [(window.items[0], 1)], status="pending_payment")
    return {
        "user": user,
        "pages": [
            f"/admin/merchants/{merchant.id}",
            f"/merchant/products/{product.id}/edit",
            f"/merchant/windows/{window.id}",
            f"/merchant/windows/{window.id}/edit",
            f"/merchant/windows/{window.id}/quotas",
            f"/merchant/windows/{closed.id}/documents",
            f"/merchant/batches/{batch.id}",
            f"/leader/batches/{batch.id}",
            f"/leader/orders/{order.id}",
            f"/leader/pickup/{point.id}",
            f"/leader/points/{point.id}",
            f"/leader/windows/{window.id}/share",
        ],
        "shop": [f"/s/{link.slug}", f"/o/{order.access_token}", f"/o/{waiting.access_token}"],
    }


def _walk(page, base: str, paths: list[str]) -> list[str]:
    """Open each path that answers with an HTML page; returns the paths opened."""
    opened = []
    for path in paths:
        probe = page.request.get(base + path)
        if probe.status != 200 or not probe.headers.get("content-type", "").startswith("text/html"):
            continue  # a download, an image or a refusal: no page to run
        page.goto(base + path)
        page.wait_for_load_state("load")
        opened.append(path)
    return opened


def test_no_page_logs_a_policy_violation(live_server, pages, everything):
    base = live_server.url
    visitor = pages.open(phone=True)
    refused = _violations(visitor)
    opened = _walk(visitor, base, ["/login", "/offline", "/api/v1/docs", "/no-such-page", *everything["shop"]])

    staff = pages.open(phone=False)
    refused += _violations(staff)
    log_in(staff, live_server, everything["user"].phone)
    opened += _walk(staff, base, _plain_pages() + everything["pages"])

    assert refused == []
    # The walk saw the app, not a login page: every area and the pages with ids.
    assert {"/admin/", "/merchant/", "/leader/", "/pickup/", "/pickup/scan", "/account/security"} <= set(opened)
    assert set(everything["pages"]) - set(opened) == set()


def test_behaviours_moved_out_of_inline_code_still_work(live_server, pages, everything):
    base = live_server.url
    visitor = pages.open(phone=True)
    refused = _violations(visitor)
    visitor.goto(base + everything["shop"][0])
    countdown = visitor.locator("[data-closes-at]")
    first = countdown.text_content()
    expect(countdown).not_to_have_text(first)  # it ticks

    visitor.goto(base + "/login")
    visitor.goto(base + "/no-such-page")
    visitor.get_by_role("link", name="Go back").click()
    visitor.wait_for_url(base + "/login")

    leader = pages.open(phone=True)
    refused += _violations(leader)
    log_in(leader, live_server, everything["user"].phone)
    leader.goto(base + "/leader/orders")
    leader.get_by_test_id("orders-filter").locator("summary").click()  # the filters' sheet
    leader.select_option("#window_id", label="周末水果团")
    leader.wait_for_url(lambda url: "window_id=" in url)
    # The call button posts a form answered by a redirect to tel: (form-action allows it).
    leader.goto(base + "/leader/customers")
    with leader.expect_response(lambda r: "/leader/customers/call/" in r.url) as call:
        leader.get_by_role("button", name="Call").first.click()
    assert call.value.status == 303 and call.value.headers["location"].startswith("tel:")
    assert refused == []
