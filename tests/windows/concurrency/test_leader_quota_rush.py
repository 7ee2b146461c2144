"""Two leaders' communities rush one item with per-leader quotas, against a real server: each
leader sells exactly its quota, never more, and every counter matches the orders (DESIGN.md §4.1).

The item caps every leader at 15 and gives the second leader its own quota of 25; stock and
pickup places are plentiful, so the leader quotas are the only limit. 50 client threads send
60 single-unit orders per leader, interleaved.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OrderItem, Product, WindowItem, WindowLeaderQuota
from app.services.windows import leader_quotas
from tests.support.shop import ShopBuilder

WORKERS = 50
PER_LEADER = 15
OVERRIDE = 25
BUYERS_PER_LEADER = 60


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


@pytest.fixture
def two_leaders(shop, make_leader, make_point, make_share_link) -> dict:
    """Plain values for the buyers; the transaction is ended so SQLite's write lock is free."""
    s = shop(stock=1000, capacity=1000)
    second = make_leader()
    second_point = make_point(second, capacity=1000)
    second_link = make_share_link(s.window, second)
    leader_quotas.set_item_default(s.window, s.item.id, PER_LEADER, actor="test")
    leader_quotas.set_leader_quota(s.window, s.item.id, second.id, OVERRIDE, actor="test")
    plan = {
        "item_id": s.item.id,
        "product_id": s.product.id,
        "leaders": {
            s.leader.id: {"slug": s.slug, "point_id": s.point.id, "quota": PER_LEADER},
            second.id: {"slug": second_link.slug, "point_id": second_point.id, "quota": OVERRIDE},
        },
    }
    db.session.commit()
    return plan


def _buyers(plan: dict) -> list[tuple[int, str]]:
    """(leader id, phone), the two communities interleaved so their orders overlap."""
    leader_ids = sorted(plan["leaders"])
    return [(leader_ids[n % 2], f"138{n:08d}") for n in range(BUYERS_PER_LEADER * 2)]


def _rush(base_url: str, plan: dict) -> Counter:
    def buy(buyer: tuple[int, str]) -> tuple[int, int, str]:
        leader_id, phone = buyer
        target = plan["leaders"][leader_id]
        body = {
            "items": [{"window_item_id": plan["item_id"], "quantity": 1}],
            "pickup_point_id": target["point_id"],
            "customer_name": "抢购",
            "customer_phone": phone,
            "payment_provider": "simulator",
        }
        response = requests.post(f"{base_url}/api/v1/shop/{target['slug']}/orders", json=body, timeout=120)
        code = "created" if response.status_code == 201 else response.json()["error"]["code"]
        return leader_id, response.status_code, code

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return Counter(pool.map(buy, _buyers(plan)))


def _fresh(stmt):
    db.session.expire_all()
    return db.session.execute(stmt)


def test_each_leader_sells_exactly_its_quota_under_a_rush(live_server, two_leaders):
    plan = two_leaders
    outcomes = _rush(live_server.url, plan)
    expected = Counter()
    for leader_id, target in plan["leaders"].items():
        expected[(leader_id, 201, "created")] = target["quota"]
        expected[(leader_id, 409, "leader_quota_reached")] = BUYERS_PER_LEADER - target["quota"]
    assert outcomes == expected

    total = PER_LEADER + OVERRIDE
    orders_per_leader = dict(_fresh(select(Order.leader_id, func.count()).group_by(Order.leader_id)).all())
    units_per_leader = dict(
        _fresh(
            select(Order.leader_id, func.sum(OrderItem.quantity))
            .join(OrderItem, OrderItem.order_id == Order.id)
            .group_by(Order.leader_id)
        ).all()
    )
    quota_rows = {
        leader_id: (quota, sold)
        for leader_id, quota, sold in _fresh(
            select(WindowLeaderQuota.leader_id, WindowLeaderQuota.quota, WindowLeaderQuota.sold).where(
                WindowLeaderQuota.window_item_id == plan["item_id"]
            )
        ).all()
    }
    for leader_id, target in plan["leaders"].items():
        assert orders_per_leader[leader_id] == target["quota"]
        assert units_per_leader[leader_id] == target["quota"]
        assert quota_rows[leader_id] == (target["quota"], target["quota"])
    assert _fresh(select(WindowItem.sold).where(WindowItem.id == plan["item_id"])).scalar() == total
    assert _fresh(select(Product.stock).where(Product.id == plan["product_id"])).scalar() == 1000 - total
