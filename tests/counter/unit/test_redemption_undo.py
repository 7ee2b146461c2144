import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditRecord, DeliveryBatch, Order, PickupCode, Redemption
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from app.services.counter import redemption, redemption_undo
from tests.support.pickup import Bags, items_of


@pytest.fixture
def bags(make_user, make_product, make_window, make_point, make_order):
    return Bags(make_user, make_product, make_window, make_point, make_order)


def key() -> str:
    return uuid.uuid4().hex


def leader_user(bag):
    return db.session.get(type(bag.staff), bag.leader.user_id)


def state(bag):
    code = db.session.get(PickupCode, bag.code.id, populate_existing=True)
    order = db.session.get(Order, bag.order.id, populate_existing=True)
    return code.status, code.live_code, order.status, [item.redeemed_qty for item in items_of(bag.order)]


def test_leader_undoes_a_full_hand_over_and_the_bag_waits_again(bags, frozen_clock):
    bag = bags.make(quantities=(2, 1))
    order = db.session.get(Order, bag.order.id)
    order.shelf_slot = order.live_slot = 4
    db.session.commit()
    done = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    assert db.session.get(DeliveryBatch, bag.batch.id, populate_existing=True).status == "done"
    frozen_clock.advance(minutes=9)
    result = redemption_undo.undo(leader_user(bag), done["redemption_id"], "  handed to the wrong person ")
    assert result["reopened"] is True and result["reason"] == "handed to the wrong person"
    assert state(bag) == ("issued", bag.code.code, "ready_for_pickup", [0, 0])
    order = db.session.get(Order, bag.order.id, populate_existing=True)
    assert order.completed_at is None and order.live_slot == 4
    assert db.session.get(DeliveryBatch, bag.batch.id, populate_existing=True).status == "arrived"
    assert {item.status for item in items_of(bag.order)} == {"confirmed"}
    row = db.session.get(Redemption, done["redemption_id"], populate_existing=True)
    assert row.undone_at is not None and row.undone_by_id == bag.leader.user_id
    record = db.session.scalar(select(AuditRecord).where(AuditRecord.action == "redeem_undone"))
    assert record.detail["reason"] == "handed to the wrong person"
    # The reopened code can be redeemed again.
    assert redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)["complete"] is True


def test_undo_of_a_partial_pickup_gives_back_only_its_units(bags):
    bag = bags.make(quantities=(3, 2))
    first, second = items_of(bag.order)
    one = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), lines={first.id: 1}, code_text=bag.code.code)
    redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), lines={second.id: 2}, code_text=bag.code.code)
    result = redemption_undo.undo(leader_user(bag), one["redemption_id"], "miscounted")
    assert result["reopened"] is False
    assert state(bag) == ("issued", bag.code.code, "ready_for_pickup", [0, 2])


def test_undo_twice_is_refused(bags):
    bag = bags.make()
    done = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    redemption_undo.undo(leader_user(bag), done["redemption_id"], "oops")
    with pytest.raises(Conflict):
        redemption_undo.undo(leader_user(bag), done["redemption_id"], "oops again")
    assert state(bag)[2] == "ready_for_pickup"


def test_undo_after_the_window_is_refused(bags, frozen_clock):
    bag = bags.make()
    done = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    frozen_clock.advance(minutes=10, seconds=1)
    with pytest.raises(Conflict):
        redemption_undo.undo(leader_user(bag), done["redemption_id"], "too late")
    assert state(bag)[:3] == ("redeemed", None, "completed")


def test_plain_staff_and_other_leaders_get_404(bags, make_leader):
    bag = bags.make()
    other = bags.make()
    done = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    with pytest.raises(NotFound):
        redemption_undo.undo(bag.staff, done["redemption_id"], "not mine")
    with pytest.raises(NotFound):
        redemption_undo.undo(leader_user(other), done["redemption_id"], "not mine")
    assert state(bag)[2] == "completed"


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201, "bad\x00"])
def test_undo_needs_a_reason(bags, reason):
    bag = bags.make()
    done = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    with pytest.raises(ValidationFailed):
        redemption_undo.undo(leader_user(bag), done["redemption_id"], reason)
    assert state(bag)[2] == "completed"


def test_undo_is_refused_when_the_number_went_to_another_live_code(bags):
    bag = bags.make()
    done = redemption.redeem(bag.staff, bag.point.id, bag.code.id, key(), code_text=bag.code.code)
    newer = bags.make(point=bag.point, staff=bag.staff)
    code = db.session.get(PickupCode, newer.code.id)
    code.code = code.live_code = bag.code.code
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        redemption_undo.undo(leader_user(bag), done["redemption_id"], "oops")
    assert refused.value.status == 409
    assert state(bag)[:3] == ("redeemed", None, "completed")
    assert db.session.get(Redemption, done["redemption_id"], populate_existing=True).undone_at is None
