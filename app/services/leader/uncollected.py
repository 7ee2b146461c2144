"""Bags nobody came for: reminders a leader sends for bags picked from the orders list, and the
daily notification that tells a leader a point has overdue bags.

Customers have no accounts, so a reminder stamps the orders' reminded_at and gives the leader a
ready-to-paste message per pickup point for the community's group chat (see pickup_overview).
"""

from __future__ import annotations

from itertools import groupby

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Leader, Order, PickupPoint
from app.services.core import clock
from app.services.core.errors import ValidationFailed
from app.services.leader import pickup_overview
from app.services.notify import notifications
from app.services.notify.notification_texts import N_, message


def remind_selected(leader: Leader, order_ids: list[int]) -> list[dict]:
    """Remind the customers of these waiting bags; one message per pickup point.

    Every id must be one of the leader's bags waiting for pickup, or nothing is stamped and the
    error names the orders that are not.
    """
    wanted = sorted(set(order_ids))
    if not wanted or len(wanted) > pickup_overview.MAX_REMIND:
        raise ValidationFailed(fields={"order_ids": _("Select at least one order.")})
    orders = db.session.scalars(
        select(Order)
        .where(Order.id.in_(wanted), Order.leader_id == leader.id, Order.status == "ready_for_pickup")
        .options(selectinload(Order.pickup_point))
    ).all()
    if len(orders) != len(wanted):
        found = {order.id for order in orders}
        numbers = db.session.scalars(
            select(Order.number).where(Order.id.in_(set(wanted) - found), Order.leader_id == leader.id)
        ).all()
        raise ValidationFailed(
            fields={
                "order_ids": _(
                    "Only bags waiting for pickup can be reminded; not: %(numbers)s",
                    numbers=", ".join(sorted(numbers)) or "—",
                )
            }
        )
    pickup_overview.stamp_reminded(orders)
    db.session.commit()
    by_point = sorted(orders, key=lambda order: (order.pickup_point.name, order.pickup_point_id))
    return [
        pickup_overview.reminder_for(point_orders[0].pickup_point, point_orders)
        for point_orders in (list(group) for _id, group in groupby(by_point, key=lambda o: o.pickup_point_id))
    ]


def notify_overdue(limit: int = 500) -> int:
    """Tell each leader, once a local day per pickup point, how many bags there are overdue.

    The day is claimed with a compare-and-set on the point's overdue_notified_on in the same
    transaction as the outbox message, so two schedulers or a re-run send it once a day.
    """
    today = clock.to_local(clock.now()).date()
    due = db.session.execute(
        select(Order.pickup_point_id, func.count())
        .where(Order.status == "ready_for_pickup", Order.arrived_at < pickup_overview.overdue_before())
        .group_by(Order.pickup_point_id)
        .order_by(Order.pickup_point_id)
        .limit(limit)
    ).all()
    db.session.commit()
    sent = 0
    for point_id, count in due:
        claimed = db.session.execute(
            update(PickupPoint)
            .where(
                PickupPoint.id == point_id,
                or_(PickupPoint.overdue_notified_on.is_(None), PickupPoint.overdue_notified_on < today),
            )
            .values(overdue_notified_on=today)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            db.session.rollback()
            continue
        point = db.session.get(PickupPoint, point_id)
        notifications.enqueue(
            "uncollected",
            user_ids=list(db.session.scalars(select(Leader.user_id).where(Leader.id == point.leader_id))),
            title=message(N_("%(n)d bags not collected at %(point)s"), n=count, point=point.name),
            body=message(N_("Open the pickup overview to remind the customers.")),
            link=f"/leader/pickup/{point_id}",
        )
        db.session.commit()
        sent += 1
    return sent
