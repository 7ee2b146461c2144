"""Searching the leader's orders by customer, phone tail, order number and order day; bad
filters get a clear message beside their field and change nothing."""

import re
from datetime import UTC, datetime

import pytest

from app.extensions import db


@pytest.fixture
def orders(make_leader, make_point, make_product, make_window, make_order):
    leader = make_leader("阳光小区")
    point = make_point(leader)
    window = make_window(items=[{"product": make_product(stock=100), "price_fen": 500}])
    item = window.items[0]
    wang = make_order(window, point, [(item, 1)], phone="13812345678", name="王阿姨")
    li = make_order(window, point, [(item, 1)], phone="13900001111", name="李叔")
    # Order days in Asia/Shanghai: 12-01 08:30 and 11-28 09:00 local.
    wang.created_at = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    li.created_at = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    other = make_order(window, make_point(make_leader("翠湖花园")), [(item, 1)], name="王先生")
    db.session.commit()
    return leader, wang, li, other


def _page(client, **query):
    response = client.get("/leader/orders", query_string={"tab": "paid", **query})
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "finds"),
    [
        ({"q": "王"}, {"王阿姨"}),
        ({"q": "5678"}, {"王阿姨"}),
        ({"q": "1111"}, {"李叔"}),
        ({"from": "2026-12-01"}, {"王阿姨"}),
        ({"to": "2026-11-30"}, {"李叔"}),
        ({"from": "2026-11-28", "to": "2026-12-01"}, {"王阿姨", "李叔"}),
        ({"q": "王", "to": "2026-11-30"}, set()),
    ],
)
def test_search_and_day_range_narrow_the_list_and_the_tab_counts(app, client, login, orders, query, finds):
    leader, wang, li, other = orders
    login(leader.user)
    status, page = _page(client, **query)
    assert status == 200
    assert {name for name in ("王阿姨", "李叔") if name in page} == finds
    assert "王先生" not in page  # another leader's order never shows
    assert re.search(rf'data-testid="tab-paid"[^>]*>Paid <span>{len(finds)}</span>', page)


def test_the_order_number_finds_its_order(app, client, login, orders):
    leader, wang, _li, _other = orders
    login(leader.user)
    status, page = _page(client, q=wang.number.lower())
    assert status == 200 and "王阿姨" in page and "李叔" not in page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-13-01"}, "Enter a date like 2026-12-01."),
        ({"to": "yesterday"}, "Enter a date like 2026-12-01."),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "The end date is before the start date."),
        ({"q": "王" * 41}, "Search with at most 40 printable characters."),
        ({"q": "王\x00"}, "Search with at most 40 printable characters."),
    ],
)
def test_bad_filters_are_explained_and_not_applied(app, client, login, orders, query, field):
    leader = orders[0]
    login(leader.user)
    status, page = _page(client, **query)
    assert status == 422
    assert field in page
    assert "王阿姨" in page and "李叔" in page  # the list is shown unfiltered


@pytest.mark.parametrize("q", ["%", "_", "' OR '1'='1"])
def test_wildcards_and_quotes_are_searched_literally(app, client, login, orders, q):
    login(orders[0].user)
    status, page = _page(client, q=q)
    assert status == 200 and "王阿姨" not in page and "李叔" not in page
