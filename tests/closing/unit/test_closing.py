from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    CustomerItemUsage,
    DeliveryBatch,
    Order,
    OrderEvent,
    OrderItem,
    OutboxMessage,
    PickupCode,
    PointWindowUsage,
    Product,
    Refund,
    Window,
    WindowItem,
)
from app.services.closing import closing
from app.services.core import bulk_rows
from app.services.notify import notification_texts
from app.services.pickup import codes
from tests.support.batches import count, place, snapshot


def _due_window(make_window, merchant, frozen_clock, items, **kw):
    return make_window(
        merchant,
        items=items,
        opens_at=frozen_clock.now - timedelta(hours=5),
        closes_at=frozen_clock.now - timedelta(minutes=1),
        **kw,
    )


@pytest.fixture
def scene(app, frozen_clock, make_merchant, make_product, make_window, make_point, make_order):
    """apple (min 1) succeeds; pear (min 3, two paid orders) fails; plum (no orders) fails.

    o1 unpaid apple×2 @p1 → cancelled      o2 paid apple×1 + pear×2 @p1 → confirmed, pear refunded
    o3 paid pear×1 @p2 → failed, refunded   o4 paid apple×3 @p2 → confirmed
    o5 unpaid pear×1 @p2 → cancelled (does not count towards pear's group)
    """
    merchant = make_merchant()
    apple = make_product(merchant, name="苹果", price_fen=1000, stock=100)
    pear = make_product(merchant, name="梨", price_fen=500, stock=50)
    plum = make_product(merchant, name="李子", price_fen=300, stock=30)
    window = _due_window(
        make_window,
        merchant,
        frozen_clock,
        [{"product": apple, "limit": 5}, {"product": pear, "min_group": 3}, {"product": plum}],
    )
    a, p, _plum = window.items
    p1, p2 = make_point(), make_point()
    orders = {
        "o1": place(make_order, window, p1, [(a, 2)], status="pending_payment"),
        "o2": place(make_order, window, p1, [(a, 1), (p, 2)]),
        "o3": place(make_order, window, p2, [(p, 1)]),
        "o4": place(make_order, window, p2, [(a, 3)]),
        "o5": place(make_order, window, p2, [(p, 1)], status="pending_payment"),
    }
    return {"merchant": merchant, "window": window, "products": (apple, pear, plum), "points": (p1, p2), **orders}


def _status(order):
    return db.session.scalar(select(Order.status).where(Order.id == order.id))


def test_close_cancels_unpaid_fails_small_groups_and_confirms_the_rest(scene):
    window = scene["window"]
    result = closing.close_window(window.id)
    assert result == {"confirmed": 2, "cancelled": 2, "failed": 1, "batches": 2}

    db.session.expire_all()
    assert db.session.get(Window, window.id).status == "closed"
    assert [_status(scene[k]) for k in ("o1", "o2", "o3", "o4", "o5")] == [
        "cancelled",
        "confirmed",
        "failed",
        "confirmed",
        "cancelled",
    ]
    assert [item.status for item in db.session.get(Window, window.id).items] == ["succeeded", "failed", "failed"]
    lines = {(line.order_id, line.window_item_id): line.status for line in db.session.scalars(select(OrderItem))}
    a, p, _ = window.items
    assert lines[(scene["o1"].id, a.id)] == "cancelled"
    assert lines[(scene["o2"].id, a.id)] == "confirmed"
    assert lines[(scene["o2"].id, p.id)] == "failed"
    assert lines[(scene["o3"].id, p.id)] == "failed"
    o2 = db.session.get(Order, scene["o2"].id)
    assert o2.confirmed_at is not None and o2.batch_id is not None


def test_close_refunds_failed_lines_once_and_failed_orders_in_full(scene):
    closing.close_window(scene["window"].id)
    refunds = {(r.order_id, r.reason): r.amount_fen for r in db.session.scalars(select(Refund))}
    assert refunds == {(scene["o2"].id, "group_failed"): 1000, (scene["o3"].id, "group_failed"): 500}
    assert db.session.get(Order, scene["o2"].id).refunded_fen == 1000
    assert db.session.get(Order, scene["o3"].id).refunded_fen == 500
    assert db.session.get(Order, scene["o4"].id).refunded_fen == 0


