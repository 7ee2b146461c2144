"""Many counters handing over single units of one line at once: never more than arrived, and
the code is redeemed exactly when the last unit goes, against a real server and database."""

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OrderItem, PickupCode, Redemption
from app.services.accounts import tokens
from tests.support.pickup import Bags

CLIENTS = 10
UNITS = 5


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def test_ten_counters_taking_one_unit_each_of_five_hand_over_exactly_five(live_server, bags):
    bag = bags.make(quantities=(UNITS,))
    item_id = db.session.scalar(select(OrderItem.id).where(OrderItem.order_id == bag.order.id))
    auth = {"Authorization": f"Bearer {tokens.create_token(bag.staff, 'scanner')[1]}"}
    plan = {"point_id": bag.point.id, "code_id": bag.code.id, "code": bag.code.code, "order_id": bag.order.id}
    db.session.commit()
    barrier = threading.Barrier(CLIENTS)

    def take_one(_n: int) -> tuple[int, str]:
        barrier.wait(timeout=60)
        response = requests.post(
            f"{live_server.url}/api/v1/pickup/redeem",
            json={
                "pickup_point_id": plan["point_id"],
                "code_id": plan["code_id"],
                "code": plan["code"],
                "idempotency_key": uuid.uuid4().hex,
                "lines": {str(item_id): 1},
            },
            headers=auth,
            timeout=120,
        )
        body = response.json()
        return response.status_code, body.get("outcome") or body["error"]["code"]

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        outcomes = Counter(pool.map(take_one, range(CLIENTS)))
    assert outcomes[(200, "redeemed")] == UNITS
    assert sum(outcomes.values()) - UNITS == CLIENTS - UNITS
    assert set(outcomes) - {(200, "redeemed")} <= {(409, "already_redeemed")}
    db.session.rollback()
    assert db.session.scalar(select(OrderItem.redeemed_qty).where(OrderItem.id == item_id)) == UNITS
    assert db.session.scalar(select(PickupCode.status).where(PickupCode.id == plan["code_id"])) == "redeemed"
    assert db.session.scalar(select(Order.status).where(Order.id == plan["order_id"])) == "completed"


def test_ten_replays_of_one_partial_pickup_take_its_units_once(live_server, bags):
    # The replay check runs before the write lock is taken, so every replay may pass it; the
    # stored answer's unique key must still let only one of them take units.
    bag = bags.make(quantities=(UNITS,))
    item_id = db.session.scalar(select(OrderItem.id).where(OrderItem.order_id == bag.order.id))
    auth = {"Authorization": f"Bearer {tokens.create_token(bag.staff, 'scanner')[1]}"}
    body = {
        "pickup_point_id": bag.point.id,
        "code_id": bag.code.id,
        "code": bag.code.code,
        "idempotency_key": uuid.uuid4().hex,
        "lines": {str(item_id): 2},
    }
    db.session.commit()
    barrier = threading.Barrier(CLIENTS)

    def replay(_n: int) -> tuple[int, str]:
        barrier.wait(timeout=60)
        response = requests.post(f"{live_server.url}/api/v1/pickup/redeem", json=body, headers=auth, timeout=120)
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(replay, range(CLIENTS)))
    assert {status for status, _ in answers} == {200}
    assert len({text for _, text in answers}) == 1
    db.session.rollback()
    assert db.session.scalar(select(OrderItem.redeemed_qty).where(OrderItem.id == item_id)) == 2
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 1
    assert db.session.scalar(select(PickupCode.status).where(PickupCode.id == bag.code.id)) == "issued"
