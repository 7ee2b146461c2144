import uuid
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Order
from app.services.core.errors import NotFound, ValidationFailed
from app.services.counter import redemption
from app.services.leader import pickup_overview
from tests.support.pickup import Bags


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def place(bag, slot, arrived_days_ago, now):
    order = db.session.get(Order, bag.order.id)
    order.shelf_slot = order.live_slot = slot
    order.arrived_at = now - timedelta(days=arrived_days_ago)
    db.session.commit()


def test_waiting_bags_are_sorted_by_slot_and_overdue_ones_flagged(bags, frozen_clock):
    first = bags.make(name="王小明")
    second = bags.make(point=first.point, staff=first.staff)
    third = bags.make(point=first.point, staff=first.staff)
    place(first, 12, 3, frozen_clock.now)
    place(second, 2, 0, frozen_clock.now)
    place(third, 7, 2.5, frozen_clock.now)
    data = pickup_overview.overview(first.leader, first.point.id)
    assert [bag["slot"] for bag in data["waiting"]] == [2, 7, 12]
    assert {bag["order_id"] for bag in data["overdue"]} == {first.order.id, third.order.id}
    assert data["waiting"][-1]["customer_name"] == "王**"


def test_collected_today_lists_bags_handed_over_since_local_midnight(bags, frozen_clock):
    bag = bags.make()
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, uuid.uuid4().hex, code_text=bag.code.code)
    data = pickup_overview.overview(bag.leader, bag.point.id)
    assert [b["order_id"] for b in data["collected_today"]] == [bag.order.id]
    assert data["recent"][0]["can_undo"] is True
    frozen_clock.advance(days=1)
    data = pickup_overview.overview(bag.leader, bag.point.id)
    assert data["collected_today"] == [] and data["recent"] == []


def test_remind_all_overdue_stamps_them_and_writes_the_group_message(bags, frozen_clock):
    late = bags.make(name="李四")
    fresh = bags.make(point=late.point, staff=late.staff)
    place(late, 5, 3, frozen_clock.now)
    place(fresh, 6, 0, frozen_clock.now)
    result = pickup_overview.remind(late.leader, late.point.id)
    assert result["count"] == 1
    assert "李*" in result["message"] and late.order.number[-4:] in result["message"] and "5" in result["message"]
    assert "李四" not in result["message"]
    assert db.session.get(Order, late.order.id, populate_existing=True).reminded_at == frozen_clock.now
    assert db.session.get(Order, fresh.order.id, populate_existing=True).reminded_at is None


def test_remind_one_order_and_refuse_orders_of_other_points(bags, frozen_clock):
    bag = bags.make()
    other = bags.make()
    place(bag, 1, 0, frozen_clock.now)
    assert pickup_overview.remind(bag.leader, bag.point.id, [bag.order.id])["count"] == 1
    with pytest.raises(ValidationFailed):
        pickup_overview.remind(bag.leader, bag.point.id, [other.order.id])
    with pytest.raises(NotFound):
        pickup_overview.overview(bag.leader, other.point.id)
