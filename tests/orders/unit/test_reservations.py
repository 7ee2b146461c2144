import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CustomerItemUsage, PointWindowUsage, Product, StockAlert, WindowItem
from app.services.core.errors import CapacityFull, OutOfStock, OverLimit, WindowClosed
from app.services.orders import reservations


def _reserve(item, qty, point, phone="13800000001"):
    reservations.reserve(
        [reservations.Line(item, qty)],
        window_id=item.window_id,
        customer_phone=phone,
        pickup_point=point,
        leader_id=point.leader_id,
    )


def test_reserve_takes_stock_quota_usage_and_capacity(app, make_product, make_window, make_point):
    product = make_product(stock=10)
    window = make_window(product.merchant, items=[{"product": product, "limit": 3, "quota": 5}])
    point = make_point(capacity=2)
    _reserve(window.items[0], 2, point)
    db.session.commit()
    assert db.session.get(Product, product.id).stock == 8
    assert db.session.get(WindowItem, window.items[0].id).sold == 2
    assert db.session.scalar(select(CustomerItemUsage.quantity)) == 2
    assert db.session.scalar(select(PointWindowUsage.orders_count)) == 1


@pytest.mark.parametrize(
    ("stock", "limit", "quota", "capacity", "qty", "error"),
    [
        (1, None, None, 5, 2, OutOfStock),
        (10, 2, None, 5, 3, OverLimit),
        (10, None, 1, 5, 2, OutOfStock),
    ],
)
def test_reserve_refuses_and_rollback_leaves_nothing(
    app, make_product, make_window, make_point, stock, limit, quota, capacity, qty, error
):
    product = make_product(stock=stock)
    window = make_window(product.merchant, items=[{"product": product, "limit": limit, "quota": quota}])
    point = make_point(capacity=capacity)
    with pytest.raises(error):
        _reserve(window.items[0], qty, point)
    db.session.rollback()
    assert db.session.get(Product, product.id).stock == stock
    assert db.session.get(WindowItem, window.items[0].id).sold == 0
    assert db.session.scalar(select(CustomerItemUsage)) is None


def test_per_customer_limit_counts_across_orders(app, make_product, make_window, make_point):
    product = make_product(stock=10)
    window = make_window(product.merchant, items=[{"product": product, "limit": 3}])
    point = make_point()
    _reserve(window.items[0], 2, point)
    db.session.commit()
    with pytest.raises(OverLimit):
        _reserve(window.items[0], 2, point)
    db.session.rollback()
    _reserve(window.items[0], 2, point, phone="13800000002")  # another customer is fine
    db.session.commit()


def test_capacity_full_refuses_the_next_order(app, make_product, make_window, make_point):
    product = make_product(stock=10)
    window = make_window(product.merchant, items=[{"product": product}])
    point = make_point(capacity=1)
    _reserve(window.items[0], 1, point)
    db.session.commit()
    with pytest.raises(CapacityFull):
        _reserve(window.items[0], 1, point, phone="13800000009")


def test_closed_item_refuses_reservation(app, make_product, make_window, make_point):
    product = make_product(stock=10)
    window = make_window(product.merchant, items=[{"product": product}])
    window.items[0].status = "succeeded"
    db.session.commit()
    with pytest.raises(WindowClosed):
        _reserve(window.items[0], 1, make_point())


def test_release_gives_everything_back(app, make_product, make_window, make_point, make_order):
    product = make_product(stock=10)
    window = make_window(product.merchant, items=[{"product": product, "limit": 5}])
    point = make_point()
    order = make_order(window, point, [(window.items[0], 4)], status="pending_payment")
    reservations.release_items(order.items, order.customer_phone, leader_id=order.leader_id)
    reservations.release_capacity(pickup_point_id=point.id, window_id=window.id)
    db.session.commit()
    assert db.session.get(Product, product.id).stock == 10
    assert db.session.get(WindowItem, window.items[0].id).sold == 0
    assert db.session.scalar(select(CustomerItemUsage.quantity)) == 0
    assert db.session.scalar(select(PointWindowUsage.orders_count)) == 0


def test_crossing_threshold_opens_one_alert_and_raising_clears_it(app, make_product, make_window, make_point):
    product = make_product(stock=5, threshold=3)
    window = make_window(product.merchant, items=[{"product": product}])
    point = make_point()
    for n in range(3):  # 5 -> 4 -> 3 (crosses) -> 2
        _reserve(window.items[0], 1, point, phone=f"1380000001{n}")
        db.session.commit()
    alerts = db.session.scalars(select(StockAlert)).all()
    assert len(alerts) == 1 and alerts[0].stock_at_alert == 3
    from app.services.catalog.stock import sync_stock_alerts

    db.session.execute(db.update(Product).values(stock=20))
    sync_stock_alerts([product.id])
    db.session.commit()
    assert db.session.scalars(select(StockAlert)).one().cleared_at is not None
