from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import AuditRecord, DeliveryBatch, Order, OrderItem, OutboxMessage, PickupCode, Refund
from app.services.closing import closing
from app.services.core.errors import InvalidTransition, NotFound, ValidationFailed
from app.services.deliveries import deliveries, picking_lists
from tests.support.batches import count, make_batch, place


@pytest.fixture
def delivery(app, make_user, make_merchant, make_product, make_window, make_point, make_leader, make_order):
    """One batch at a point with staff: o1 X×2, o2 X×2 + Y×1, o3 X×1, placed in that order."""
    owner = make_user("老板")
    merchant = make_merchant(owner=owner)
    x = make_product(merchant, name="鸡蛋", price_fen=1000, stock=100)
    y = make_product(merchant, name="牛奶", price_fen=200, stock=100)
    window = make_window(merchant, items=[{"product": x}, {"product": y}])
    ix, iy = window.items
    staff = make_user("店员")
    leader = make_leader()
    point = make_point(leader, staff=[staff])
    batch = make_batch(window, point)
    orders = [
        place(make_order, window, point, lines, status="confirmed", batch=batch, phone=phone)
        for lines, phone in (
            ([(ix, 2)], "13800000001"),
            ([(ix, 2), (iy, 1)], "13800000002"),
            ([(ix, 1)], "13800000003"),
        )
    ]
    return {
        "owner": owner,
        "merchant": merchant,
        "x": x,
        "y": y,
        "window": window,
        "leader": leader,
        "staff": staff,
        "point": point,
        "batch": batch,
        "orders": orders,
    }


def _statuses(orders):
    db.session.expire_all()
    return [db.session.get(Order, o.id).status for o in orders]


def _refunds():
    return sorted((r.order_id, r.reason, r.amount_fen) for r in db.session.scalars(select(Refund)))


def test_picking_list_sums_confirmed_lines_per_product(delivery):
    rows = picking_lists.picking_list(delivery["batch"])
    assert {r["product_id"]: r["quantity"] for r in rows} == {delivery["x"].id: 5, delivery["y"].id: 1}
    assert {r["name"] for r in rows} == {"鸡蛋", "牛奶"} and all(r["spec"] == "500g" for r in rows)


def test_picking_list_leaves_out_cancelled_orders(delivery):
    db.session.execute(update(Order).where(Order.id == delivery["orders"][0].id).values(status="cancelled"))
    db.session.commit()
    rows = {r["product_id"]: r["quantity"] for r in picking_lists.picking_list(delivery["batch"])}
    assert rows == {delivery["x"].id: 3, delivery["y"].id: 1}


def test_packing_list_masks_customers(delivery):
    bags = picking_lists.packing_list(delivery["batch"])
    assert [b["number"] for b in bags] == [o.number for o in delivery["orders"]]
    assert bags[0]["phone"] == "138****0001" and bags[0]["customer"] == "张*"
    assert [(line["name"], line["quantity"]) for line in bags[1]["lines"]] == [("鸡蛋", 2), ("牛奶", 1)]
    assert "13800000001" not in str(bags)


def test_merchant_moves_batch_created_picking_dispatched_with_audit(delivery):
    batch, owner = delivery["batch"], delivery["owner"]
    assert deliveries.start_picking(batch, owner).status == "picking"
    with pytest.raises(InvalidTransition):
        deliveries.start_picking(batch, owner)
    db.session.rollback()
    dispatched = deliveries.dispatch(batch, owner)
    assert dispatched.status == "dispatched" and dispatched.dispatched_at is not None
    with pytest.raises(InvalidTransition):
        deliveries.dispatch(batch, owner)
    db.session.rollback()
    actions = db.session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()
    assert actions == ["batch.start_picking", "batch.dispatch"]
    told = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "batch_dispatched"))
    assert sorted(told.payload["user_ids"]) == sorted([delivery["staff"].id, delivery["leader"].user_id])


def test_someone_outside_the_merchant_cannot_move_its_batch(delivery, make_user):
    with pytest.raises(NotFound):
        deliveries.start_picking(delivery["batch"], make_user("路人"))
    db.session.rollback()
    assert db.session.get(DeliveryBatch, delivery["batch"].id).status == "created"


