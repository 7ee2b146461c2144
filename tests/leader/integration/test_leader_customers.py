"""The leader's customers: one row per phone that bought through them, masked, searchable, and
a tap-to-call that reveals the number only for the call, audited and scoped to the leader."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditRecord
from tests.support.forms import csrf_from


@pytest.fixture
def shop(make_leader, make_point, make_product, make_window):
    leader = make_leader("阳光小区")
    point = make_point(leader)
    window = make_window(items=[{"product": make_product(stock=1000), "price_fen": 500}])
    return leader, point, window, window.items[0]


def test_customers_are_grouped_by_phone_with_counts_spend_and_masked_numbers(
    app, client, login, shop, make_order, make_leader, make_point
):
    leader, point, window, item = shop
    make_order(window, point, [(item, 2)], phone="13812345678", name="王阿姨")
    make_order(window, point, [(item, 1)], phone="13812345678", name="王阿姨", status="completed")
    make_order(window, point, [(item, 1)], phone="13900001111", name="李叔")
    make_order(window, point, [(item, 1)], phone="13700002222", name="未付款", status="pending_payment")
    other = make_point(make_leader("翠湖花园"))
    make_order(window, other, [(item, 1)], phone="13600003333", name="别人的团员")
    login(leader.user)
    page = client.get("/leader/customers").get_data(as_text=True)
    assert "2 customers" in page
    assert "王阿姨" in page and "138****5678" in page and "13812345678" not in page
    assert "2 orders" in page and "¥15.00" in page  # 2×5 + 1×5
    assert "李叔" in page
    assert "未付款" not in page and "别人的团员" not in page


@pytest.mark.parametrize(("query", "shown", "hidden"), [("王", "王阿姨", "李叔"), ("1111", "李叔", "王阿姨")])
def test_search_finds_by_name_or_phone_tail(app, client, login, shop, make_order, query, shown, hidden):
    leader, point, window, item = shop
    make_order(window, point, [(item, 1)], phone="13812345678", name="王阿姨")
    make_order(window, point, [(item, 1)], phone="13900001111", name="李叔")
    login(leader.user)
    page = client.get("/leader/customers", query_string={"q": query}).get_data(as_text=True)
    assert shown in page and hidden not in page


@pytest.mark.parametrize("query", ["%", "_", "' OR 1=1 --", "x" * 500, "\x00"])
def test_hostile_searches_match_nothing_and_never_fail(app, client, login, shop, make_order, query):
    leader, point, window, item = shop
    make_order(window, point, [(item, 1)], phone="13812345678", name="王阿姨")
    login(leader.user)
    response = client.get("/leader/customers", query_string={"q": query, "page": "abc"})
    assert response.status_code == 200
    assert "王阿姨" not in response.get_data(as_text=True)


def test_calling_reveals_the_number_only_in_the_redirect_and_audits_it(app, client, login, shop, make_order):
    leader, point, window, item = shop
    order = make_order(window, point, [(item, 1)], phone="13812345678", name="王阿姨")
    login(leader.user)
    token = csrf_from(client.get("/leader/customers").get_data(as_text=True))
    response = client.post(f"/leader/customers/call/{order.id}", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "tel:13812345678"
    record = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "customer_phone_revealed"))
    assert record.object_id == order.id and record.actor == f"user:{leader.user.id}"


def test_another_leaders_customer_cannot_be_called(app, client, login, shop, make_order, make_leader, make_point):
    _, _, window, item = shop
    outsider_order = make_order(window, make_point(make_leader("翠湖花园")), [(item, 1)], phone="13600003333")
    leader = shop[0]
    login(leader.user)
    token = csrf_from(client.get("/leader/customers").get_data(as_text=True))
    assert client.post(f"/leader/customers/call/{outsider_order.id}", data={"csrf_token": token}).status_code == 404
    assert client.post("/leader/customers/call/999999999", data={"csrf_token": token}).status_code == 404
    assert db.session.scalar(select(AuditRecord.id).where(AuditRecord.action == "customer_phone_revealed")) is None


def test_calling_needs_the_csrf_token(app, client, login, shop, make_order):
    leader, point, window, item = shop
    order = make_order(window, point, [(item, 1)])
    login(leader.user)
    assert client.post(f"/leader/customers/call/{order.id}").status_code == 400