def test_close_gives_back_stock_quota_limits_and_places_of_cancelled_and_failed(scene):
    apple, pear, plum = scene["products"]
    closing.close_window(scene["window"].id)
    db.session.expire_all()
    assert db.session.get(Product, apple.id).stock == 100 - 1 - 3
    assert db.session.get(Product, pear.id).stock == 50
    assert db.session.get(Product, plum.id).stock == 30
    a, p, _ = scene["window"].items
    assert db.session.get(WindowItem, a.id).sold == 4
    assert db.session.get(WindowItem, p.id).sold == 0
    usage = dict(db.session.execute(select(CustomerItemUsage.customer_phone, CustomerItemUsage.quantity)).all())
    assert usage[scene["o1"].customer_phone] == 0  # the cancelled customer may buy apples again
    places = dict(db.session.execute(select(PointWindowUsage.pickup_point_id, PointWindowUsage.orders_count)).all())
    p1, p2 = scene["points"]
    assert places == {p1.id: 1, p2.id: 1}


def test_close_issues_one_code_per_confirmed_order_and_one_batch_per_point(scene):
    closing.close_window(scene["window"].id)
    issued = db.session.scalars(select(PickupCode)).all()
    assert sorted(c.order_id for c in issued) == sorted([scene["o2"].id, scene["o4"].id])
    assert len({(c.pickup_point_id, c.code) for c in issued}) == 2
    batches = db.session.scalars(select(DeliveryBatch)).all()
    assert sorted(b.pickup_point_id for b in batches) == sorted(p.id for p in scene["points"])
    assert all(b.status == "created" and b.merchant_id == scene["merchant"].id for b in batches)
    by_point = {b.pickup_point_id: b.id for b in batches}
    for key in ("o2", "o4"):
        order = db.session.get(Order, scene[key].id)
        assert order.batch_id == by_point[order.pickup_point_id]
    for key in ("o1", "o3", "o5"):
        assert db.session.get(Order, scene[key].id).batch_id is None


def test_close_records_who_and_why_and_queues_notifications(scene):
    closing.close_window(scene["window"].id)
    events = db.session.scalars(select(OrderEvent).where(OrderEvent.actor == "system:close")).all()
    assert sorted((e.order_id, e.from_status, e.to_status) for e in events) == sorted(
        [
            (scene["o1"].id, "pending_payment", "cancelled"),
            (scene["o2"].id, "paid", "confirmed"),
            (scene["o3"].id, "paid", "failed"),
            (scene["o4"].id, "paid", "confirmed"),
            (scene["o5"].id, "pending_payment", "cancelled"),
        ]
    )
    assert next(e for e in events if e.order_id == scene["o1"].id).reason == "unpaid at cut-off"
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "window_closed")).all()
    recipients = sorted(uid for m in messages for uid in m.payload["user_ids"])
    leader_users = sorted(p.leader.user_id for p in scene["points"])
    owner_ids = [m.user_id for m in scene["merchant"].members]
    assert recipients == sorted(owner_ids + leader_users)
    merchant_msg = next(m for m in messages if m.payload["user_ids"] == owner_ids)
    body = notification_texts.render(merchant_msg.payload["body"], "en")
    assert body == "2 orders confirmed, 2 cancelled, 1 failed; 2 delivery batches."


def test_close_before_cut_off_does_nothing(
    app, frozen_clock, make_merchant, make_product, make_window, make_point, make_order
):
    merchant = make_merchant()
    product = make_product(merchant)
    window = make_window(
        merchant,
        items=[{"product": product}],
        opens_at=frozen_clock.now - timedelta(hours=1),
        closes_at=frozen_clock.now + timedelta(minutes=1),
    )
    place(make_order, window, make_point(), [(window.items[0], 1)], status="pending_payment")
    before = snapshot(window.id)
    assert closing.close_window(window.id) is None
    assert closing.close_due_windows() == 0
    assert snapshot(window.id) == before


def test_second_close_changes_nothing(scene):
    window = scene["window"]
    closing.close_window(window.id)
    after_first = snapshot(window.id)
    assert closing.close_window(window.id) is None
    assert closing.close_due_windows() == 0
    assert snapshot(window.id) == after_first
    assert count(PickupCode) == 2 and count(Refund) == 2


