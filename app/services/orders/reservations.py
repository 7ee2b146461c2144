"""Atomic reservation and release of stock, window quota, per-leader quota, per-customer limit
and capacity.

Everything here runs in the caller's transaction and changes counters only with conditional
UPDATEs (DESIGN.md §4.1), never by reading a value and writing it back. Rows are touched in a
fixed order — window items by id, then products by id, then leader quota rows, then usage
rows — so two transactions on PostgreSQL wait for each other instead of deadlocking. On a
raised DomainError the caller must roll back; nothing reserved so far survives that.

Per-leader quotas (app.services.windows.leader_quotas) are read and changed only while the window
item's row is locked, which the first UPDATE below does: whatever the merchant changed is
either wholly before this order or wholly after it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import bindparam, select, text, update

from app.extensions import db
from app.models import (
    CustomerItemUsage,
    OrderItem,
    PickupPoint,
    PointWindowUsage,
    Product,
    WindowItem,
    WindowLeaderQuota,
)
from app.services.catalog.stock import sync_stock_alerts
from app.services.core.dialect import insert_for_dialect
from app.services.core.errors import CapacityFull, LeaderQuotaReached, OutOfStock, OverLimit, WindowClosed

_items, _products = WindowItem.__table__, Product.__table__
# The two UPDATEs every order runs, built once as Core statements. Building the ORM statement
# and its cache key on each call cost several times what SQLite took to run it, and an order
# rush is bound by that CPU (bench/rush.py). Same SQL, same compare-and-set.
_TAKE_ITEM = (
    update(_items)
    .where(
        _items.c.id == bindparam("item_id"),
        _items.c.status == "open",
        _items.c.quota.is_(None) | (_items.c.sold + bindparam("qty") <= _items.c.quota),
    )
    .values(sold=_items.c.sold + bindparam("qty"))
    .returning(_items.c.per_leader_quota, _items.c.has_leader_overrides)
)
_TAKE_STOCK = (
    update(_products)
    .where(_products.c.id == bindparam("product_id"), _products.c.stock >= bindparam("qty"))
    .values(stock=_products.c.stock - bindparam("qty"))
)

# The per-customer limit and the pickup point's capacity, taken with one upsert each. Written
# as SQL because SQLAlchemy cannot cache an ON CONFLICT statement and compiled both on every
# order; SQLite and PostgreSQL read this SQL alike.
_TAKE_LIMIT = text(
    "INSERT INTO customer_item_usage (window_item_id, customer_phone, quantity) VALUES (:item_id, :phone, :qty) "
    "ON CONFLICT (window_item_id, customer_phone) DO UPDATE SET quantity = customer_item_usage.quantity + "
    "excluded.quantity WHERE customer_item_usage.quantity + excluded.quantity <= :limit RETURNING id"
)
_TAKE_PLACE = text(
    "INSERT INTO point_window_usage (pickup_point_id, window_id, orders_count) VALUES (:point_id, :window_id, 1) "
    "ON CONFLICT (pickup_point_id, window_id) DO UPDATE SET orders_count = point_window_usage.orders_count + 1 "
    "WHERE point_window_usage.orders_count + 1 <= :capacity RETURNING id"
)


@dataclass(frozen=True)
class Line:
    window_item: WindowItem
    quantity: int


def reserve(
    lines: list[Line], *, window_id: int, customer_phone: str, pickup_point: PickupPoint, leader_id: int
) -> None:
    """Take every unit the order needs, or raise (OutOfStock, OverLimit, LeaderQuotaReached,
    CapacityFull, WindowClosed). `leader_id` is the leader whose share link the order came through."""
    ordered = sorted(lines, key=lambda line: line.window_item.id)
    # (line, the item's per-leader default) for items where some leader cap may apply.
    capped: list[tuple[Line, int | None]] = []
    for line in ordered:
        item = line.window_item
        # RETURNING reads the leader cap settings from the row version this UPDATE locked, so
        # they are current even when a merchant changed them while this order waited.
        taken = db.session.execute(_TAKE_ITEM, {"item_id": item.id, "qty": line.quantity}).first()
        if taken is None:
            status = db.session.scalar(select(WindowItem.status).where(WindowItem.id == item.id))
            if status != "open":
                raise WindowClosed()
            raise OutOfStock(product_id=item.product_id)
        per_leader_quota, has_overrides = taken
        if per_leader_quota is not None or has_overrides:
            capped.append((line, per_leader_quota))

    per_product: dict[int, int] = defaultdict(int)
    for line in ordered:
        per_product[line.window_item.product_id] += line.quantity
    for product_id in sorted(per_product):
        taken = db.session.execute(_TAKE_STOCK, {"product_id": product_id, "qty": per_product[product_id]}).rowcount
        if not taken:
            raise OutOfStock(product_id=product_id)

    for line, per_leader_quota in capped:
        _take_leader_units(line, leader_id, per_leader_quota)

    for line in ordered:
        limit = line.window_item.per_customer_limit
        if limit is None:
            continue
        if line.quantity > limit:
            raise OverLimit(product_id=line.window_item.product_id, limit=limit)
        values = {"item_id": line.window_item.id, "phone": customer_phone, "qty": line.quantity, "limit": limit}
        # RETURNING, not rowcount: drivers disagree on rowcount for upserts.
        if db.session.execute(_TAKE_LIMIT, values).first() is None:
            raise OverLimit(product_id=line.window_item.product_id, limit=limit)

    values = {"point_id": pickup_point.id, "window_id": window_id, "capacity": pickup_point.capacity}
    if pickup_point.capacity < 1 or db.session.execute(_TAKE_PLACE, values).first() is None:
        raise CapacityFull(pickup_point_id=pickup_point.id)

    sync_stock_alerts(per_product)


def _take_leader_units(line: Line, leader_id: int, per_leader_quota: int | None) -> None:
    """Count the line against the leader's quota row, creating it from the item's default."""
    item, qty = line.window_item, line.quantity
    row_matches = (WindowLeaderQuota.window_item_id == item.id, WindowLeaderQuota.leader_id == leader_id)
    if per_leader_quota is not None and qty <= per_leader_quota:
        insert = insert_for_dialect()
        stmt = insert(WindowLeaderQuota).values(
            window_item_id=item.id, leader_id=leader_id, quota=per_leader_quota, sold=qty, explicit=False
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["window_item_id", "leader_id"],
            set_={"sold": WindowLeaderQuota.sold + stmt.excluded.sold},
            where=WindowLeaderQuota.sold + stmt.excluded.sold <= WindowLeaderQuota.quota,
        )
        if db.session.execute(stmt.returning(WindowLeaderQuota.id)).first() is not None:
            return
    else:
        # Only an existing row can take it: an override, or (qty above the default) nothing.
        taken = db.session.execute(
            update(WindowLeaderQuota)
            .where(*row_matches, WindowLeaderQuota.sold + qty <= WindowLeaderQuota.quota)
            .values(sold=WindowLeaderQuota.sold + qty)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken:
            return
    row = db.session.execute(select(WindowLeaderQuota.quota, WindowLeaderQuota.sold).where(*row_matches)).first()
    if row is None and per_leader_quota is None:
        return  # overrides exist for other leaders only: this one is not capped
    left = max(0, row.quota - row.sold) if row is not None else per_leader_quota
    raise LeaderQuotaReached(
        _("Only %(n)d of %(name)s left for this community.", n=left, name=item.product.name),
        product_id=item.product_id,
        remaining=left,
    )


def release_items(items: list[OrderItem], customer_phone: str, *, leader_id: int) -> None:
    """Give back what these order lines reserved. The caller has already moved the lines (or
    their order) out of a live state with compare-and-set, which is what makes this run once.
    `leader_id` is the order's leader, whose quota rows (if any) get their units back."""
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
        # No row means the leader was never capped on this item: nothing to give back.
        db.session.execute(
            update(WindowLeaderQuota)
            .where(
                WindowLeaderQuota.window_item_id == item.window_item_id,
                WindowLeaderQuota.leader_id == leader_id,
                WindowLeaderQuota.sold >= item.quantity,
            )
            .values(sold=WindowLeaderQuota.sold - item.quantity)
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