def test_arrival_allocates_shortages_to_latest_orders_and_refunds_them(delivery):
    o1, o2, o3 = delivery["orders"]
    x = delivery["x"]
    batch = deliveries.confirm_arrival(delivery["batch"].id, delivery["leader"], delivery["leader"].user, {x.id: 3})
    assert batch.status == "arrived" and batch.arrived_by_id == delivery["leader"].user_id
    # o3 (latest) loses its only unit and is refunded whole; o2 loses 2 eggs but keeps its milk.
    assert _statuses([o1, o2, o3]) == ["ready_for_pickup", "ready_for_pickup", "refunded"]
    short = dict(
        db.session.execute(select(OrderItem.order_id, OrderItem.shortage_qty).where(OrderItem.product_id == x.id)).all()
    )
    assert short == {o1.id: 0, o2.id: 2, o3.id: 1}
    assert _refunds() == sorted([(o2.id, "shortage", 2000), (o3.id, "shortage", 1000)])
    assert db.session.get(Order, o2.id).refunded_fen == 2000
    codes = dict(db.session.execute(select(PickupCode.order_id, PickupCode.status)).all())
    assert codes == {o1.id: "issued", o2.id: "issued", o3.id: "void"}
    told = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "batch_arrived"))
    assert sorted(told.payload["user_ids"]) == sorted([delivery["staff"].id, delivery["leader"].user_id])
    assert count(AuditRecord, AuditRecord.action == "batch.arrive") == 1


def test_arrival_without_shortages_makes_every_order_ready(delivery):
    deliveries.confirm_arrival(delivery["batch"].id, delivery["leader"], delivery["leader"].user, {})
    assert _statuses(delivery["orders"]) == ["ready_for_pickup"] * 3
    assert _refunds() == []


@pytest.mark.parametrize("shortage", [6, -1, "two"])
def test_shortage_outside_what_was_picked_is_refused_and_changes_nothing(delivery, shortage):
    x = delivery["x"]
    with pytest.raises(ValidationFailed) as caught:
        deliveries.confirm_arrival(delivery["batch"].id, delivery["leader"], delivery["leader"].user, {x.id: shortage})
    assert caught.value.status == 422 and str(x.id) in caught.value.fields
    db.session.rollback()
    assert db.session.get(DeliveryBatch, delivery["batch"].id).status == "created"
    assert _statuses(delivery["orders"]) == ["confirmed"] * 3
    assert _refunds() == []


def test_shortage_of_a_product_not_in_the_batch_names_the_field(delivery, make_product):
    stranger = make_product(delivery["merchant"])
    with pytest.raises(ValidationFailed) as caught:
        deliveries.confirm_arrival(delivery["batch"].id, delivery["leader"], delivery["leader"].user, {stranger.id: 1})
    assert list(caught.value.fields) == [str(stranger.id)]


def test_another_leader_cannot_confirm_arrival(delivery, make_leader):
    other = make_leader()
    with pytest.raises(NotFound):
        deliveries.confirm_arrival(delivery["batch"].id, other, other.user, {})
    with pytest.raises(NotFound):
        deliveries.get_batch_for_leader(other.id, delivery["batch"].id)
    assert deliveries.batches_for_leader(other.id) == []
    assert [b.id for b in deliveries.batches_for_leader(delivery["leader"].id)] == [delivery["batch"].id]
    assert deliveries.batches_for_leader(delivery["leader"].id, status="done") == []


def test_second_arrival_is_refused_without_refunding_again(delivery):
    x, leader = delivery["x"], delivery["leader"]
    deliveries.confirm_arrival(delivery["batch"].id, leader, leader.user, {x.id: 1})
    before = _refunds()
    with pytest.raises(InvalidTransition):
        deliveries.confirm_arrival(delivery["batch"].id, leader, leader.user, {x.id: 1})
    db.session.rollback()
    assert _refunds() == before
    assert db.session.scalar(select(OrderItem.shortage_qty).where(OrderItem.order_id == delivery["orders"][2].id)) == 1


def test_batch_where_nothing_arrived_is_refunded_and_done(delivery):
    x, y, leader = delivery["x"], delivery["y"], delivery["leader"]
    batch = deliveries.confirm_arrival(delivery["batch"].id, leader, leader.user, {x.id: 5, y.id: 1})
    assert batch.status == "done"
    assert _statuses(delivery["orders"]) == ["refunded"] * 3
    assert sum(amount for _o, _r, amount in _refunds()) == 5 * 1000 + 200
    assert count(PickupCode, PickupCode.status == "issued") == 0


