"""The leader's view of a pickup point: bags waiting by shelf slot, collected today, overdue,
recent hand-overs (to undo a mistake) and reminders for bags nobody came for.

Customers have no accounts, so a reminder is not pushed to anyone: it stamps the orders'
reminded_at and gives the leader a ready-to-paste message for the community's group chat,
which is where customers of a 团购 already talk to their leader.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Leader, Order, PickupCode, PickupPoint, Redemption, User
from app.permissions import scoped_or_404
from app.services.core import clock
from app.services.core.errors import ValidationFailed
from app.services.core.text import mask_name
from app.services.counter import counter_lock, offline_conflicts, redemption_lines, redemption_undo

MAX_REMIND = 500


def led_points(leader: Leader) -> list[PickupPoint]:
    stmt = select(PickupPoint).where(PickupPoint.leader_id == leader.id).order_by(PickupPoint.name)
    return list(db.session.scalars(stmt))


def led_point(leader: Leader, point_id: int) -> PickupPoint:
    return scoped_or_404(select(PickupPoint).where(PickupPoint.id == point_id, PickupPoint.leader_id == leader.id))


def overdue_before() -> datetime:
    return clock.now() - timedelta(days=int(current_app.config.get("OVERDUE_DAYS", 2)))


def _local_midnight() -> datetime:
    local = clock.to_local(clock.now())
    return datetime.combine(local.date(), time(0), tzinfo=local.tzinfo).astimezone(UTC)


def _bag(order: Order) -> dict:
    return {
        "order_id": order.id,
        "order_number": order.number,
        "number_tail": order.number[-4:],
        "slot": order.shelf_slot,
        "customer_name": mask_name(order.customer_name),
        "arrived_at": order.arrived_at,
        "reminded_at": order.reminded_at,
        "completed_at": order.completed_at,
        "items": [
            {"name": item.product_name, "spec": item.product_spec, "remaining": redemption_lines.remaining(item)}
            for item in order.items
            if redemption_lines.remaining(item)
        ],
    }


def _slot_order(bag: dict):
    return (bag["slot"] is None, bag["slot"] or 0, bag["order_number"])


def overview(leader: Leader, point_id: int) -> dict:
    point = led_point(leader, point_id)
    waiting_orders = db.session.scalars(
        select(Order)
        .where(Order.pickup_point_id == point.id, Order.status == "ready_for_pickup")
        .options(selectinload(Order.items))
    ).all()
    waiting = sorted((_bag(order) for order in waiting_orders), key=_slot_order)
    cutoff = overdue_before()
    overdue = [bag for bag in waiting if bag["arrived_at"] is not None and bag["arrived_at"] < cutoff]
    collected = db.session.scalars(
        select(Order)
        .where(
            Order.pickup_point_id == point.id,
            Order.status == "completed",
            Order.completed_at >= _local_midnight(),
        )
        .order_by(Order.completed_at.desc())
        .options(selectinload(Order.items))
    ).all()
    return {
        "point": point,
        "waiting": waiting,
        "overdue": overdue,
        "collected_today": [_bag(order) for order in collected],
        "recent": recent_redemptions(point.id),
        "conflicts": offline_conflicts.recent(point.id),
        "overdue_days": int(current_app.config.get("OVERDUE_DAYS", 2)),
        "code_lock_until": counter_lock.shared_lock(point.id),
    }


def recent_redemptions(point_id: int, limit: int = 50) -> list[dict]:
    """Successful hand-overs at this point still inside the undo window, newest first."""
    since = clock.now() - redemption_undo.undo_window()
    rows = db.session.execute(
        select(Redemption, PickupCode, Order, User)
        .join(PickupCode, PickupCode.id == Redemption.pickup_code_id)
        .join(Order, Order.id == PickupCode.order_id)
        .join(User, User.id == Redemption.user_id)
        .where(PickupCode.pickup_point_id == point_id, Redemption.outcome == "redeemed", Redemption.created_at >= since)
        .order_by(Redemption.created_at.desc(), Redemption.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": row.id,
            "order_number": order.number,
            "slot": order.shelf_slot,
            "customer_name": mask_name(order.customer_name),
            "by": user.name,
            "at": row.created_at,
            "units": sum(int(line["quantity"]) for line in row.lines or []),
            "undone_at": row.undone_at,
            "undo_reason": row.undo_reason,
            "can_undo": redemption_undo.can_undo(row),
        }
        for row, _code, order, user in rows
    ]


def remind(leader: Leader, point_id: int, order_ids: list[int] | None = None) -> dict:
    """Stamp reminded_at on waiting bags (the given ones, or every overdue bag) and return the
    group-chat message listing them. Orders of other points, or not waiting, are a 422."""
    point = led_point(leader, point_id)
    stmt = select(Order).where(Order.pickup_point_id == point.id, Order.status == "ready_for_pickup")
    if order_ids is None:
        stmt = stmt.where(Order.arrived_at < overdue_before())
    else:
        if not order_ids or len(order_ids) > MAX_REMIND:
            raise ValidationFailed(fields={"order_id": _("Choose an order waiting at this point.")})
        stmt = stmt.where(Order.id.in_(order_ids))
    orders = db.session.scalars(stmt).all()
    if order_ids is not None and len(orders) != len(set(order_ids)):
        raise ValidationFailed(fields={"order_id": _("Choose an order waiting at this point.")})
    stamp_reminded(orders)
    db.session.commit()
    return reminder_for(point, orders)


def stamp_reminded(orders: list[Order]) -> None:
    """Mark these bags reminded now (only those still waiting); the caller commits."""
    if orders:
        db.session.execute(
            update(Order)
            .where(Order.id.in_([order.id for order in orders]), Order.status == "ready_for_pickup")
            .values(reminded_at=clock.now())
            .execution_options(synchronize_session=False)
        )


def reminder_for(point: PickupPoint, orders: list[Order]) -> dict:
    """The group-chat message for these bags of one point, in slot order."""
    bags = sorted(
        ({"slot": o.shelf_slot, "order_number": o.number, "name": mask_name(o.customer_name)} for o in orders),
        key=_slot_order,
    )
    return {"point": point, "count": len(bags), "message": reminder_message(point, bags)}


def reminder_message(point: PickupPoint, bags: list[dict]) -> str:
    if not bags:
        return ""
    lines = [_("Pickup reminder from %(point)s — these bags are waiting for you:", point=point.name)]
    for bag in bags:
        slot = bag["slot"] if bag["slot"] is not None else "—"
        lines.append(
            _("Slot %(slot)s · %(name)s · order …%(tail)s", slot=slot, name=bag["name"], tail=bag["order_number"][-4:])
        )
    hours = getattr(point, "opening_hours", "") or ""
    if hours:
        lines.append(_("Opening hours: %(hours)s", hours=hours))
    lines.append(_("Please bring your pickup code. Thank you!"))
    return "\n".join(lines)
