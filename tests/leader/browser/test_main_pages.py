"""Every main page of the leader's app, the counter and the customer's shop, at 390×844 and
1280×800, in Chinese (the default) and English, keeps the layout rules of tests/support/layout.py;
the leader's first screen on a phone shows the tab bar and at least three cards or tiles. A
screenshot of each is written to test-results/screenshots/ (git-ignored) for people to look at."""

from __future__ import annotations

import pytest

from tests.support.browser import log_in
from tests.support.layout import DESKTOP, PHONE, problems, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

LEADER_PAGES = {
    "leader-today": "/leader/",
    "leader-orders": "/leader/orders",
    "leader-orders-waiting": "/leader/orders?tab=ready_for_pickup",
    "leader-order": "/leader/orders/{order}",
    "leader-me": "/leader/me",
    "leader-deliveries": "/leader/batches",
    "leader-exceptions": "/leader/exceptions",
    "leader-customers": "/leader/customers",
    "leader-points": "/leader/points",
    "leader-overview": "/leader/pickup",
    "counter": "/pickup/",
    "notifications": "/account/notifications",
    "channels": "/account/channels",
    "scanner": "/pickup/scan",
}
SHOP_PAGES = {"shop": "/s/{slug}", "shop-order": "/o/{token}"}
FIRST_SCREEN = """() => {
  const inView = (el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; };
  const bar = document.querySelector('.ui-tabbar');
  const cards = [...document.querySelectorAll('.ui-card, .ui-tile')].filter(inView).length;
  return {tabbar: !!bar && inView(bar), cards};
}"""


@pytest.fixture
def community(make_point, make_leader, make_product, make_window, make_order, make_share_link, make_user):
    leader = make_leader("阳光小区")
    point = make_point(leader, staff=())
    product = make_product(name="丹东草莓", stock=100)
    window = make_window(product.merchant, items=[{"product": product}], title="周末水果团")
    orders = [
        make_order(window, point, [(window.items[0], 1)], status=status, name=name, provider="offline")
        for status, name in (("pending_payment", "赵阿姨"), ("paid", "钱大爷"), ("ready_for_pickup", "孙阿姨"))
    ]
    link = make_share_link(window, leader)
    return {"leader": leader, "order": orders[-1], "link": link}


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_main_pages_keep_the_layout_rules_on_a_phone_and_a_desktop(live_server, pages, community, lang, size):
    page = pages.open(phone=size == "phone")
    page.set_viewport_size(PHONE if size == "phone" else DESKTOP)
    page.context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
    log_in(page, live_server, community["leader"].user.phone)
    found = {}
    for name, path in LEADER_PAGES.items():
        page.goto(live_server.url + path.format(order=community["order"].id))
        page.wait_for_load_state("load")
        screenshot(page, f"{name}-{lang}-{size}")
        if broken := problems(page):
            found[path] = broken
        if name == "leader-today" and size == "phone":
            first = page.evaluate(FIRST_SCREEN)
            if not first["tabbar"] or first["cards"] < 3:
                found["first screen"] = first
    order = community["order"]  # waiting at the point: the page shows its code and QR
    customer = pages.open(phone=size == "phone")
    customer.set_viewport_size(PHONE if size == "phone" else DESKTOP)
    customer.context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
    for name, path in SHOP_PAGES.items():
        customer.goto(live_server.url + path.format(slug=community["link"].slug, token=order.access_token))
        customer.wait_for_load_state("load")
        screenshot(customer, f"{name}-{lang}-{size}")
        if broken := problems(customer):
            found[path] = broken
    assert found == {}


MERCHANT_PAGES = {
    "merchant-home": "/merchant/",
    "merchant-products": "/merchant/products",
    "merchant-windows": "/merchant/windows",
    "merchant-deliveries": "/merchant/batches",
    "merchant-after-sales": "/merchant/after-sales",
    "merchant-refunds": "/merchant/finance/refunds",
    "merchant-reports": "/merchant/reports",
}


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_merchants_main_pages_keep_the_layout_rules(live_server, pages, community, signed_in_merchant, lang, size):
    page = pages.open(phone=size == "phone")
    page.set_viewport_size(PHONE if size == "phone" else DESKTOP)
    page.context.add_cookies([{"name": "lang", "value": lang, "url": live_server.url}])
    log_in(page, live_server, signed_in_merchant.phone)
    found = {}
    for name, path in MERCHANT_PAGES.items():
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        screenshot(page, f"{name}-{lang}-{size}")
        if broken := problems(page):
            found[path] = broken
    assert found == {}


@pytest.fixture
def signed_in_merchant(community):
    """The owner of the merchant selling the community's group buy."""
    return community["link"].window.merchant.members[0].user
