"""Conflicts between offline hand-overs: the same code redeemed on two devices without network
(or a queued hand-over the server refuses for another reason, such as goods not arrived).

The server settles them as the queues sync: the first redemption to reach the server wins (the
code's compare-and-set), and every later one is stored under its own idempotency key as an
"already_redeemed" answer with the device's offline time. That stored row is the conflict — so
nothing is counted twice, a replayed sync reports the same conflict without a second alert, and
the leader's pickup page lists it. The leader is told at once through the outbox because a
conflict usually means a bag went to the wrong person (a shared screenshot of a code, or two
staff each handing over "the" bag) and is best sorted out the same evening.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Leader, Order, PickupCode, PickupPoint, Redemption, User
from app.services.core import audit, clock
from app.services.core.text import mask_name
from app.services.notify import notifications
from app.services.notify.notification_texts import N_, message

RECENT_DAYS = 7


def report(row: Redemption, code: PickupCode, user: User) -> None:
    """Audit the conflict and alert the point's leader, in the caller's transaction."""
    order = db.session.get(Order, code.order_id)
    point = db.session.get(PickupPoint, code.pickup_point_id)
    leader = db.session.get(Leader, point.leader_id)
    error = (row.response or {}).get("error") or {}
    audit.record(
        audit.actor_for(user),
        "offline_conflict",
        "pickup_code",
        code.id,
        pickup_point_id=point.id,
        order_id=order.id,
        outcome=row.outcome,
        device=row.device,
        offline_at=row.offline_at.isoformat() if row.offline_at else None,
        idempotency_key=row.idempotency_key,
        winner_redeemed_at=error.get("redeemed_at"),
        winner_redeemed_by=error.get("redeemed_by"),
    )
    slot = order.shelf_slot if order.shelf_slot is not None else "—"
    notifications.enqueue(
        "offline_conflict",
        user_ids=[leader.user_id],
        title=message(N_("Pickup conflict: %(point)s · %(number)s"), point=point.name, number=order.number),
        body=message(
            N_(
                "Slot %(slot)s: %(who)s handed this order over offline (%(device)s), but it was already "
                "redeemed by %(winner)s. Check the bag."
            )
            if row.outcome == "already_redeemed"
            else N_(
                "Slot %(slot)s: %(who)s handed this order over offline (%(device)s), but the server "
                "refused it (%(winner)s). Check the bag and the order."
            ),
            slot=str(slot),
            who=user.name,
            device=row.device or "—",
            winner=(error.get("redeemed_by") or "—") if row.outcome == "already_redeemed" else row.outcome,
        ),
        link=f"/leader/pickup/{point.id}#conflicts",
    )


def recent(point_id: int, limit: int = 50) -> list[dict]:
    """Conflicts at this point in the last RECENT_DAYS days, newest first, for the leader's page."""
    since = clock.now() - timedelta(days=RECENT_DAYS)
    rows = db.session.execute(
        select(Redemption, Order, User)
        .join(PickupCode, PickupCode.id == Redemption.pickup_code_id)
        .join(Order, Order.id == PickupCode.order_id)
        .join(User, User.id == Redemption.user_id)
        .where(
            PickupCode.pickup_point_id == point_id,
            Redemption.offline_at.is_not(None),
            Redemption.outcome != "redeemed",
            Redemption.created_at >= since,
        )
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
            "device": row.device,
            "offline_at": row.offline_at,
            "synced_at": row.created_at,
            "outcome": row.outcome,
            "winner_by": ((row.response or {}).get("error") or {}).get("redeemed_by"),
        }
        for row, order, user in rows
    ]
