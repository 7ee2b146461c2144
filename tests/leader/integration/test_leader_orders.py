import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order
from app.services.accounts import tokens
from tests.support.forms import csrf_from


@pytest.fixture
def shop(make_leader, make_point, make_product, make_window):
    leader = make_leader()
    point = make_point(leader)
    product = make_product(stock=1000)
    window = make_window(product.merchant, items=[{"product": product}], title="蔬菜团")
    return leader, point, window


def test_orders_are_listed_by_status_tab_with_masked_phones(client, login, shop, make_order):
    leader, point, window = shop
    paid = make_order(window, point, [(window.items[0], 2)], status="paid", name="王大妈", phone="13511112222")
    make_order(window, point, [(window.items[0], 1)], status="cancelled", name="赵大爷")
    login(leader.user)
    html = client.get("/leader/orders?tab=paid").get_data(as_text=True)
    assert paid.number in html and "王大妈" in html and "135****2222" in html and "13511112222" not in html
    assert "赵大爷" not in html
    assert "赵大爷" in client.get("/leader/orders?tab=closed").get_data(as_text=True)
    assert client.get("/leader/orders?tab=nonsense&page=abc&window_id=x").status_code == 200


def test_orders_filter_by_window(client, login, shop, make_order, make_window, make_product):
    leader, point, window = shop
    other_product = make_product()
    other = make_window(other_product.merchant, items=[{"product": other_product}])
    mine = make_order(window, point, [(window.items[0], 1)])
    theirs = make_order(other, point, [(other.items[0], 1)])
    login(leader.user)
    html = client.get(f"/leader/orders?tab=paid&window_id={window.id}").get_data(as_text=True)
    assert mine.number in html and theirs.number not in html


def test_orders_paginate_by_fifty(client, login, shop, make_order):
    leader, point, window = shop
    for _ in range(51):
        make_order(window, point, [(window.items[0], 1)])
    login(leader.user)
    first = client.get("/leader/orders?tab=paid").get_data(as_text=True)
    assert first.count('data-testid="order-') == 50 and 'rel="next"' in first
    second = client.get("/leader/orders?tab=paid&page=2").get_data(as_text=True)
    assert second.count('data-testid="order-') == 1


def test_order_detail_shows_lines_and_history(client, login, shop, make_order):
    leader, point, window = shop
    order = make_order(window, point, [(window.items[0], 3)], status="paid")
    login(leader.user)
    html = client.get(f"/leader/orders/{order.id}").get_data(as_text=True)
    assert order.number in html and window.items[0].product.name in html and 'data-testid="event-' in html


def test_another_leaders_order_is_404(client, login, shop, make_order, make_leader):
    _leader, point, window = shop
    order = make_order(window, point, [(window.items[0], 1)])
    login(make_leader().user)
    assert client.get(f"/leader/orders/{order.id}").status_code == 404
    assert order.number not in client.get("/leader/orders?tab=paid").get_data(as_text=True)


def test_bulk_mark_paid_offline(client, login, shop, make_order):
    leader, point, window = shop
    cash = make_order(window, point, [(window.items[0], 1)], status="pending_payment", provider="offline")
    online = make_order(window, point, [(window.items[0], 1)], status="pending_payment", provider="simulator")
    done = make_order(window, point, [(window.items[0], 1)], status="paid", provider="offline")
    login(leader.user)
    html = client.get("/leader/orders?tab=pending_payment").get_data(as_text=True)
    assert f'name="order_ids" value="{cash.id}"' in html and f'value="{online.id}"' not in html
    response = client.post(
        "/leader/orders/mark-paid?tab=pending_payment",
        data={
            "order_ids": [str(cash.id), str(done.id)],
            "csrf_token": csrf_from(html),
        },
    )
    assert response.status_code == 302
    statuses = dict(db.session.execute(select(Order.id, Order.status).execution_options(populate_existing=True)).all())
    assert statuses == {cash.id: "paid", online.id: "pending_payment", done.id: "paid"}


def test_bulk_mark_paid_with_bad_ids_changes_nothing(client, login, shop, make_order):
    leader, point, window = shop
    cash = make_order(window, point, [(window.items[0], 1)], status="pending_payment", provider="offline")
    login(leader.user)
    token = csrf_from(client.get("/leader/orders").get_data(as_text=True))
    for data in ({}, {"order_ids": ["1; DROP TABLE orders"]}, {"order_ids": ["-1"]}):
        response = client.post("/leader/orders/mark-paid", data={**data, "csrf_token": token})
        assert response.status_code == 302
    assert db.session.get(Order, cash.id, populate_existing=True).status == "pending_payment"


def test_api_lists_the_leaders_orders(client, shop, make_order, make_leader):
    leader, point, window = shop
    order = make_order(window, point, [(window.items[0], 2)], phone="13511112222")
    _token, plain = tokens.create_token(leader.user, "pwa")
    auth = {"Authorization": f"Bearer {plain}"}
    body = client.get(f"/api/v1/leader/orders?window_id={window.id}&status=paid", headers=auth).get_json()
    assert [o["number"] for o in body["orders"]] == [order.number]
    assert body["orders"][0]["customer_phone"] == "135****2222"
    assert client.get("/api/v1/leader/orders?status=bogus", headers=auth).status_code == 422
    _token, outsider = tokens.create_token(make_leader().user, "pwa")
    assert client.get("/api/v1/leader/orders", headers={"Authorization": f"Bearer {outsider}"}).get_json()["total"] == 0
