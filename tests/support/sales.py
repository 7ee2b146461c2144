"""Sales for report tests: real payments and refunds through services/orders/payments.py on a moved clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Leader, Merchant, Order, PickupPoint, Product, Window, WindowItem
from app.services.core import clock
from app.services.orders import payments

# 10:00 in Shanghai on 2026-11-20; the tests' days are counted from here.
DAY0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@dataclass
class SalesShop:
    merchant: Merchant
    window: Window
    products: list[Product]
    items: list[WindowItem]
    leaders: list[Leader]
    points: list[PickupPoint]
    orders: list[Order] = field(default_factory=list)


def build(make_merchant, make_product, make_window, make_leader, make_point, *, merchant=None, quota=None) -> SalesShop:
    """A merchant with two products in one open window, sold by two leaders at one point each."""
    merchant = merchant or make_merchant()
    products = [
        make_product(merchant, name="脐橙", price_fen=2990, stock=1000),
        make_product(merchant, name="草莓", price_fen=3990, stock=1000),
    ]
    window = make_window(
        merchant,
        items=[{"product": products[0], "quota": quota}, {"product": products[1]}],
        opens_at=datetime(2026, 11, 1, tzinfo=UTC),
        closes_at=datetime(2026, 12, 30, tzinfo=UTC),
    )
    leaders = [make_leader("阳光小区"), make_leader("翠湖花园")]
    points = [make_point(leader) for leader in leaders]
    return SalesShop(merchant, window, products, list(window.items), leaders, points)


def sell(shop: SalesShop, make_order, *, at: datetime, lines, point: int = 0, phone: str | None = None) -> Order:
    """An order placed and paid (a real Payment through record_payment) at `at`, committed."""
    with clock.frozen_at(at):
        order = make_order(
            shop.window,
            shop.points[point],
            [(shop.items[i], qty) for i, qty in lines],
            status="pending_payment",
            phone=phone,
        )
        payments.record_payment(order, "offline", f"offline-{order.id}", order.total_fen, "test")
        db.session.commit()
    shop.orders.append(order)
    return order


def refund(order: Order, amount_fen: int, *, at: datetime, reason: str = "after_sales") -> None:
    with clock.frozen_at(at):
        payments.refund(order, amount_fen, reason, "test")
        db.session.commit()


def direct_totals(merchant_id: int, start: datetime, end: datetime) -> tuple[int, int]:
    """(GMV fen, orders) straight from the orders table: what the summaries must agree with."""
    row = db.session.execute(
        select(func.coalesce(func.sum(Order.paid_fen), 0), func.count(Order.id))
        .join(Window, Window.id == Order.window_id)
        .where(Window.merchant_id == merchant_id, Order.paid_at >= start, Order.paid_at < end)
    ).one()
    return int(row[0]), int(row[1])


def local(day: date) -> datetime:
    """Noon of a local day, as UTC: a moment safely inside it."""
    return clock.local_day_start(day) + timedelta(hours=12)
