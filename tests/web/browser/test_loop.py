"""The whole loop in a browser, the way new users would do it: the merchant publishes a group
buy, the leader shares it, a neighbour orders and pays on a phone, cut-off closes it, the goods
arrive, the counter hands them over once, and the merchant sees the stock alert."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from app.extensions import db
from app.models import Order, PickupCode, Window
from app.services.core import clock
from tests.support.browser import log_in, no_horizontal_scroll, run_job

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

SHANGHAI = ZoneInfo("Asia/Shanghai")
CUSTOMER_PHONE = "13812345678"


@pytest.fixture
def world(make_user, make_merchant, make_leader, make_point, make_product):
    owner = make_user("王老板", phone="13800000101")
    merchant = make_merchant("鲜果坊", owner=owner)
    leader = make_leader("阳光小区", user=make_user("李团长", phone="13800000102"))
    staff = make_user("陈店员", phone="13800000103")
    east = make_point(leader, name="阳光小区 东门", staff=[staff])
    north = make_point(leader, name="阳光小区 北区")
    scarce = make_product(merchant, name="丹东草莓", price_fen=3990, stock=5, threshold=3)
    plenty = make_product(merchant, name="鲜牛奶", price_fen=1590, stock=100, threshold=10)
    return {
        "owner": owner,
        "merchant": merchant,
        "leader": leader,
        "staff": staff,
        "east": east,
        "north": north,
        "scarce": scarce,
        "plenty": plenty,
    }


def _local_inputs() -> dict[str, str]:
    """Form values in the deployment's zone: open from this minute, cut-off two to three minutes on."""
    opens = datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    closes = opens + timedelta(minutes=3)
    return {
        "opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": closes.strftime("%Y-%m-%dT%H:%M"),
        "pickup_date": (closes.date() + timedelta(days=1)).isoformat(),
    }


def merchant_publishes(page, live_server, world) -> int:
    log_in(page, live_server, world["owner"].phone)
    expect(page.get_by_role("heading", name="鲜果坊")).to_be_visible()
    page.get_by_role("link", name="New group buy").first.click()

    times = _local_inputs()
    page.fill("#title", "周末水果团")
    page.fill("#opens_at", times["opens_at"])
    page.fill("#closes_at", times["closes_at"])
    page.fill("#pickup_date", times["pickup_date"])
    rows = page.get_by_test_id("item-row")
    for index, (product, price) in enumerate([(world["scarce"], "35.90"), (world["plenty"], "13.90")]):
        row = rows.nth(index)
        row.locator("select").select_option(str(product.id))
        row.locator(f"input[name='items-{index}-group_price']").fill(price)
    page.get_by_role("button", name="Save", exact=True).last.click()

    expect(page.get_by_text("Group buy saved as a draft.")).to_be_visible()
    expect(page.get_by_test_id("window-item")).to_have_count(2)
    window_id = int(re.search(r"/merchant/windows/(\d+)", page.url).group(1))

    page.get_by_role("button", name="Schedule").click()
    expect(page.get_by_text("Scheduled: it opens at its opening time.")).to_be_visible()
    page.get_by_role("button", name="Open now").click()
    expect(page.get_by_text("The group buy is open.")).to_be_visible()
    return window_id


def leader_shares(page, live_server, world, window_id: int) -> str:
    log_in(page, live_server, world["leader"].user.phone)
    row = page.get_by_test_id(f"window-{window_id}")
    expect(row).to_contain_text("周末水果团")
    row.get_by_role("link", name="Share").click()
    expect(page.get_by_role("heading", name='Share "周末水果团"')).to_be_visible()
    page.get_by_test_id("create-share-link").click()
    url = page.get_by_test_id("share-url").input_value()
    assert re.search(r"/s/[\w-]+$", url), url
    expect(page.locator("img.share-qr")).to_be_visible()
    # The page shows the deployment's public address; this test's server listens elsewhere.
    return urlsplit(url).path


def customer_orders_and_pays(page, live_server, world, share_path: str) -> str:
    page.goto(live_server.url + share_path)
    expect(page.get_by_test_id("window-title")).to_have_text("周末水果团")
    assert no_horizontal_scroll(page)
    expect(page.locator(".countdown")).to_contain_text(re.compile(r"Closes in 00:0[0-3]:\d\d"))

    # The stepper's + for one, the number box itself for the other: both are how people order.
    strawberries = page.locator("li.shop-item", has_text="丹东草莓")
    strawberries.locator("[data-step='1']").click()
    strawberries.locator("[data-step='1']").click()
    expect(strawberries.locator("input[type=number]")).to_have_value("2")
    page.locator("li.shop-item", has_text="鲜牛奶").locator("input[type=number]").fill("1")
    expect(page.locator("[data-cart-total]")).to_contain_text("85.70")  # the bar follows the steppers
    page.locator("label.point-card", has_text="阳光小区 东门").locator("input").check()
    page.fill("#customer_name", "张阿姨")
    page.fill("#customer_phone", CUSTOMER_PHONE)
    page.locator("input[name=payment_provider][value=simulator]").check()
    assert no_horizontal_scroll(page)
    page.get_by_role("button", name="Place order").click()

    expect(page.get_by_text("Payment simulator: no real money moves.")).to_be_visible()
    expect(page.get_by_test_id("amount")).to_contain_text("85.70")  # 2 × 35.90 + 13.90
    page.get_by_test_id("simulator-pay").click()

    expect(page.get_by_text("Payment received. Thank you!")).to_be_visible()
    expect(page.get_by_test_id("order-status")).to_have_text("Paid")
    expect(page.get_by_test_id("pickup-code")).to_have_count(0)
    assert no_horizontal_scroll(page)
    return page.url


