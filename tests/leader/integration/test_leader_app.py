"""The leader's pages as an app (issue #16): a bottom tab bar with counts on every leader page
and at the counter, a Me tab for everything else, Orders opening on the first tab that has
orders, orders as cards with the phone's last four digits and a call button."""

import re

import pytest

from app.extensions import db
from app.models import PickupStaff
from tests.support.forms import csrf_from


@pytest.fixture
def shop(make_leader, make_point, make_product, make_window):
    leader = make_leader()
    point = make_point(leader)
    product = make_product(stock=1000)
    window = make_window(product.merchant, items=[{"product": product}], title="蔬菜团")
    return leader, point, window


def _tabbar(html: str) -> str:
    match = re.search(r'<nav class="ui-tabbar".*?</nav>', html, re.S)
    assert match, "no tab bar"
    return match.group(0)


def _current(html: str) -> str:
    return re.search(r'data-testid="tab-(\w+)" aria-current="page"', _tabbar(html)).group(1)


@pytest.mark.parametrize(
    ("path", "tab"),
    [
        ("/leader/", "today"),
        ("/leader/orders", "orders"),
        ("/leader/me", "me"),
        ("/leader/batches", "me"),
        ("/leader/exceptions", "me"),
        ("/leader/customers", "me"),
        ("/leader/points", "me"),
        ("/pickup/", "counter"),
    ],
)
def test_every_leader_page_has_the_tab_bar_with_its_tab_current(client, login, shop, path, tab):
    login(shop[0].user)
    response = client.get(path)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert [t for t in re.findall(r'data-testid="tab-(\w+)"', _tabbar(html))] == ["today", "orders", "counter", "me"]
    assert _current(html) == tab
    assert "has-tabbar" in html


def test_the_orders_tab_counts_the_bags_waiting_and_me_counts_alerts_and_requests(client, login, shop, make_order):
    leader, point, window = shop
    for _ in range(3):
        make_order(window, point, [(window.items[0], 1)], status="ready_for_pickup")
    make_order(window, point, [(window.items[0], 1)], status="paid")
    login(leader.user)
    bar = _tabbar(client.get("/leader/").get_data(as_text=True))
    orders = re.search(r'data-testid="tab-orders".*?</a>', bar, re.S).group(0)
    assert '<em class="ui-badge">3</em>' in orders
    assert "ui-badge" not in re.search(r'data-testid="tab-me".*?</a>', bar, re.S).group(0)


def test_staff_who_are_not_leaders_see_the_counter_without_the_leaders_tab_bar(client, login, shop, make_user):
    staff = make_user("店员")
    db.session.add(PickupStaff(pickup_point_id=shop[1].id, user_id=staff.id))
    db.session.commit()
    login(staff)
    html = client.get("/pickup/").get_data(as_text=True)
    assert 'class="ui-tabbar"' not in html and "has-tabbar" not in html


def test_the_me_tab_leads_to_everything_that_is_not_a_daily_tab(client, login, shop):
    login(shop[0].user)
    html = client.get("/leader/me").get_data(as_text=True)
    for path in ("/leader/batches", "/leader/exceptions", "/leader/pickup", "/leader/customers", "/leader/points"):
        assert f'href="{path}' in html, path
    assert 'data-testid="me-logout"' in html and shop[0].community_name in html


def test_me_is_for_leaders_only(client, login, make_user):
    login(make_user("路人"))
    assert client.get("/leader/me").status_code == 403


def test_orders_open_on_the_first_tab_that_has_orders(client, login, shop, make_order):
    leader, point, window = shop
    make_order(window, point, [(window.items[0], 1)], status="ready_for_pickup")
    make_order(window, point, [(window.items[0], 1)], status="completed")
    login(leader.user)
    html = client.get("/leader/orders").get_data(as_text=True)
    tabs = re.search(r'<nav class="ui-tabs".*?</nav>', html, re.S).group(0)
    assert re.search(r'data-testid="tab-ready_for_pickup" aria-current="page"', tabs)
    assert html.count('class="ui-card order-card"') == 1
    # Asked for by name, an empty tab stays empty and says what to do next.
    empty = client.get("/leader/orders?tab=paid").get_data(as_text=True)
    assert 'data-testid="orders-empty"' in empty and 'href="/leader/"' in empty


def test_with_no_orders_at_all_the_list_says_to_share_a_group_buy(client, login, shop):
    login(shop[0].user)
    html = client.get("/leader/orders").get_data(as_text=True)
    assert 'data-testid="orders-empty"' in html and "order-card" not in html


def test_an_order_card_shows_the_phones_last_four_digits_and_calls_through_the_audited_form(
    client, login, shop, make_order
):
    leader, point, window = shop
    order = make_order(
        window, point, [(window.items[0], 2)], status="ready_for_pickup", name="王大妈", phone="13511112222"
    )
    login(leader.user)
    html = client.get("/leader/orders").get_data(as_text=True)
    card = re.search(rf'data-testid="order-{order.id}".*?</article>', html, re.S).group(0)
    assert "135****<b>2222</b>" in card and "13511112222" not in html
    assert f'formaction="/leader/customers/call/{order.id}"' in card
    response = client.post(f"/leader/customers/call/{order.id}", data={"csrf_token": csrf_from(html)})
    assert response.status_code == 303 and response.headers["Location"] == "tel:13511112222"


def test_a_search_with_errors_opens_the_filter_sheet(client, login, shop):
    login(shop[0].user)
    response = client.get("/leader/orders?from=2026-13-45")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'<details class="ui-sheet" open data-testid="orders-filter"', html)
    closed = client.get("/leader/orders").get_data(as_text=True)
    assert re.search(r'<details class="ui-sheet" data-testid="orders-filter"', closed)
