"""Helpers for close and delivery tests: paid orders with their Payment rows, batches, snapshots."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    DeliveryBatch,
    Order,
    OrderEvent,
    OrderItem,
    OutboxMessage,
    Payment,
    PickupCode,
    PointWindowUsage,
    Product,
    Refund,
    Window,
    WindowItem,
)


def place(make_order, window, point, lines, *, status="paid", **kw) -> Order:
    """make_order plus the Payment row a real payment leaves, so refunds have money to return."""
    order = make_order(window, point, lines, status=status, **kw)
    if order.paid_fen > 0:
        db.session.add(
            Payment(
                order_id=order.id,
                provider=order.payment_provider,
                provider_ref=f"test-{order.id}",
                amount_fen=order.paid_fen,
                recorded_by="test",
            )
        )
        db.session.commit()
    return order


def mixed_lines(i: int, a, b, c) -> list[tuple]:
    """The i-th order of a close test's window: item `a` always (1–3 units), `b` on even orders,
    `c` (the item made to miss its minimum group) on every fifth, and every seventh order holds
    only `c`, so that order fails as a whole."""
    if i % 7 == 3:
        return [(c, 1)]
    lines = [(a, 1 + i % 3)]
    if i % 2 == 0:
        lines.append((b, 1))
    if i % 5 == 0:
        lines.append((c, 2))
    return lines


def make_batch(window, point, *, status="created") -> DeliveryBatch:
    batch = DeliveryBatch(window_id=window.id, merchant_id=window.merchant_id, pickup_point_id=point.id, status=status)
    db.session.add(batch)
    db.session.commit()
    return batch


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def snapshot(window_id: int) -> dict:
    """Everything a close may change, to prove a failed close changed nothing."""
    db.session.expire_all()
    order_ids = select(Order.id).where(Order.window_id == window_id)
    return {
        "window": db.session.scalar(select(Window.status).where(Window.id == window_id)),
        "orders": db.session.execute(
            select(Order.id, Order.status, Order.refunded_fen, Order.batch_id)
            .where(Order.window_id == window_id)
            .order_by(Order.id)
        ).all(),
        "lines": db.session.execute(
            select(OrderItem.id, OrderItem.status).where(OrderItem.order_id.in_(order_ids)).order_by(OrderItem.id)
        ).all(),
        "items": db.session.execute(
            select(WindowItem.id, WindowItem.status, WindowItem.sold)
            .where(WindowItem.window_id == window_id)
            .order_by(WindowItem.id)
        ).all(),
        "stock": db.session.execute(select(Product.id, Product.stock).order_by(Product.id)).all(),
        "usage": db.session.execute(
            select(PointWindowUsage.pickup_point_id, PointWindowUsage.orders_count).order_by(PointWindowUsage.id)
        ).all(),
        "refunds": count(Refund),
        "codes": count(PickupCode),
        "batches": count(DeliveryBatch),
        "events": count(OrderEvent),
        "outbox": count(OutboxMessage),
    }
