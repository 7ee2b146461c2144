import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    CustomerItemUsage,
    Order,
    OrderEvent,
    OrderItem,
    PickupCode,
    PointWindowUsage,
    Product,
    Refund,
    WindowItem,
)
from app.services.core.errors import (
    InvalidTransition,
    NotFound,
    OutOfStock,
    OverLimit,
    ValidationFailed,
    WindowClosed,
)
from app.services.orders import ordering
from tests.support.shop import ShopBuilder


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


def _orders() -> int:
    return db.session.scalar(select(func.count()).select_from(Order))


def _stock(product) -> int:
    db.session.expire_all()
    return db.session.get(Product, product.id).stock


def _assert_nothing_changed(s, stock):
    assert _orders() == 0
    assert _stock(s.product) == stock
    assert db.session.get(WindowItem, s.item.id).sold == 0
    assert db.session.scalar(select(func.count()).select_from(CustomerItemUsage)) == 0
    assert not db.session.scalar(select(func.sum(PointWindowUsage.orders_count)))


def test_place_order_reserves_stock_and_creates_a_pending_order(app, shop):
    s = shop(stock=10, price_fen=1250)
    order = ordering.place_order(s.slug, **s.order_args(3, customer_name="  张三  "))
    assert order.status == "pending_payment"
    assert order.total_fen == 3750
    assert order.customer_name == "张三"
    assert order.leader_id == s.leader.id and order.pickup_point_id == s.point.id
    assert re.fullmatch(r"\d{6}-[0-9A-HJKMNP-TV-Z]{10}", order.number)
    assert len(order.access_token) >= 40
    [item] = order.items
    assert (item.product_name, item.unit_price_fen, item.quantity, item.status) == (s.product.name, 1250, 3, "reserved")
    [event] = order.events
    assert (event.from_status, event.to_status, event.actor) == (None, "pending_payment", "customer")
    assert _stock(s.product) == 7
    assert db.session.get(WindowItem, s.item.id).sold == 3
    assert db.session.scalar(select(PointWindowUsage.orders_count)) == 1


def test_the_order_returned_holds_exactly_what_the_database_holds(app, shop):
    """place_order builds its answer from what it wrote instead of reading the row back."""
    s = shop(stock=10, price_fen=1250)
    placed = ordering.place_order(s.slug, **s.order_args(2))
    columns = [c.key for c in Order.__table__.columns]
    shown = {key: getattr(placed, key) for key in columns}
    stored = db.session.execute(select(Order.__table__).where(Order.id == placed.id)).one()._asdict()
    assert shown == stored
    assert placed.created_at.tzinfo is not None
    [event] = db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == placed.id))
    assert (event.reason, event.detail, event.created_at) == ("placed", {"slug": s.slug}, placed.created_at)
    [item] = db.session.scalars(select(OrderItem).where(OrderItem.order_id == placed.id))
    assert (item.shortage_qty, item.redeemed_qty, item.product_spec) == (0, 0, s.product.spec)


def test_phone_is_normalized_before_it_is_stored_and_counted(app, shop):
    s = shop(limit=2)
    order = ordering.place_order(s.slug, **s.order_args(2, phone="+86 138-0013-8000"))
    assert order.customer_phone == "13800138000"
    with pytest.raises(OverLimit):
        ordering.place_order(s.slug, **s.order_args(1, phone="13800138000"))


def test_zero_quantity_lines_are_ignored(app, shop):
    s = shop(n_items=2)
    order = ordering.place_order(s.slug, **s.order_args(lines={s.items[0].id: 0, s.items[1].id: 2}))
    assert [(i.window_item_id, i.quantity) for i in order.items] == [(s.items[1].id, 2)]


def test_each_order_gets_a_distinct_number_and_token(app, shop):
    s = shop()
    a = ordering.place_order(s.slug, **s.order_args(1))
    b = ordering.place_order(s.slug, **s.order_args(1, phone="13900139000"))
    assert a.number != b.number and a.access_token != b.access_token


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer_name": ""}, "customer_name"),
        ({"customer_name": "   "}, "customer_name"),
        ({"customer_name": "名" * 41}, "customer_name"),
        ({"customer_name": "bad\x00name"}, "customer_name"),
        ({"customer_phone": ""}, "customer_phone"),
        ({"customer_phone": "12345"}, "customer_phone"),
        ({"customer_phone": "23800138000"}, "customer_phone"),
        ({"customer_phone": None}, "customer_phone"),
        ({"provider": "bitcoin"}, "payment_provider"),
        ({"provider": ""}, "payment_provider"),
        ({"pickup_point_id": None}, "pickup_point_id"),
        ({"pickup_point_id": 999999}, "pickup_point_id"),
        ({"pickup_point_id": "1"}, "pickup_point_id"),
        ({"lines": {}}, "lines"),
        ({"lines": None}, "lines"),
    ],
)
def test_invalid_input_is_refused_and_changes_nothing(app, shop, overrides, field):
    s = shop(stock=10)
    with pytest.raises(ValidationFailed) as caught:
        ordering.place_order(s.slug, **s.order_args(1, **overrides))
    assert field in caught.value.fields
    _assert_nothing_changed(s, 10)


