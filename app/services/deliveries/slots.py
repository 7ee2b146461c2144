"""Shelf slots (货架号): the number on a waiting bag's shelf at its pickup point.

A batch's orders get numbers when it arrives: each takes the smallest number no waiting bag of
the same point holds, in order id order, so the same data always gives the same shelf. Orders
keep `shelf_slot` for history and reprints; `live_slot` is the copy the database keeps unique
per point while the bag waits, and is cleared when the bag leaves so the number is reused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import Order
from app.services.core import clock

_MAX_RACES = 50


def _taken(pickup_point_id: int) -> set[int]:
    return set(
        db.session.scalars(
            select(Order.live_slot).where(Order.pickup_point_id == pickup_point_id, Order.live_slot.is_not(None))
        )
    )


def _smallest_free(taken: set[int], start: int = 1) -> int:
    n = start
    while n in taken:
        n += 1
    return n


def _claim(order: Order, number: int, arrived_at: datetime | None) -> bool:
    """Give the order `number` (and its arrival time, if given); False if another bag holds it
    (the unique constraint says so)."""
    try:
        with db.session.begin_nested():
            db.session.execute(
                update(Order)
                .where(Order.id == order.id)
                .values(shelf_slot=number, live_slot=number, arrived_at=arrived_at or Order.arrived_at)
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:
        return False
    set_committed_value(order, "shelf_slot", number)
    set_committed_value(order, "live_slot", number)
    if arrived_at is not None:
        set_committed_value(order, "arrived_at", arrived_at)
    return True


def _place(order: Order, preferred: int | None = None, arrived_at: datetime | None = None) -> int:
    taken = _taken(order.pickup_point_id)
    candidate = preferred if preferred is not None and preferred not in taken else _smallest_free(taken)
    for _ in range(_MAX_RACES):
        if _claim(order, candidate, arrived_at):
            return candidate
        # A concurrent arrival at the same point took it: look again rather than guess.
        taken = _taken(order.pickup_point_id) | {candidate}
        candidate = _smallest_free(taken)
    raise RuntimeError("could not find a free shelf slot")  # pragma: no cover - 50 lost races


def assign_slots(batch_id: int) -> None:
    """Number the batch's waiting bags (ready_for_pickup, no live slot yet); caller's transaction."""
    orders = db.session.scalars(
        select(Order)
        .where(Order.batch_id == batch_id, Order.status == "ready_for_pickup", Order.live_slot.is_(None))
        .order_by(Order.id)
    ).all()
    now = clock.now()
    for order in orders:
        _place(order, arrived_at=order.arrived_at or now)


def free_slot(order: Order) -> None:
    """The bag left the shelf (collected or refunded): its number is free again; shelf_slot stays."""
    db.session.execute(
        update(Order).where(Order.id == order.id).values(live_slot=None).execution_options(synchronize_session=False)
    )
    set_committed_value(order, "live_slot", None)


def restore_slot(order: Order) -> int:
    """Put an undone redemption's bag back: its old number if still free, else the smallest free one."""
    if order.live_slot is not None:
        return order.live_slot
    return _place(order, preferred=order.shelf_slot)
