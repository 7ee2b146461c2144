"""The leader's Exceptions page: what went wrong with their community's orders and why.

Shortages (units that did not arrive, refunded at arrival), refunds of every kind with their
reason and whether a person still has to pay them out, and after-sales requests. Read-only.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import AfterSalesRequest, Leader, Order, OrderItem, Refund
from app.services.orders import after_sales

LIMIT = 100


def exceptions(leader: Leader) -> dict:
    shortages = db.session.execute(
        select(OrderItem, Order)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.leader_id == leader.id, OrderItem.shortage_qty > 0)
        .order_by(Order.arrived_at.desc(), OrderItem.id.desc())
        .limit(LIMIT)
    ).all()
    refunds = db.session.scalars(
        select(Refund)
        .join(Order, Order.id == Refund.order_id)
        .where(Order.leader_id == leader.id)
        .options(selectinload(Refund.order))
        .order_by(Refund.created_at.desc(), Refund.id.desc())
        .limit(LIMIT)
    ).all()
    open_requests = db.session.scalar(
        select(func.count())
        .select_from(AfterSalesRequest)
        .where(AfterSalesRequest.leader_id == leader.id, AfterSalesRequest.status == "open")
    )
    return {
        "shortages": [{"item": item, "order": order} for item, order in shortages],
        "refunds": refunds,
        "after_sales": after_sales.for_leader(leader.id, LIMIT),
        "open_after_sales": open_requests or 0,
    }
