"""Picking and packing lists: what to pick for a batch and what goes in each bag, derived
from the orders every time they are shown, never stored."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import DeliveryBatch, Order, OrderItem
from app.services.core.text import mask_name, mask_phone
from app.services.deliveries.deliveries import NOT_DELIVERED, PICKED_LINE_STATUSES


def picking_list(batch: DeliveryBatch) -> list[dict]:
    """Product × quantity to pick for the batch (confirmed lines of orders still delivered)."""
    rows = db.session.execute(
        select(
            OrderItem.product_id,
            func.min(OrderItem.product_name),
            func.min(OrderItem.product_spec),
            func.sum(OrderItem.quantity),
            func.sum(OrderItem.shortage_qty),
        )
        .join(Order, Order.id == OrderItem.order_id)
        .where(
            Order.batch_id == batch.id,
            Order.status.not_in(NOT_DELIVERED),
            OrderItem.status.in_(PICKED_LINE_STATUSES),
        )
        # Grouped by product only: a product renamed mid-window is still one pile.
        .group_by(OrderItem.product_id)
        .order_by(func.min(OrderItem.product_name), OrderItem.product_id)
    ).all()
    return [
        {"product_id": pid, "name": name, "spec": spec, "quantity": int(qty), "shortage": int(short or 0)}
        for pid, name, spec, qty, short in rows
    ]


def packing_list(batch: DeliveryBatch) -> list[dict]:
    """Per customer bag: order number, masked name and phone, and its lines."""
    orders = db.session.scalars(
        select(Order)
        .where(Order.batch_id == batch.id, Order.status.not_in(NOT_DELIVERED))
        .options(selectinload(Order.items))
        .order_by(Order.id)
    ).all()
    return [
        {
            "order_id": order.id,
            "number": order.number,
            "customer": mask_name(order.customer_name),
            "phone": mask_phone(order.customer_phone),
            "status": order.status,
            "lines": [
                {
                    "product_id": line.product_id,
                    "name": line.product_name,
                    "spec": line.product_spec,
                    "quantity": line.quantity,
                    "shortage": line.shortage_qty,
                }
                for line in order.items
                if line.status in PICKED_LINE_STATUSES
            ],
        }
        for order in orders
    ]
