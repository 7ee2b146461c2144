"""Rushes of real concurrent buyers against a real server: nothing is ever oversold (DESIGN.md §4.1).

Each test starts the live server (waitress, 16 threads) over the test database and fires JSON
orders from 50 client threads, then counts outcomes and checks the counters in the database.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import CustomerItemUsage, Order, OrderItem, PointWindowUsage, Product, WindowItem
from tests.support.shop import ShopBuilder

WORKERS = 50


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


def _plan(s) -> dict:
    """Plain values for the buyers, then end the transaction: on SQLite an open one would hold the
    write lock (every transaction is BEGIN IMMEDIATE) and stall the server."""
    plan = {
        "slug": s.slug,
        "item_id": s.item.id,
        "point_id": s.point.id,
        "product_id": s.product.id,
        "window_id": s.window.id,
    }
    db.session.commit()
    return plan


def _rush(base_url: str, plan: dict, phones: list[str]) -> Counter:
    url = f"{base_url}/api/v1/shop/{plan['slug']}/orders"

    def buy(phone: str) -> tuple[int, str]:
        body = {
            "items": [{"window_item_id": plan["item_id"], "quantity": 1}],
            "pickup_point_id": plan["point_id"],
            "customer_name": "抢购",
            "customer_phone": phone,
            "payment_provider": "simulator",
        }
        response = requests.post(url, json=body, timeout=120)
        code = "created" if response.status_code == 201 else response.json()["error"]["code"]
        return response.status_code, code

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return Counter(pool.map(buy, phones))


def _phones(n: int) -> list[str]:
    return [f"138{i:08d}" for i in range(n)]


def _scalar(stmt):
    db.session.expire_all()
    return db.session.scalar(stmt)


def test_300_buyers_for_100_units_get_exactly_100_orders(live_server, shop):
    plan = _plan(shop(stock=100, capacity=1000))
    outcomes = _rush(live_server.url, plan, _phones(300))
    assert outcomes == {(201, "created"): 100, (409, "out_of_stock"): 200}
    assert _scalar(select(func.count()).select_from(Order)) == 100
    assert _scalar(select(func.sum(OrderItem.quantity))) == 100
    assert _scalar(select(Product.stock).where(Product.id == plan["product_id"])) == 0
    assert _scalar(select(WindowItem.sold).where(WindowItem.id == plan["item_id"])) == 100
    assert _scalar(select(PointWindowUsage.orders_count)) == 100


def test_same_phone_rushing_gets_only_its_per_customer_limit(live_server, shop):
    plan = _plan(shop(stock=100, limit=3))
    outcomes = _rush(live_server.url, plan, ["13912345678"] * 30)
    assert outcomes == {(201, "created"): 3, (409, "over_limit"): 27}
    assert _scalar(select(func.count()).select_from(Order)) == 3
    assert _scalar(select(CustomerItemUsage.quantity)) == 3
    assert _scalar(select(Product.stock).where(Product.id == plan["product_id"])) == 97


def test_pickup_point_capacity_holds_under_a_rush(live_server, shop):
    plan = _plan(shop(stock=100, capacity=20))
    outcomes = _rush(live_server.url, plan, _phones(60))
    assert outcomes == {(201, "created"): 20, (409, "capacity_full"): 40}
    assert _scalar(select(func.count()).select_from(Order)) == 20
    assert _scalar(select(PointWindowUsage.orders_count)) == 20
    assert _scalar(select(Product.stock).where(Product.id == plan["product_id"])) == 80
