"""Shelf slots: numbered at arrival per pickup point, smallest free first, reused once freed."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order
from app.services.deliveries import deliveries, slots
from tests.support.batches import make_batch, place


@pytest.fixture
def point_with_goods(app, make_merchant, make_product, make_window, make_point, make_leader, make_order):
    merchant = make_merchant()
    x = make_product(merchant, name="鸡蛋", price_fen=1000, stock=100)
    y = make_product(merchant, name="牛奶", price_fen=200, stock=100)
    leader = make_leader()
    point = make_point(leader)

    def batch_of(quantities, window=None):
        """A dispatched batch at the point; one order per entry of (x units, y units)."""
        window = window or make_window(merchant, items=[{"product": x}, {"product": y}])
        ix, iy = window.items
        batch = make_batch(window, point, status="dispatched")
        orders = []
        for qx, qy in quantities:
            lines = [(item, q) for item, q in ((ix, qx), (iy, qy)) if q]
            orders.append(place(make_order, window, point, lines, status="confirmed", batch=batch))
        return batch, orders

    return {"leader": leader, "point": point, "x": x, "y": y, "batch_of": batch_of}


def _arrive(env, batch, shortages=None):
    deliveries.confirm_arrival(batch.id, env["leader"], env["leader"].user, shortages or {})


def _slots(orders):
    db.session.expire_all()
    return [(db.session.get(Order, o.id).shelf_slot, db.session.get(Order, o.id).live_slot) for o in orders]


def test_arrival_numbers_bags_from_one_in_order_id_order(point_with_goods):
    batch, orders = point_with_goods["batch_of"]([(1, 0), (2, 0), (1, 1)])
    _arrive(point_with_goods, batch)
    assert _slots(orders) == [(1, 1), (2, 2), (3, 3)]
    assert all(db.session.get(Order, o.id).arrived_at is not None for o in orders)


def test_second_batch_at_the_same_point_takes_the_next_free_numbers(point_with_goods):
    first, first_orders = point_with_goods["batch_of"]([(1, 0), (1, 0)])
    second, second_orders = point_with_goods["batch_of"]([(1, 0), (1, 0)])
    _arrive(point_with_goods, first)
    _arrive(point_with_goods, second)
    assert _slots(first_orders) == [(1, 1), (2, 2)]
    assert _slots(second_orders) == [(3, 3), (4, 4)]


def test_freed_number_is_reused_by_the_next_arrival_and_shelf_slot_is_kept(point_with_goods):
    first, (a, b, c) = point_with_goods["batch_of"]([(1, 0), (1, 0), (1, 0)])
    second, (d, e) = point_with_goods["batch_of"]([(1, 0), (1, 0)])
    _arrive(point_with_goods, first)
    slots.free_slot(db.session.get(Order, b.id))
    db.session.commit()
    _arrive(point_with_goods, second)
    assert _slots([a, b, c, d, e]) == [(1, 1), (2, None), (3, 3), (2, 2), (4, 4)]


def test_restore_slot_gives_back_the_old_number_when_free_else_the_smallest_free(point_with_goods):
    first, (a, b) = point_with_goods["batch_of"]([(1, 0), (1, 0)])
    _arrive(point_with_goods, first)
    order_a = db.session.get(Order, a.id)
    slots.free_slot(order_a)
    assert slots.restore_slot(order_a) == 1
    db.session.commit()
    assert _slots([a]) == [(1, 1)]

    order_a = db.session.get(Order, a.id)
    slots.free_slot(order_a)
    db.session.commit()
    second, (c,) = point_with_goods["batch_of"]([(1, 0)])
    _arrive(point_with_goods, second)  # c takes number 1 while a is away
    order_a = db.session.get(Order, a.id)
    assert slots.restore_slot(order_a) == 3
    db.session.commit()
    assert _slots([a, b, c]) == [(3, 3), (2, 2), (1, 1)]


def test_fully_short_order_is_refunded_without_a_slot(point_with_goods):
    batch, (a, b) = point_with_goods["batch_of"]([(1, 0), (1, 0)])
    _arrive(point_with_goods, batch, {point_with_goods["x"].id: 1})
    statuses = [db.session.get(Order, o.id).status for o in (a, b)]
    assert statuses == ["ready_for_pickup", "refunded"]
    assert _slots([a, b]) == [(1, 1), (None, None)]


def test_slots_are_per_point(point_with_goods, make_point, make_order, make_window):
    batch, (a,) = point_with_goods["batch_of"]([(1, 0)])
    _arrive(point_with_goods, batch)
    other_leader_point = make_point()
    window = db.session.get(Order, a.id).window
    other_batch = make_batch(window, other_leader_point, status="dispatched")
    b = place(make_order, window, other_leader_point, [(window.items[0], 1)], status="confirmed", batch=other_batch)
    deliveries.confirm_arrival(other_batch.id, other_leader_point.leader, other_leader_point.leader.user, {})
    assert _slots([a, b]) == [(1, 1), (1, 1)]


def test_a_number_taken_meanwhile_is_skipped_not_duplicated(point_with_goods, monkeypatch):
    """The unique constraint is the guard: a number another arrival took makes the claim retry."""
    first, (a, b) = point_with_goods["batch_of"]([(1, 0), (1, 0)])
    _arrive(point_with_goods, first)
    slots.free_slot(db.session.get(Order, b.id))
    db.session.commit()
    second, (c,) = point_with_goods["batch_of"]([(1, 0)])
    real_taken = slots._taken
    calls = []

    def stale_then_real(point_id):
        # The first look-up misses bag a's number 1, as if read before a concurrent commit.
        calls.append(point_id)
        return set() if len(calls) == 1 else real_taken(point_id)

    monkeypatch.setattr(slots, "_taken", stale_then_real)
    _arrive(point_with_goods, second)
    assert len(calls) == 2
    assert _slots([a, b, c]) == [(1, 1), (2, None), (2, 2)]
    live = db.session.scalars(select(Order.live_slot).where(Order.live_slot.is_not(None)).order_by(Order.id)).all()
    assert live == [1, 2]
