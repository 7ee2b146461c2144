"""Per-leader quotas within a window: reserving refuses past a leader's share and changes
nothing, other leaders are unaffected, overrides beat the default, every release gives the
leader's units back once, and the merchant cannot cap a leader below what it already sold."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    CustomerItemUsage,
    Merchant,
    Order,
    PointWindowUsage,
    Product,
    WindowItem,
    WindowLeaderQuota,
)
from app.services.closing import closing
from app.services.core.errors import InvalidTransition, LeaderQuotaReached, ValidationFailed
from app.services.orders import ordering, reservations
from app.services.windows import leader_quotas, window_editing
from tests.support.batches import place
from tests.support.merchant import window_input
from tests.support.shop import ShopBuilder

ACTOR = "test"


@pytest.fixture
def shop(make_product, make_window, make_leader, make_point, make_share_link):
    return ShopBuilder(make_product, make_window, make_leader, make_point, make_share_link)


def _reserve(item, qty, point, phone="13800000001"):
    reservations.reserve(
        [reservations.Line(item, qty)],
        window_id=item.window_id,
        customer_phone=phone,
        pickup_point=point,
        leader_id=point.leader_id,
    )


def _capped_window(make_product, make_window, *, per_leader=None, stock=100, **item):
    product = make_product(stock=stock)
    window = make_window(product.merchant, items=[{"product": product, **item}])
    if per_leader is not None:
        leader_quotas.set_item_default(window, window.items[0].id, per_leader, actor=ACTOR)
    return window, window.items[0], product


def _leader_sold(item_id, leader_id):
    db.session.expire_all()
    return db.session.scalar(
        select(WindowLeaderQuota.sold).where(
            WindowLeaderQuota.window_item_id == item_id, WindowLeaderQuota.leader_id == leader_id
        )
    )


def _counters(item_id, product_id):
    db.session.expire_all()
    return {
        "stock": db.session.get(Product, product_id).stock,
        "sold": db.session.get(WindowItem, item_id).sold,
        "leaders": sorted(
            db.session.execute(
                select(WindowLeaderQuota.leader_id, WindowLeaderQuota.sold).where(
                    WindowLeaderQuota.window_item_id == item_id
                )
            ).all()
        ),
        "usage": sorted(db.session.scalars(select(CustomerItemUsage.quantity))),
        "places": sorted(db.session.scalars(select(PointWindowUsage.orders_count))),
    }


# ---- reserving


def test_reserve_past_the_leader_quota_is_refused_and_changes_no_counter(app, make_product, make_window, make_point):
    window, item, product = _capped_window(make_product, make_window, per_leader=3, limit=10)
    point = make_point()
    _reserve(item, 2, point)
    db.session.commit()
    before = _counters(item.id, product.id)
    with pytest.raises(LeaderQuotaReached) as caught:
        _reserve(item, 2, point, phone="13800000002")
    db.session.rollback()
    assert caught.value.code == "leader_quota_reached" and caught.value.status == 409
    assert caught.value.context["remaining"] == 1
    assert "1" in caught.value.message and product.name in caught.value.message
    assert _counters(item.id, product.id) == before
    assert before["stock"] == 98 and before["sold"] == 2 and before["leaders"] == [(point.leader_id, 2)]


def test_a_single_line_above_the_default_is_refused_before_any_row_exists(app, make_product, make_window, make_point):
    window, item, product = _capped_window(make_product, make_window, per_leader=3)
    point = make_point()
    with pytest.raises(LeaderQuotaReached):
        _reserve(item, 4, point)
    db.session.rollback()
    assert _counters(item.id, product.id)["leaders"] == []
    assert db.session.get(Product, product.id).stock == 100


def test_other_leaders_are_unaffected_when_one_reaches_its_quota(app, make_product, make_window, make_point):
    window, item, product = _capped_window(make_product, make_window, per_leader=3)
    first, second = make_point(), make_point()
    _reserve(item, 3, first)
    db.session.commit()
    with pytest.raises(LeaderQuotaReached):
        _reserve(item, 1, first, phone="13800000009")
    db.session.rollback()
    _reserve(item, 3, second, phone="13800000010")
    db.session.commit()
    assert _leader_sold(item.id, first.leader_id) == 3
    assert _leader_sold(item.id, second.leader_id) == 3
    assert db.session.get(WindowItem, item.id).sold == 6


def test_an_override_beats_the_default_both_ways(app, make_product, make_window, make_point):
    window, item, product = _capped_window(make_product, make_window, per_leader=3)
    bigger, smaller, plain = make_point(), make_point(), make_point()
    leader_quotas.set_leader_quota(window, item.id, bigger.leader_id, 5, actor=ACTOR)
    leader_quotas.set_leader_quota(window, item.id, smaller.leader_id, 1, actor=ACTOR)
    _reserve(item, 5, bigger)
    _reserve(item, 1, smaller, phone="13800000002")
    _reserve(item, 3, plain, phone="13800000003")
    db.session.commit()
    for point in (bigger, smaller, plain):
        with pytest.raises(LeaderQuotaReached):
            _reserve(item, 1, point, phone="13800000004")
        db.session.rollback()
    assert db.session.get(WindowItem, item.id).sold == 9


def test_an_override_without_a_default_caps_only_that_leader(app, make_product, make_window, make_point):
    window, item, product = _capped_window(make_product, make_window)
    capped, free = make_point(), make_point()
    leader_quotas.set_leader_quota(window, item.id, capped.leader_id, 2, actor=ACTOR)
    assert db.session.get(WindowItem, item.id).has_leader_overrides is True
    _reserve(item, 50, free)
    _reserve(item, 2, capped, phone="13800000002")
    db.session.commit()
    with pytest.raises(LeaderQuotaReached):
        _reserve(item, 1, capped, phone="13800000003")
    db.session.rollback()
    assert _leader_sold(item.id, free.leader_id) is None  # never capped: no row, nothing counted


def test_a_zero_override_keeps_a_leader_from_selling_the_item(app, make_product, make_window, make_point):
    window, item, product = _capped_window(make_product, make_window, per_leader=10)
    point = make_point()
    leader_quotas.set_leader_quota(window, item.id, point.leader_id, 0, actor=ACTOR)
    with pytest.raises(LeaderQuotaReached):
        _reserve(item, 1, point)
    db.session.rollback()
    assert db.session.get(WindowItem, item.id).sold == 0


# ---- giving back


def test_cancelling_gives_the_leader_units_back(app, shop):
    s = shop(stock=20)
    leader_quotas.set_item_default(s.window, s.item.id, 3, actor=ACTOR)
    order = ordering.place_order(s.slug, **s.order_args(3))
    with pytest.raises(LeaderQuotaReached):
        ordering.place_order(s.slug, **s.order_args(1, phone="13800138001"))
    assert _leader_sold(s.item.id, s.leader.id) == 3
    ordering.cancel_order(order.access_token)
    ordering.cancel_order(order.access_token)  # a double click gives back nothing more
    assert _leader_sold(s.item.id, s.leader.id) == 0
    ordering.place_order(s.slug, **s.order_args(3, phone="13800138002"))
    assert _leader_sold(s.item.id, s.leader.id) == 3


def test_close_gives_back_the_leader_units_of_unpaid_and_failed_lines_once(
    app, frozen_clock, make_product, make_window, make_point, make_order
):
    apple = make_product(stock=50)
    pear = make_product(apple.merchant, stock=50)
    window = make_window(
        apple.merchant,
        items=[{"product": apple}, {"product": pear, "min_group": 5}],
        opens_at=frozen_clock.now - timedelta(hours=5),
        closes_at=frozen_clock.now - timedelta(minutes=1),
    )
    a, p = window.items
    leader_quotas.set_item_default(window, a.id, 10, actor=ACTOR)
    leader_quotas.set_item_default(window, p.id, 10, actor=ACTOR)
    point = make_point()
    place(make_order, window, point, [(a, 2)], status="pending_payment")  # cancelled at close
    place(make_order, window, point, [(a, 3), (p, 4)])  # apple confirmed, pear's group fails
    assert (_leader_sold(a.id, point.leader_id), _leader_sold(p.id, point.leader_id)) == (5, 4)

    assert closing.close_window(window.id) is not None
    assert (_leader_sold(a.id, point.leader_id), _leader_sold(p.id, point.leader_id)) == (3, 0)
    assert closing.close_window(window.id) is None  # a second run claims nothing
    assert (_leader_sold(a.id, point.leader_id), _leader_sold(p.id, point.leader_id)) == (3, 0)
    assert db.session.get(WindowItem, a.id).sold == 3


def test_release_without_a_leader_row_changes_no_quota(app, make_product, make_window, make_point, make_order):
    product = make_product(stock=10)
    window = make_window(product.merchant, items=[{"product": product}])
    point = make_point()
    order = make_order(window, point, [(window.items[0], 4)], status="pending_payment")
    reservations.release_items(order.items, order.customer_phone, leader_id=order.leader_id)
    db.session.commit()
    assert db.session.scalar(select(WindowLeaderQuota)) is None
    assert db.session.get(WindowItem, window.items[0].id).sold == 0


# ---- the merchant's settings


def test_a_cap_set_on_an_open_window_counts_what_the_leader_already_sold(
    app, make_product, make_window, make_point, make_order
):
    window, item, product = _capped_window(make_product, make_window)
    point = make_point()
    make_order(window, point, [(item, 4)])
    leader_quotas.set_item_default(window, item.id, 5, actor=ACTOR)
    assert _leader_sold(item.id, point.leader_id) == 4
    _reserve(item, 1, point, phone="13800000002")
    db.session.commit()
    with pytest.raises(LeaderQuotaReached):
        _reserve(item, 1, point, phone="13800000003")
    db.session.rollback()


def test_capping_a_leader_below_what_it_sold_is_refused_and_writes_nothing(
    app, make_product, make_window, make_point, make_order
):
    window, item, product = _capped_window(make_product, make_window, per_leader=10)
    point = make_point()
    make_order(window, point, [(item, 6)])
    with pytest.raises(ValidationFailed) as caught:
        leader_quotas.set_leader_quota(window, item.id, point.leader_id, 5, actor=ACTOR)
    assert "6" in caught.value.fields["quota"]
    with pytest.raises(ValidationFailed) as caught:
        leader_quotas.set_item_default(window, item.id, 5, actor=ACTOR)
    assert "6" in caught.value.fields["per_leader_quota"]
    db.session.expire_all()
    assert db.session.get(WindowItem, item.id).per_leader_quota == 10
    assert db.session.scalars(select(WindowLeaderQuota.quota)).all() == [10]
    leader_quotas.set_leader_quota(window, item.id, point.leader_id, 6, actor=ACTOR)  # exactly what it sold
    assert _leader_sold(item.id, point.leader_id) == 6


def test_changing_the_default_moves_the_rows_that_follow_it_but_not_overrides(
    app, make_product, make_window, make_point, make_order
):
    window, item, product = _capped_window(make_product, make_window, per_leader=10)
    follower, own = make_point(), make_point()
    make_order(window, follower, [(item, 2)])
    leader_quotas.set_leader_quota(window, item.id, own.leader_id, 7, actor=ACTOR)
    leader_quotas.set_item_default(window, item.id, 4, actor=ACTOR)
    db.session.expire_all()
    rows = dict(db.session.execute(select(WindowLeaderQuota.leader_id, WindowLeaderQuota.quota)).all())
    assert rows == {follower.leader_id: 4, own.leader_id: 7}
    leader_quotas.set_item_default(window, item.id, None, actor=ACTOR)
    db.session.expire_all()
    assert db.session.scalars(select(WindowLeaderQuota.leader_id)).all() == [own.leader_id]


def test_removing_an_override_falls_back_to_the_default_unless_the_leader_sold_more(
    app, make_product, make_window, make_point, make_order
):
    window, item, product = _capped_window(make_product, make_window, per_leader=3)
    point = make_point()
    row = leader_quotas.set_leader_quota(window, item.id, point.leader_id, 8, actor=ACTOR)
    make_order(window, point, [(item, 5)])
    with pytest.raises(ValidationFailed):
        leader_quotas.remove_leader_quota(window, row.id, actor=ACTOR)
    assert db.session.get(WindowLeaderQuota, row.id).explicit is True
    leader_quotas.set_item_default(window, item.id, 5, actor=ACTOR)
    leader_quotas.remove_leader_quota(window, row.id, actor=ACTOR)
    db.session.expire_all()
    kept = db.session.get(WindowLeaderQuota, row.id)
    assert (kept.explicit, kept.quota, kept.sold) == (False, 5, 5)
    assert db.session.get(WindowItem, item.id).has_leader_overrides is False


def test_quotas_of_a_closed_window_cannot_change(app, make_product, make_window, make_point):
    product = make_product()
    window = make_window(product.merchant, items=[{"product": product}], status="closed")
    with pytest.raises(InvalidTransition):
        leader_quotas.set_item_default(window, window.items[0].id, 3, actor=ACTOR)
    with pytest.raises(InvalidTransition):
        leader_quotas.set_leader_quota(window, window.items[0].id, make_point().leader_id, 3, actor=ACTOR)


def test_a_leader_not_chosen_for_the_window_cannot_get_a_quota(app, make_product, make_window, make_leader):
    product = make_product()
    chosen, other = make_leader(), make_leader()
    window = make_window(product.merchant, items=[{"product": product}], leaders=[chosen])
    with pytest.raises(ValidationFailed) as caught:
        leader_quotas.set_leader_quota(window, window.items[0].id, other.id, 3, actor=ACTOR)
    assert "leader_id" in caught.value.fields
    assert db.session.scalar(select(WindowLeaderQuota)) is None


def test_copying_a_window_carries_its_quotas_with_nothing_sold(
    app, frozen_clock, make_product, make_window, make_point, make_order
):
    product = make_product()
    window = make_window(
        product.merchant,
        items=[{"product": product}],
        opens_at=frozen_clock.now - timedelta(hours=1),
        closes_at=frozen_clock.now + timedelta(hours=2),
    )
    item = window.items[0]
    leader_quotas.set_item_default(window, item.id, 4, actor=ACTOR)
    point = make_point()
    leader_quotas.set_leader_quota(window, item.id, point.leader_id, 9, actor=ACTOR)
    make_order(window, point, [(item, 2)])
    copy = window_editing.copy_window(window)
    copied = copy.items[0]
    assert copied.per_leader_quota == 4 and copied.has_leader_overrides is True
    rows = db.session.execute(
        select(WindowLeaderQuota.leader_id, WindowLeaderQuota.quota, WindowLeaderQuota.sold).where(
            WindowLeaderQuota.window_item_id == copied.id
        )
    ).all()
    assert rows == [(point.leader_id, 9, 0)]


def test_shop_page_shows_what_is_left_for_the_leader(app, shop):
    s = shop(stock=100)
    leader_quotas.set_item_default(s.window, s.item.id, 12, actor=ACTOR)
    ordering.place_order(s.slug, **s.order_args(5))
    entry = ordering.shop_page(s.slug).items[0]
    assert (entry.remaining, entry.leader_remaining, entry.community_capped) == (7, 7, True)
    assert db.session.scalar(select(Order.leader_id)) == s.leader.id


def test_dropping_an_item_from_a_draft_takes_its_quotas_along(app, frozen_clock, make_product, make_point):
    apple = make_product()
    pear = make_product(apple.merchant)
    merchant = db.session.get(Merchant, apple.merchant_id)
    window = window_editing.create_window(merchant, window_input([apple, pear]))
    apple_item = next(item for item in window.items if item.product_id == apple.id)
    leader_quotas.set_item_default(window, apple_item.id, 5, actor=ACTOR)
    leader_quotas.set_leader_quota(window, apple_item.id, make_point().leader_id, 2, actor=ACTOR)
    window_editing.update_window(window, window_input([pear]))
    db.session.expire_all()
    assert [item.product_id for item in window.items] == [pear.id]
    assert db.session.scalar(select(WindowLeaderQuota)) is None