def test_crash_half_way_changes_nothing_and_the_next_run_completes(
    app, frozen_clock, make_merchant, make_product, make_window, make_point, make_order, monkeypatch
):
    merchant = make_merchant()
    good = make_product(merchant, stock=20)
    small = make_product(merchant, stock=20)
    window = _due_window(make_window, merchant, frozen_clock, [{"product": good}, {"product": small, "min_group": 9}])
    g, s = window.items
    points = [make_point(), make_point()]
    place(make_order, window, points[0], [(g, 1)], status="pending_payment")
    for i in range(4):
        place(make_order, window, points[i % 2], [(g, 1), (s, 1)])
    place(make_order, window, points[1], [(s, 2)])
    before = snapshot(window.id)

    # Two paid orders a chunk: the power goes when the second chunk's codes are issued, after the
    # first chunk was settled, coded and refunded.
    monkeypatch.setattr(bulk_rows, "CHUNK", 2)
    real_issue = codes.issue_codes
    calls = []

    def crash_on_second(*args):
        calls.append(args)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_issue(*args)

    monkeypatch.setattr(codes, "issue_codes", crash_on_second)
    with pytest.raises(RuntimeError):
        closing.close_window(window.id)
    assert snapshot(window.id) == before
    assert before["window"] == "open"

    monkeypatch.setattr(codes, "issue_codes", real_issue)
    assert closing.close_due_windows() == 1
    statuses = sorted(db.session.scalars(select(Order.status).where(Order.window_id == window.id)))
    assert statuses == ["cancelled", "confirmed", "confirmed", "confirmed", "confirmed", "failed"]
    assert count(PickupCode) == 4 and count(DeliveryBatch) == 2
    assert sum(db.session.scalars(select(Refund.amount_fen))) == 4 * s.group_price_fen + 2 * s.group_price_fen
    assert db.session.get(Product, small.id).stock == 20
    assert db.session.get(Product, good.id).stock == 16


def test_minimum_group_counts_paying_orders_not_units(
    app, frozen_clock, make_merchant, make_product, make_window, make_point, make_order
):
    merchant = make_merchant()
    product = make_product(merchant, stock=50)
    window = _due_window(make_window, merchant, frozen_clock, [{"product": product, "min_group": 2}])
    order = place(make_order, window, make_point(), [(window.items[0], 10)])
    assert closing.close_window(window.id) == {"confirmed": 0, "cancelled": 0, "failed": 1, "batches": 0}
    assert _status(order) == "failed"
    assert db.session.get(Product, product.id).stock == 50


def test_close_due_windows_closes_only_due_open_windows(
    app, frozen_clock, make_merchant, make_product, make_window, make_point, make_order
):
    merchant = make_merchant()
    product = make_product(merchant)
    due = [_due_window(make_window, merchant, frozen_clock, [{"product": product}]) for _ in range(2)]
    draft = _due_window(make_window, merchant, frozen_clock, [{"product": product}], status="draft")
    later = make_window(
        merchant,
        items=[{"product": product}],
        opens_at=frozen_clock.now - timedelta(hours=1),
        closes_at=frozen_clock.now + timedelta(hours=1),
    )
    for window in due:
        place(make_order, window, make_point(), [(window.items[0], 1)])
    assert closing.close_due_windows() == 2
    assert closing.close_due_windows() == 0
    db.session.expire_all()
    assert [db.session.get(Window, w.id).status for w in due] == ["closed", "closed"]
    assert db.session.get(Window, draft.id).status == "draft"
    assert db.session.get(Window, later.id).status == "open"
    frozen_clock.advance(hours=2)
    assert closing.close_due_windows() == 1


def test_a_payment_after_close_finds_the_order_cancelled_and_is_refunded(scene):
    from app.services.orders import payments

    closing.close_window(scene["window"].id)
    order = db.session.get(Order, scene["o1"].id)
    payment = payments.record_payment(order, "simulator", "sim_late_1", order.total_fen, "webhook")
    db.session.commit()
    assert payment.late and _status(order) == "cancelled"
    late = db.session.scalars(select(Refund).where(Refund.order_id == order.id)).all()
    assert [(r.reason, r.amount_fen) for r in late] == [("late_payment", order.total_fen)]