@pytest.mark.parametrize("qty", [-1, "abc", "2", 10**9, 1000, 2.0, True, None])
def test_bad_quantities_are_refused_and_change_nothing(app, shop, qty):
    s = shop(stock=10)
    with pytest.raises(ValidationFailed) as caught:
        ordering.place_order(s.slug, **s.order_args(lines={s.item.id: qty}))
    assert f"line_{s.item.id}" in caught.value.fields
    _assert_nothing_changed(s, 10)


def test_order_of_only_zero_quantities_is_refused(app, shop):
    s = shop(stock=10)
    with pytest.raises(ValidationFailed) as caught:
        ordering.place_order(s.slug, **s.order_args(0))
    assert "lines" in caught.value.fields
    _assert_nothing_changed(s, 10)


def test_more_than_fifty_lines_are_refused(app, shop):
    s = shop(stock=10)
    with pytest.raises(ValidationFailed) as caught:
        ordering.place_order(s.slug, **s.order_args(lines={s.item.id + n: 1 for n in range(51)}))
    assert "lines" in caught.value.fields
    _assert_nothing_changed(s, 10)


def test_item_of_another_window_is_refused(app, shop):
    s = shop(stock=10)
    other = shop(stock=10)
    with pytest.raises(ValidationFailed) as caught:
        ordering.place_order(s.slug, **s.order_args(lines={s.item.id: 1, other.item.id: 1}))
    assert "lines" in caught.value.fields
    _assert_nothing_changed(s, 10)
    assert _stock(other.product) == 10


def test_pickup_point_of_another_leader_is_refused(app, shop, make_point):
    s = shop(stock=10)
    foreign = make_point()
    with pytest.raises(ValidationFailed) as caught:
        ordering.place_order(s.slug, **s.order_args(pickup_point_id=foreign.id))
    assert "pickup_point_id" in caught.value.fields
    _assert_nothing_changed(s, 10)


def test_inactive_pickup_point_is_refused(app, shop):
    s = shop(stock=10)
    s.point.active = False
    db.session.commit()
    with pytest.raises(ValidationFailed):
        ordering.place_order(s.slug, **s.order_args())
    _assert_nothing_changed(s, 10)


def test_unknown_share_link_is_not_found(app, shop):
    shop()
    with pytest.raises(NotFound):
        ordering.place_order("nope", **shop().order_args())
    assert _orders() == 0


@pytest.mark.parametrize(
    "window_kw",
    [
        {"status": "closed"},
        {"status": "scheduled"},
        {"status": "draft"},
        {"opens_at": datetime.now(UTC) + timedelta(hours=1), "closes_at": datetime.now(UTC) + timedelta(hours=3)},
        {"opens_at": datetime.now(UTC) - timedelta(hours=3), "closes_at": datetime.now(UTC) - timedelta(minutes=1)},
        {"chosen_only": True},
    ],
    ids=["closed", "scheduled", "draft", "not-yet-open", "past-cut-off", "leader-not-chosen"],
)
def test_order_outside_an_open_window_is_refused(app, shop, make_leader, make_share_link, window_kw):
    s = shop(stock=10, **window_kw)
    slug = s.slug
    if window_kw.get("chosen_only"):  # the window is sold by s.leader only; link it to someone else
        other = make_leader()
        slug = make_share_link(s.window, other).slug
        point = s.point
        point.leader_id = other.id
        db.session.commit()
    with pytest.raises(WindowClosed):
        ordering.place_order(slug, **s.order_args())
    _assert_nothing_changed(s, 10)


def test_inactive_leader_cannot_take_orders(app, shop):
    s = shop(stock=10)
    s.leader.active = False
    db.session.commit()
    with pytest.raises(WindowClosed):
        ordering.place_order(s.slug, **s.order_args())
    _assert_nothing_changed(s, 10)


