"""DESIGN.md §4.10 as a check over the whole database: no line refunded beyond what was paid for
it, and every order's refunded_fen the sum of its refunds, which are its lines' plus the late
payments handed back (money that paid for no line)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OrderItem, Payment, Refund

# The reason refunds.refund_late_payment records, spelled out: this check also runs on old code.
LATE_PAYMENT = "late_payment"


def paid_online(order: Order) -> None:
    """Record the online payment a bag built directly in the database would have had, so refunds
    of it go through the provider like a real customer's."""
    db.session.add(
        Payment(
            order_id=order.id,
            provider="simulator",
            provider_ref=f"t-{order.id}",
            amount_fen=order.paid_fen,
            recorded_by="test",
        )
    )
    db.session.commit()


def money_problems() -> list[str]:
    """Every way the refunds recorded break the invariant, in words (empty: they add up)."""
    db.session.expire_all()
    problems = [
        f"line {line_id} refunded {refunded} of {paid} paid"
        for line_id, refunded, paid in db.session.execute(
            select(OrderItem.id, OrderItem.refunded_fen, OrderItem.unit_price_fen * OrderItem.quantity).where(
                (OrderItem.refunded_fen < 0) | (OrderItem.refunded_fen > OrderItem.unit_price_fen * OrderItem.quantity)
            )
        )
    ]
    on_lines = _sums(select(OrderItem.order_id, func.sum(OrderItem.refunded_fen)))
    refunded = _sums(select(Refund.order_id, func.sum(Refund.amount_fen)))
    late = _sums(select(Refund.order_id, func.sum(Refund.amount_fen)).where(Refund.reason == LATE_PAYMENT))
    for order_id, paid, order_refunded in db.session.execute(select(Order.id, Order.paid_fen, Order.refunded_fen)):
        if order_refunded > paid:
            problems.append(f"order {order_id} refunded {order_refunded} of {paid} paid")
        if order_refunded != refunded.get(order_id, 0):
            problems.append(f"order {order_id} says {order_refunded} refunded, its refunds {refunded.get(order_id)}")
        if order_refunded != on_lines.get(order_id, 0) + late.get(order_id, 0):
            problems.append(
                f"order {order_id} refunded {order_refunded}: lines {on_lines.get(order_id)}, late {late.get(order_id)}"
            )
    return problems


def _sums(stmt) -> dict[int, int]:
    """{order id: sum} of a two-column (order id, sum) select, grouped by its first column."""
    first = stmt.selected_columns[0]
    return {order_id: int(total or 0) for order_id, total in db.session.execute(stmt.group_by(first)).all()}


def assert_money_adds_up() -> None:
    assert money_problems() == []