def test_batch_is_done_only_when_every_order_is_finished(delivery):
    leader = delivery["leader"]
    batch = deliveries.confirm_arrival(delivery["batch"].id, leader, leader.user, {})
    assert deliveries.maybe_finish_batch(batch.id) is False
    ids = [o.id for o in delivery["orders"]]
    db.session.execute(update(Order).where(Order.id.in_(ids[:2])).values(status="completed"))
    assert deliveries.maybe_finish_batch(batch.id) is False
    db.session.execute(update(Order).where(Order.id == ids[2]).values(status="completed"))
    assert deliveries.maybe_finish_batch(batch.id) is True
    db.session.commit()
    assert db.session.get(DeliveryBatch, batch.id).status == "done"
    assert deliveries.maybe_finish_batch(batch.id) is False


def test_merchant_scoped_lookup_hides_other_merchants_batches(delivery, make_merchant):
    other = make_merchant()
    assert deliveries.get_batch_for_merchant(delivery["merchant"].id, delivery["batch"].id).id == delivery["batch"].id
    with pytest.raises(NotFound):
        deliveries.get_batch_for_merchant(other.id, delivery["batch"].id)
    assert deliveries.batches_for_merchant(other.id) == []
    rows = deliveries.batches_for_merchant(delivery["merchant"].id, status="created")
    assert [(b.id, n) for b, n in rows] == [(delivery["batch"].id, 3)]


def test_batches_made_by_close_carry_exactly_the_confirmed_goods(
    app, frozen_clock, make_merchant, make_product, make_window, make_point, make_order
):
    merchant = make_merchant()
    product = make_product(merchant, stock=30)
    window = make_window(
        merchant,
        items=[{"product": product}],
        opens_at=frozen_clock.now - timedelta(hours=3),
        closes_at=frozen_clock.now - timedelta(minutes=1),
    )
    point = make_point()
    place(make_order, window, point, [(window.items[0], 2)])
    place(make_order, window, point, [(window.items[0], 5)], status="pending_payment")
    place(make_order, window, point, [(window.items[0], 3)])
    closing.close_window(window.id)
    batch = db.session.scalar(select(DeliveryBatch))
    assert [(r["product_id"], r["quantity"]) for r in picking_lists.picking_list(batch)] == [(product.id, 5)]
    assert len(picking_lists.packing_list(batch)) == 2
    assert [w.id for w in deliveries.batch_windows(merchant.id)] == [window.id]


def test_dispatch_carries_the_vehicle_note_and_expected_arrival_the_leader_sees(
    app, client, login, frozen_clock, make_user, make_product, make_window, make_point, make_order
):
    from app.models import MerchantMember, User
    from tests.support.forms import csrf_from
    from tests.support.pickup import Bags

    bag = Bags(make_user, make_product, make_window, make_point, make_order).make(status="confirmed")
    batch = db.session.get(DeliveryBatch, bag.batch.id)
    batch.status = "picking"
    db.session.commit()
    owner = db.session.get(
        User,
        db.session.scalar(db.select(MerchantMember.user_id).where(MerchantMember.merchant_id == batch.merchant_id)),
    )
    with pytest.raises(ValidationFailed):
        deliveries.dispatch(batch, owner, note="x" * 201)
    with pytest.raises(ValidationFailed):
        deliveries.dispatch(batch, owner, expected_at=frozen_clock.now + timedelta(days=31))
    assert db.session.get(DeliveryBatch, batch.id, populate_existing=True).status == "picking"

    login(owner)
    page = client.get(f"/merchant/batches/{batch.id}").get_data(as_text=True)
    bad = client.post(
        f"/merchant/batches/{batch.id}/dispatch", data={"csrf_token": csrf_from(page), "expected_at": "tomorrow-ish"}
    )
    assert bad.status_code == 422
    response = client.post(
        f"/merchant/batches/{batch.id}/dispatch",
        data={"csrf_token": csrf_from(page), "note": "沪A·12345 王师傅", "expected_at": "2026-11-22T14:30"},
    )
    assert response.status_code == 303
    batch = db.session.get(DeliveryBatch, batch.id, populate_existing=True)
    assert batch.status == "dispatched" and batch.dispatch_note == "沪A·12345 王师傅"
    assert batch.expected_arrival_at == frozen_clock.now + timedelta(hours=4, minutes=30)  # 14:30 Shanghai
    login(bag.leader.user)
    html = client.get(f"/leader/batches/{batch.id}").get_data(as_text=True)
    assert "沪A·12345 王师傅" in html and 'data-testid="dispatch-details"' in html
