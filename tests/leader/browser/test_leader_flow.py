"""A leader's morning on a phone (390×844, English UI): Today shows what needs doing, the orders
list is searched and filtered, a cash order is marked paid in bulk, a delivery's arrival is
confirmed, and the bags now waiting are reminded from the orders list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Order
from tests.support.batches import make_batch
from tests.support.browser import log_in, no_horizontal_scroll

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]


@pytest.fixture
def morning(make_user, make_merchant, make_leader, make_point, make_product, make_window, make_order):
    leader = make_leader("阳光小区", user=make_user("李团长", phone="13800000202"))
    point = make_point(leader, name="阳光小区 东门")
    merchant = make_merchant("鲜果坊")
    fruit = make_product(merchant, name="丹东草莓", price_fen=3990, stock=50)
    milk = make_product(merchant, name="鲜牛奶", price_fen=1590, stock=50)
    selling = make_window(merchant, items=[{"product": fruit}], title="周末水果团")
    delivered = make_window(merchant, items=[{"product": milk}], title="牛奶团", status="closed")
    cash = make_order(
        selling, point, [(selling.items[0], 2)], status="pending_payment", provider="offline", name="赵阿姨"
    )
    make_order(selling, point, [(selling.items[0], 1)], status="pending_payment", provider="offline", name="钱大爷")
    make_order(selling, point, [(selling.items[0], 1)], status="paid", name="孙阿姨")
    batch = make_batch(delivered, point, status="dispatched")
    coming = [
        make_order(delivered, point, [(delivered.items[0], 1)], status="confirmed", batch=batch, name=n)
        for n in ("周先生", "吴女士")
    ]
    return {"leader": leader, "selling": selling, "cash": cash, "batch": batch, "coming": coming}


def test_today_orders_filter_bulk_mark_paid_confirm_arrival_and_remind(live_server, pages, morning):
    page = pages.open(phone=True)
    log_in(page, live_server, morning["leader"].user.phone)

    # Today: the open window with its sales so far, and the delivery on its way.
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(page.get_by_test_id(f"sales-{morning['selling'].id}")).to_contain_text("1 order")
    expect(page.locator(".countdown").first).to_have_text(re.compile(r"\d\d:\d\d:\d\d"))
    assert no_horizontal_scroll(page)

    # Orders: search the customer, then the awaiting-payment tab keeps the search.
    page.get_by_test_id("tab-orders").click()
    page.get_by_text("Search and filter").click()  # the search sits behind one button
    page.fill("#order-q", "赵阿姨")
    page.get_by_role("button", name="Search").click()
    page.get_by_test_id("tab-pending_payment").click()
    expect(page.get_by_test_id("tab-pending_payment")).to_contain_text("1")
    row = page.get_by_test_id(f"order-{morning['cash'].id}")
    expect(row).to_contain_text("赵阿姨")
    expect(page.locator("article[data-testid^=order-]")).to_have_count(1)
    assert no_horizontal_scroll(page)

    # Bulk: mark the cash order paid.
    row.locator("input[name=order_ids]").check()
    page.get_by_test_id("bulk-mark-paid").click()
    expect(page.get_by_text("Marked 1 order(s) paid; 0 skipped")).to_be_visible()
    db.session.rollback()
    assert db.session.scalar(select(Order.status).where(Order.id == morning["cash"].id)) == "paid"
    db.session.rollback()

    # Today → the delivery → confirm it arrived.
    page.get_by_test_id("tab-today").click()
    page.get_by_role("link", name=re.compile("牛奶团")).click()
    page.get_by_role("button", name="Confirm arrival").click()
    expect(page.get_by_text("Arrival confirmed. Customers are told their goods are ready.")).to_be_visible()
    db.session.rollback()
    statuses = set(db.session.scalars(select(Order.status).where(Order.batch_id == morning["batch"].id)))
    assert statuses == {"ready_for_pickup"}
    db.session.rollback()

    # The bags now wait: select them all and remind, one message for the point.
    page.goto(live_server.url + "/leader/orders?tab=ready_for_pickup")
    expect(page.locator("article[data-testid^=order-]")).to_have_count(2)
    page.locator("input[data-select-all]").check()
    expect(page.locator("input[name=order_ids]:checked")).to_have_count(2)
    page.get_by_test_id("bulk-remind").click()
    message = page.get_by_test_id("reminder-text")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("阳光小区 东门")
    expect(message).to_contain_text("周*")
    assert no_horizontal_scroll(page)
    db.session.rollback()
    reminded = db.session.scalars(select(Order.reminded_at).where(Order.batch_id == morning["batch"].id)).all()
    assert all(reminded) and len(reminded) == 2
    db.session.rollback()
