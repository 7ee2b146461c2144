"""A merchant opens the sales dashboard in Chromium and sees the charts drawn: a bar per day sized by
GMV, the orders line through every day, the product ranking bars; then switches to 30 days and
downloads an export. A screenshot is written to test-results/screenshots/ for a person to look at."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.services.core import clock
from app.services.reports import sales_rollup
from tests.support import sales
from tests.support.browser import log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

SHOTS = Path(__file__).resolve().parents[3] / "test-results" / "screenshots"
BARS = """(name) => [...document.querySelectorAll(`svg[data-chart="${name}"] rect.bar`)]
  .map((r) => ({day: r.dataset.day || null, fen: Number(r.dataset.fen || 0), h: r.getBoundingClientRect().height,
                w: r.getBoundingClientRect().width}))"""


@pytest.fixture
def week(make_user, make_merchant, make_product, make_window, make_leader, make_point, make_order):
    """Sales on three of the last seven days (the live server's real today), folded by the rollup."""
    owner = make_user("王店长", phone="13800000301")
    merchant = make_merchant("鲜果坊", owner=owner)
    shop = sales.build(make_merchant, make_product, make_window, make_leader, make_point, merchant=merchant)
    now = clock.now()
    sales.sell(shop, make_order, at=now - timedelta(days=5), lines=[(0, 1)])
    sales.sell(shop, make_order, at=now - timedelta(days=2), lines=[(0, 3), (1, 1)], point=1)
    sales.sell(shop, make_order, at=now - timedelta(minutes=5), lines=[(1, 2)])
    sales_rollup.roll_up_sales()
    return {"owner": owner, "shop": shop}


def test_dashboard_draws_the_trend_and_ranking_charts(live_server, pages, week):
    page = pages.open(phone=False)
    log_in(page, live_server, week["owner"].phone)
    page.goto(live_server.url + "/merchant/reports?range=7d")
    expect(page.get_by_role("heading", name="Sales reports")).to_be_visible()
    expect(page.get_by_test_id("figure-orders")).to_contain_text("3")

    bars = page.evaluate(BARS, "trend")
    assert len(bars) == 7
    sold = [b for b in bars if b["fen"] > 0]
    assert len(sold) == 3
    assert all(b["h"] > 0 and b["w"] > 0 for b in sold)
    assert all(b["h"] == 0 for b in bars if b["fen"] == 0)
    tallest = max(sold, key=lambda b: b["fen"])
    assert tallest["h"] == max(b["h"] for b in bars)  # the drawn heights follow the money
    dots = page.locator('svg[data-chart="trend"] circle.dot')
    expect(dots).to_have_count(7)
    line = page.locator('svg[data-chart="trend"] polyline.line')
    assert len(line.get_attribute("points").split()) == 7
    assert line.bounding_box()["width"] > 300

    products = page.evaluate(BARS, "products")
    assert len(products) == 2
    assert products[0]["w"] > products[1]["w"] > 0  # best seller first and longest

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "merchant-reports.png"), full_page=True)

    page.get_by_test_id("range-30d").click()
    expect(page.get_by_test_id("range-30d")).to_have_class("button primary")
    assert len(page.evaluate(BARS, "trend")) == 30
    with page.expect_download() as download:
        page.get_by_test_id("export-trend").click()
    assert download.value.suggested_filename.startswith("sales-trend-")


def test_dashboard_fits_a_phone(live_server, pages, week):
    page = pages.open(phone=True)
    log_in(page, live_server, week["owner"].phone)
    page.goto(live_server.url + "/merchant/reports")
    expect(page.locator('svg[data-chart="trend"]')).to_be_visible()
    assert no_horizontal_scroll(page)
    page.goto(live_server.url + "/merchant/reports?range=custom&start=2026-11-30&end=2026-11-01")
    expect(page.get_by_test_id("range-error")).to_contain_text("The end must not be before the start.")