def test_out_of_stock_changes_nothing(app, shop):
    s = shop(stock=2, n_items=2)
    with pytest.raises(OutOfStock):
        ordering.place_order(s.slug, **s.order_args(lines={s.items[0].id: 1, s.items[1].id: 3}))
    assert _orders() == 0
    assert _stock(s.products[0]) == 2 and _stock(s.products[1]) == 2
    assert db.session.get(WindowItem, s.items[0].id).sold == 0


def test_shop_page_shows_remaining_as_min_of_stock_and_quota(app, shop):
    s = shop(stock=10, quota=4)
    ordering.place_order(s.slug, **s.order_args(3))
    page = ordering.shop_page(s.slug)
    assert page.state == "open"
    assert [entry.remaining for entry in page.items] == [1]
    assert page.points == [s.point]


def test_shop_page_of_unknown_or_draft_window_is_not_found(app, shop):
    s = shop(status="draft")
    with pytest.raises(NotFound):
        ordering.shop_page(s.slug)
    with pytest.raises(NotFound):
        ordering.shop_page("x" * 200)


# ---- cancel


def test_cancel_pending_order_gives_everything_back(app, shop):
    s = shop(stock=10, limit=5, capacity=3)
    order = ordering.place_order(s.slug, **s.order_args(4))
    cancelled = ordering.cancel_order(order.access_token, reason="changed my mind")
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert _stock(s.product) == 10
    assert db.session.get(WindowItem, s.item.id).sold == 0
    assert db.session.scalar(select(CustomerItemUsage.quantity)) == 0
    assert db.session.scalar(select(PointWindowUsage.orders_count)) == 0
    assert db.session.scalar(select(OrderItem.status)) == "cancelled"
    last = db.session.scalars(select(OrderEvent).order_by(OrderEvent.id.desc())).first()
    assert (last.from_status, last.to_status, last.reason) == ("pending_payment", "cancelled", "changed my mind")
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_cancel_twice_releases_once(app, shop):
    s = shop(stock=10)
    order = ordering.place_order(s.slug, **s.order_args(4))
    ordering.cancel_order(order.access_token)
    ordering.cancel_order(order.access_token)
    assert _stock(s.product) == 10
    assert db.session.get(WindowItem, s.item.id).sold == 0


def test_cancel_paid_order_refunds_the_payment(app, shop, make_order):
    s = shop(stock=10)
    order = make_order(s.window, s.point, [(s.item, 2)], status="paid")
    from app.models import Payment

    db.session.add(
        Payment(
            order_id=order.id,
            provider="simulator",
            provider_ref="sim_x",
            amount_fen=order.total_fen,
            recorded_by="test",
        )
    )
    db.session.commit()
    cancelled = ordering.cancel_order(order.access_token)
    assert cancelled.status == "cancelled"
    assert cancelled.refunded_fen == cancelled.paid_fen == 2500
    refund = db.session.scalar(select(Refund))
    assert (refund.amount_fen, refund.status, refund.reason) == (2500, "succeeded", "customer_cancelled")
    assert _stock(s.product) == 10


def test_cancel_after_cut_off_is_refused(app, shop, frozen_clock):
    s = shop(stock=10)
    frozen_clock.now = s.window.opens_at + timedelta(minutes=5)
    order = ordering.place_order(s.slug, **s.order_args(1))
    frozen_clock.now = s.window.closes_at
    with pytest.raises(WindowClosed):
        ordering.cancel_order(order.access_token)
    assert db.session.get(Order, order.id).status == "pending_payment"
    assert _stock(s.product) == 9


def test_cancel_of_confirmed_order_is_refused(app, shop, make_order):
    s = shop(stock=10)
    order = make_order(s.window, s.point, [(s.item, 1)], status="confirmed")
    with pytest.raises(InvalidTransition):
        ordering.cancel_order(order.access_token)
    assert db.session.get(Order, order.id).status == "confirmed"
    assert _stock(s.product) == 9


def test_unknown_token_is_not_found(app):
    with pytest.raises(NotFound):
        ordering.get_order_by_token("not-a-token")
    with pytest.raises(NotFound):
        ordering.cancel_order("")


def test_live_code_is_shown_only_for_confirmed_orders(app, shop, make_order):
    s = shop(stock=10)
    pending = ordering.place_order(s.slug, **s.order_args(1))
    confirmed = make_order(s.window, s.point, [(s.item, 1)], status="confirmed")
    assert ordering.live_code(pending) is None
    code = ordering.live_code(confirmed)
    assert isinstance(code, PickupCode) and len(code.code) == 8
