"""The order's state machine (app.services.orders.lifecycle): every transition in the app goes
through it, records its event, and is told to listeners inside the mover's transaction."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Order, OrderEvent
from app.services.closing import closing
from app.services.counter import redemption, redemption_undo
from app.services.deliveries import deliveries
from app.services.orders import lifecycle, ordering, payments
from tests.support.batches import place
from tests.support.pickup import Bags
from tests.support.shop import ShopBuilder


@pytest.fixture
def heard():
    """Transitions the listeners were told of, with the order's event as the listener saw it."""
    seen = []

    def listener(moved: lifecycle.Transition) -> None:
        events = db.session.scalars(
            select(OrderEvent).where(
                OrderEvent.order_id.in_(moved.order_ids),
                OrderEvent.from_status == moved.source,
                OrderEvent.to_status == moved.target,
            )
        ).all()
        seen.append((moved, {event.order_id for event in events}))

    stop = lifecycle.subscribe(listener)
    yield seen
    stop()


def moves(heard) -> list[tuple[str, str, int]]:
    return [(t.source, t.target, len(t.order_ids)) for t, _events in heard]


def test_listeners_hear_each_move_after_its_event_is_written(
    heard, make_product, make_window, make_leader, make_point, make_share_link
):
    shop = ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)(stock=10, price_fen=500)
    first = ordering.place_order(shop.slug, **shop.order_args(1))
    second = ordering.place_order(shop.slug, **shop.order_args(1))
    payments.record_payment(second, "simulator", "sim-1", second.total_fen, "test")
    db.session.commit()
    ordering.cancel_order(first.access_token, reason="changed my mind")
    ordering.cancel_order(second.access_token)
    assert moves(heard) == [
        ("pending_payment", "paid", 1),
        ("pending_payment", "cancelled", 1),
        ("paid", "cancelled", 1),
    ]
    assert all(set(t.order_ids) == events for t, events in heard)
    assert heard[1][0].reason == "changed my mind" and heard[1][0].actor == "customer"


def test_the_close_moves_its_orders_in_sets_and_listeners_hear_each_set(
    heard, app, frozen_clock, make_merchant, make_product, make_window, make_point, make_order
):
    merchant = make_merchant()
    apple = make_product(merchant, stock=100)
    pear = make_product(merchant, stock=100)
    window = make_window(
        merchant,
        items=[{"product": apple}, {"product": pear, "min_group": 4}],
        opens_at=frozen_clock.now - timedelta(hours=5),
        closes_at=frozen_clock.now - timedelta(minutes=1),
    )
    a, p = window.items
    point = make_point()
    place(make_order, window, point, [(a, 1)], status="pending_payment")
    confirmed = [place(make_order, window, point, [(a, 1), (p, 1)]) for _ in range(2)]
    failed = place(make_order, window, point, [(p, 2)])
    closing.close_window(window.id)
    assert sorted(moves(heard)) == [
        ("paid", "confirmed", 2),
        ("paid", "failed", 1),
        ("pending_payment", "cancelled", 1),
    ]
    assert all(set(t.order_ids) == events for t, events in heard)
    by_target = {t.target: t for t, _events in heard}
    assert set(by_target["confirmed"].order_ids) == {o.id for o in confirmed}
    assert by_target["failed"].order_ids == (failed.id,) and by_target["failed"].actor == "system:close"
    event = db.session.scalar(
        select(OrderEvent).where(OrderEvent.order_id == confirmed[0].id, OrderEvent.to_status == "confirmed")
    )
    assert event.detail == {"failed_items": [p.id]}


def test_arrival_hand_over_and_undo_are_heard(heard, make_user, make_product, make_window, make_point, make_order):
    bag = Bags(make_user, make_product, make_window, make_point, make_order).make(status="confirmed")
    deliveries.confirm_arrival(bag.batch.id, bag.leader, db.session.get(type(bag.staff), bag.leader.user_id), {})
    done = redemption.redeem(bag.staff, bag.point.id, bag.code.id, uuid.uuid4().hex, code_text=bag.code.code)
    redemption_undo.undo(db.session.get(type(bag.staff), bag.leader.user_id), done["redemption_id"], "wrong bag")
    assert moves(heard) == [
        ("confirmed", "ready_for_pickup", 1),
        ("ready_for_pickup", "completed", 1),
        ("completed", "ready_for_pickup", 1),
    ]
    assert all(t.order_ids == (bag.order.id,) and events == {bag.order.id} for t, events in heard)


def test_a_listener_that_fails_rolls_the_move_back_with_everything_else(
    make_product, make_window, make_leader, make_point, make_share_link
):
    shop = ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)(stock=10, price_fen=500)
    order = ordering.place_order(shop.slug, **shop.order_args(1))

    def refuse(moved):
        raise RuntimeError("ledger unavailable")

    stop = lifecycle.subscribe(refuse)
    try:
        with pytest.raises(RuntimeError):
            ordering.cancel_order(order.access_token)
    finally:
        stop()
    db.session.rollback()
    assert db.session.get(Order, order.id, populate_existing=True).status == "pending_payment"
    assert [e.to_status for e in db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))] == [
        "pending_payment"
    ]


def test_a_move_from_the_wrong_state_writes_nothing(
    heard, make_product, make_window, make_leader, make_point, make_share_link
):
    shop = ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)(stock=10, price_fen=500)
    order = ordering.place_order(shop.slug, **shop.order_args(1))
    assert lifecycle.move(order, "paid", "confirmed", "test", reason="wrong state") is False
    assert lifecycle.move_many([order.id], "paid", "failed", actor="t", reason="r", at=order.created_at) == []
    assert heard == [] and db.session.get(Order, order.id).status == "pending_payment"
    assert len(db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id)).all()) == 1


@pytest.mark.parametrize(
    ("source", "target"), [("pending_payment", "completed"), ("cancelled", "paid"), ("paid", "nonsense")]
)
def test_a_move_the_lifecycle_does_not_allow_is_refused(source, target, app):
    with pytest.raises(ValueError, match="no order transition"):
        lifecycle.move(Order(id=1), source, target, "test", reason="r")
    with pytest.raises(ValueError, match="no order transition"):
        lifecycle.move_many([1], source, target, actor="t", reason="r", at=None)
