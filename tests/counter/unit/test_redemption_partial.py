import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order, PickupCode, Redemption
from app.services.core.errors import AlreadyRedeemed, ValidationFailed
from app.services.counter import redemption
from tests.support.pickup import Bags, items_of


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def key() -> str:
    return uuid.uuid4().hex


def state(bag):
    code = db.session.get(PickupCode, bag.code.id, populate_existing=True)
    order = db.session.get(Order, bag.order.id, populate_existing=True)
    return code.status, order.status, [item.redeemed_qty for item in items_of(bag.order)]


def test_taking_some_units_keeps_the_code_live_and_the_order_waiting(bags):
    bag = bags.make(quantities=(3, 2))
    first, second = items_of(bag.order)
    result = redemption.redeem(
        bag.staff, bag.point.id, bag.code.id, key(), lines={first.id: 2}, code_text=bag.code.code
    )
    assert result["complete"] is False
    assert result["handed_over"] == [{"order_item_id": first.id, "quantity": 2}]
    assert state(bag) == ("issued", "ready_for_pickup", [2, 0])
    row = db.session.scalar(select(Redemption).where(Redemption.id == result["redemption_id"]))
    assert row.lines == [{"order_item_id": first.id, "quantity": 2}] and row.user_id == bag.staff.id
    # The code still finds the bag, and the preview shows what is left.
    left = {
        line["order_item_id"]: line["remaining"]
        for line in redemption.preview(bag.staff, bag.point.id, bag.code.code)["items"]
    }
    assert left == {first.id: 1, second.id: 2}


def test_taking_the_rest_completes_the_order_and_redeems_the_code(bags):
    bag = bags.make(quantities=(3, 2))
    first, second = items_of(bag.order)
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), lines={first.id: 2}, code_text=bag.code.code)
    result = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    assert result["complete"] is True
    assert sorted((line["order_item_id"], line["quantity"]) for line in result["handed_over"]) == [
        (first.id, 1),
        (second.id, 2),
    ]
    assert state(bag) == ("redeemed", "completed", [3, 2])
    assert {item.status for item in items_of(bag.order)} == {"redeemed"}
    with pytest.raises(AlreadyRedeemed) as refused:
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    assert refused.value.context["redeemed_by"] == bag.staff.name


def test_partial_lines_that_add_up_to_everything_complete_the_order(bags):
    bag = bags.make(quantities=(1, 1))
    first, second = items_of(bag.order)
    result = redemption.redeem(
        bag.staff, bag.point.id, bag.code.id, key(), lines={first.id: 1, second.id: 1}, code_text=bag.code.code
    )
    assert result["complete"] is True
    assert state(bag)[:2] == ("redeemed", "completed")


def test_shortage_units_are_never_redeemable(bags):
    bag = bags.make(quantities=(3, 2), shortages=(1, 2))
    first, second = items_of(bag.order)
    with pytest.raises(ValidationFailed):
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), lines={first.id: 3}, code_text=bag.code.code)
    with pytest.raises(ValidationFailed):
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), lines={second.id: 1}, code_text=bag.code.code)
    assert state(bag) == ("issued", "ready_for_pickup", [0, 0])
    result = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    assert result["complete"] is True
    assert state(bag) == ("redeemed", "completed", [2, 0])


def test_shelf_slot_is_shown_and_freed_when_the_bag_is_collected(bags):
    bag = bags.make(quantities=(2,))
    order = db.session.get(Order, bag.order.id)
    order.shelf_slot = 7
    order.live_slot = 7
    db.session.commit()
    assert redemption.preview(bag.staff, bag.point.id, bag.code.code)["shelf_slot"] == 7
    first = items_of(bag.order)[0]
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), lines={first.id: 1}, code_text=bag.code.code)
    assert db.session.get(Order, bag.order.id, populate_existing=True).live_slot == 7
    result = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    assert result["shelf_slot"] == 7
    order = db.session.get(Order, bag.order.id, populate_existing=True)
    assert (order.shelf_slot, order.live_slot) == (7, None)


@pytest.mark.parametrize(
    "lines",
    [
        {},
        {0: 1},
        {-3: 1},
        "everything",
        [1, 2],
        {"x": 1},
        {"ITEM": -1},
        {"ITEM": 10**9},
        {"ITEM": 1.5},
        {"ITEM": True},
        {"ITEM": "1"},
        {"ITEM": 0},
        {"ITEM": 3},
        {"OTHER": 1},
        {"ITEM": 1, "OTHER": 1},
        {999_999: 1},
    ],
)
def test_bad_lines_are_refused_and_change_nothing(bags, lines):
    bag = bags.make(quantities=(2,))
    other = bags.make(point=bag.point, staff=bag.staff, quantities=(1,))
    item = items_of(bag.order)[0]
    other_item = items_of(other.order)[0]
    if isinstance(lines, dict):
        names = {"ITEM": item.id, "OTHER": other_item.id}
        lines = {names.get(k, k): v for k, v in lines.items()}
    with pytest.raises(ValidationFailed):
        redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), lines=lines, code_text=bag.code.code)
    assert state(bag) == ("issued", "ready_for_pickup", [0])
    assert state(other) == ("issued", "ready_for_pickup", [0])
    assert db.session.scalar(select(Redemption)) is None


def test_replay_of_a_partial_pickup_returns_the_first_answer(bags):
    bag = bags.make(quantities=(3,))
    item = items_of(bag.order)[0]
    request_key = key()
    first = redemption.redeem(
        bag.staff, bag.point.id, bag.code.id, request_key, lines={item.id: 1}, code_text=bag.code.code
    )
    again = redemption.redeem(
        bag.staff, bag.point.id, bag.code.id, request_key, lines={item.id: 1}, code_text=bag.code.code
    )
    assert again == first
    assert state(bag) == ("issued", "ready_for_pickup", [1])
