"""Atomic reservation and release of stock, window quota, per-customer limit and capacity.

Everything here runs in the caller's transaction and changes counters only with conditional
UPDATEs (DESIGN.md §4.1), never by reading a value and writing it back. Rows are touched in a
fixed order — window items by id, then products by id, then usage rows — so two transactions
on PostgreSQL wait for each other instead of deadlocking. On a raised DomainError the caller
must roll back; nothing reserved so far survives that.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select, update

from app.extensions import db
from app.models import CustomerItemUsage, OrderItem, PickupPoint, PointWindowUsage, Product, WindowItem
from app.services.errors import CapacityFull, OutOfStock, OverLimit, WindowClosed
from app.services.stock import sync_stock_alerts


@dataclass(frozen=True)
class Line:
    window_item: WindowItem
    quantity: int


def _insert_for_dialect():
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def reserve(lines: list[Line], *, window_id: int, customer_phone: str, pickup_point: PickupPoint) -> None:
    """Take every unit the order needs, or raise (OutOfStock, OverLimit, CapacityFull, WindowClosed)."""
    ordered = sorted(lines, key=lambda line: line.window_item.id)
    for line in ordered:
        item = line.window_item
        taken = db.session.execute(
            update(WindowItem)
            .where(
                WindowItem.id == item.id,
                WindowItem.status == "open",
                (WindowItem.quota.is_(None)) | (WindowItem.sold + line.quantity <= WindowItem.quota),
            )
            .values(sold=WindowItem.sold + line.quantity)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not taken:
            status = db.session.scalar(select(WindowItem.status).where(WindowItem.id == item.id))
            if status != "open":
                raise WindowClosed()
            raise OutOfStock(product_id=item.product_id)

    per_product: dict[int, int] = defaultdict(int)
    for line in ordered:
        per_product[line.window_item.product_id] += line.quantity
    for product_id in sorted(per_product):
        taken = db.session.execute(
            update(Product)
            .where(Product.id == product_id, Product.stock >= per_product[product_id])
            .values(stock=Product.stock - per_product[product_id])
            .execution_options(synchronize_session=False)
        ).rowcount
        if not taken:
            raise OutOfStock(product_id=product_id)

    insert = _insert_for_dialect()
    for line in ordered:
        limit = line.window_item.per_customer_limit
        if limit is None:
            continue
        if line.quantity > limit:
            raise OverLimit(product_id=line.window_item.product_id, limit=limit)
        stmt = insert(CustomerItemUsage).values(
            window_item_id=line.window_item.id, customer_phone=customer_phone, quantity=line.quantity
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["window_item_id", "customer_phone"],
            set_={"quantity": CustomerItemUsage.quantity + stmt.excluded.quantity},
            where=CustomerItemUsage.quantity + stmt.excluded.quantity <= limit,
        )
        # RETURNING, not rowcount: drivers disagree on rowcount for upserts.
        if db.session.execute(stmt.returning(CustomerItemUsage.id)).first() is None:
            raise OverLimit(product_id=line.window_item.product_id, limit=limit)

    stmt = insert(PointWindowUsage).values(pickup_point_id=pickup_point.id, window_id=window_id, orders_count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["pickup_point_id", "window_id"],
        set_={"orders_count": PointWindowUsage.orders_count + 1},
        where=PointWindowUsage.orders_count + 1 <= pickup_point.capacity,
    )
    if pickup_point.capacity < 1 or db.session.execute(stmt.returning(PointWindowUsage.id)).first() is None:
        raise CapacityFull(pickup_point_id=pickup_point.id)

    sync_stock_alerts(per_product)


def release_items(items: list[OrderItem], customer_phone: str) -> None:
    """Give back what these order lines reserved. The caller has already moved the lines (or
    their order) out of a live state with compare-and-set, which is what makes this run once."""
    ordered = sorted(items, key=lambda i: i.window_item_id)
    for item in ordered:
        db.session.execute(
            update(WindowItem)
            .where(WindowItem.id == item.window_item_id)
            .values(sold=WindowItem.sold - item.quantity)
            .execution_options(synchronize_session=False)
        )
    per_product: dict[int, int] = defaultdict(int)
    for item in ordered:
        per_product[item.product_id] += item.quantity
    for product_id in sorted(per_product):
        db.session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + per_product[product_id])
            .execution_options(synchronize_session=False)
        )
    for item in ordered:
        db.session.execute(
            update(CustomerItemUsage)
            .where(
                CustomerItemUsage.window_item_id == item.window_item_id,
                CustomerItemUsage.customer_phone == customer_phone,
                CustomerItemUsage.quantity >= item.quantity,
            )
            .values(quantity=CustomerItemUsage.quantity - item.quantity)
            .execution_options(synchronize_session=False)
        )
    sync_stock_alerts(per_product)


def release_capacity(*, pickup_point_id: int, window_id: int) -> None:
    """Free the order's place at its pickup point (once per order, under the caller's CAS)."""
    db.session.execute(
        update(PointWindowUsage)
        .where(
            PointWindowUsage.pickup_point_id == pickup_point_id,
            PointWindowUsage.window_id == window_id,
            PointWindowUsage.orders_count > 0,
        )
        .values(orders_count=PointWindowUsage.orders_count - 1)
        .execution_options(synchronize_session=False)
    )