def cut_off(app, live_server, window_id: int) -> None:
    """The cut-off passes (moved in the database, not slept through) and the scheduler's job runs."""
    past = clock.now() - timedelta(seconds=1)
    db.session.execute(update(Window).where(Window.id == window_id).values(closes_at=past))
    db.session.commit()
    output = run_job(app.config["SQLALCHEMY_DATABASE_URI"], live_server, "close-windows")
    assert output.endswith("close-windows: 1"), output


def customer_sees_code(page) -> str:
    page.reload()
    expect(page.get_by_test_id("order-status")).to_have_text("Confirmed")
    box = page.get_by_test_id("pickup-code")
    expect(box.locator(".big")).to_have_text(re.compile(r"^\d{4} \d{4}$"))
    qr = box.locator("img")
    expect(qr).to_be_visible()
    qr.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    return box.locator(".big").inner_text().replace(" ", "")


def leader_confirms_arrival(page) -> None:
    page.get_by_test_id("tab-me").click()
    page.get_by_test_id("me-batches").click()
    batch_row = page.locator("tr[data-testid^=batch-]", has_text="阳光小区 东门")
    expect(batch_row).to_contain_text("周末水果团")
    batch_row.get_by_role("link", name="Confirm arrival").click()
    expect(page.locator("tr[data-testid^=pick-]", has_text="丹东草莓")).to_contain_text("2")
    page.get_by_role("button", name="Confirm arrival").click()
    expect(page.get_by_text("Arrival confirmed. Customers are told their goods are ready.")).to_be_visible()
    expect(page.locator("h1 .status")).to_have_text("Arrived")


def staff_hands_over(page, live_server, world, code: str, order_number: str) -> None:
    log_in(page, live_server, world["staff"].phone)
    expect(page.get_by_role("heading", name="Pickup counter")).to_be_visible()
    assert no_horizontal_scroll(page)
    page.get_by_test_id("code-input").fill(code)
    page.get_by_test_id("code-input").press("Enter")

    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text(order_number)
    expect(preview).to_contain_text("138****5678")
    expect(preview).not_to_contain_text(CUSTOMER_PHONE)
    expect(preview).to_contain_text("丹东草莓")
    page.get_by_test_id("confirm").click()

    expect(page.get_by_test_id("result-ok")).to_contain_text("Handed over")
    expect(page.get_by_test_id("result-ok")).to_contain_text(order_number)

    page.get_by_test_id("code-input").fill(code)
    page.get_by_test_id("code-input").press("Enter")
    refused = page.get_by_test_id("result-bad")
    expect(refused).to_have_attribute("data-error-code", "already_redeemed")
    expect(refused).to_contain_text(re.compile(r"Already redeemed on \d{4}-\d\d-\d\d \d\d:\d\d by 陈店员"))


def merchant_sees_stock_alert(page, app, live_server) -> None:
    output = run_job(app.config["SQLALCHEMY_DATABASE_URI"], live_server, "deliver-outbox")
    assert re.search(r"deliver-outbox: [1-9]", output), output
    page.goto(live_server.url + "/merchant/")
    alert = page.get_by_test_id("stock-alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("丹东草莓")
    expect(page.get_by_test_id("count-alerts")).to_contain_text("1")
    expect(page.get_by_test_id("unread-count")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Alerts")).click()
    # Written in the reader's language: this merchant saved none, so the deployment's (zh).
    expect(page.locator("article.unread", has_text="丹东草莓")).to_contain_text("库存预警：丹东草莓")


def test_a_group_buy_goes_from_publishing_to_hand_over_in_the_browser(app, live_server, pages, world):
    merchant = pages.open(phone=False)
    window_id = merchant_publishes(merchant, live_server, world)

    leader = pages.open(phone=True)
    share_path = leader_shares(leader, live_server, world, window_id)

    customer = pages.open(phone=True)
    order_url = customer_orders_and_pays(customer, live_server, world, share_path)
    db.session.rollback()  # a new snapshot: the live server wrote meanwhile
    order = db.session.scalar(select(Order).where(Order.window_id == window_id))
    assert (order.status, order.customer_phone, order.pickup_point_id) == ("paid", CUSTOMER_PHONE, world["east"].id)
    order_id, order_number = order.id, order.number
    db.session.rollback()
    expect(customer.get_by_role("heading", name=f"Order {order_number}")).to_be_visible()

    cut_off(app, live_server, window_id)
    code = customer_sees_code(customer)
    db.session.rollback()
    assert db.session.scalar(select(PickupCode.code).where(PickupCode.order_id == order_id)) == code
    db.session.rollback()

    leader_confirms_arrival(leader)
    customer.goto(order_url)
    expect(customer.get_by_test_id("order-status")).to_have_text("Ready for pickup")

    staff = pages.open(phone=True)
    staff_hands_over(staff, live_server, world, code, order_number)
    customer.reload()
    expect(customer.get_by_test_id("order-status")).to_have_text("Completed")

    merchant_sees_stock_alert(merchant, app, live_server)
