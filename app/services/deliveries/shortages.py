"""Shortages at arrival: which lines lose the units that did not come, and what that costs.

Short units are allocated to the LATEST-placed orders first: first come, first served, so the
neighbours who ordered earliest keep their goods. Short units are refunded, never redeemable,
and are not returned to stock (they never existed on the merchant's shelf). Everything here
runs in the caller's transaction, under the caller's lock on the batch's orders.
"""

from __future__ import annotations

from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import Order, OrderItem
from app.services.core.errors import ValidationFailed


def open_lines(batch_id: int) -> list[OrderItem]:
    """Lines of the batch's confirmed orders, latest-placed order first (the allocation order)."""
    return list(
        db.session.scalars(
            select(OrderItem)
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.batch_id == batch_id, Order.status == "confirmed", OrderItem.status == "confirmed")
            .order_by(Order.created_at.desc(), Order.id.desc(), OrderItem.id)
            .execution_options(populate_existing=True)
        )
    )


def validate(shortages: dict, lines: list[OrderItem]) -> dict[int, int]:
    """product_id → units, each 0..what the lines still hold; ValidationFailed keyed by str(product_id)."""
    available: dict[int, int] = defaultdict(int)
    for line in lines:
        available[line.product_id] += line.quantity - line.shortage_qty
    errors: dict[str, str] = {}
    wanted: dict[int, int] = {}
    for key, value in (shortages or {}).items():
        try:
            product_id, units = int(key), int(value)
        except (TypeError, ValueError):
            errors[str(key)] = _("Enter a whole number.")
            continue
        if product_id not in available:
            errors[str(key)] = _("This product is not in the batch.")
        elif units < 0 or units > available[product_id]:
            errors[str(key)] = _("Enter 0 to %(max)d.", max=available[product_id])
        elif units:
            wanted[product_id] = units
    if errors:
        raise ValidationFailed(fields=errors)
    return wanted


def allocate(wanted: dict[int, int], lines: list[OrderItem]) -> dict[int, dict[int, int]]:
    """Mark short units on lines (latest orders first); returns {order id: {line id: fen to
    refund}}: the short units at the price paid, within what is left to refund on the line (an
    after-sales refund before arrival may have paid some of them back already)."""
    refund_fen: dict[int, dict[int, int]] = defaultdict(dict)
    left = dict(wanted)
    for line in lines:  # already latest-first
        need = left.get(line.product_id, 0)
        take = min(need, line.quantity - line.shortage_qty)
        if take <= 0:
            continue
        marked = db.session.execute(
            update(OrderItem)
            .where(OrderItem.id == line.id, OrderItem.shortage_qty + take <= OrderItem.quantity)
            .values(shortage_qty=OrderItem.shortage_qty + take)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not marked:
            continue
        set_committed_value(line, "shortage_qty", line.shortage_qty + take)
        left[line.product_id] = need - take
        if fen := min(take * line.unit_price_fen, line.refundable_fen):
            refund_fen[line.order_id][line.id] = fen
    return refund_fen


def detail(lines: list[OrderItem]) -> dict | None:
    """The order event's record of what was short."""
    short = {str(line.product_id): line.shortage_qty for line in lines if line.shortage_qty}
    return {"shortages": short} if short else None
