"""The leader's Today page: what needs doing now, each a tap from acting on it.

Open windows with their cut-off and what this leader sold in them so far, deliveries on the way
and arrived, bags waiting and overdue, unread alerts and open after-sales requests. Read-only.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import AfterSalesRequest, Leader, Order
from app.services.deliveries import deliveries
from app.services.leader import pickup_overview
from app.services.notify import notifications
from app.services.windows import windows

# A sale made through the leader: paid at some point and not (yet) cancelled or failed.
_SOLD = ("paid", "confirmed", "ready_for_pickup", "completed")


def _count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(Order).where(*where)) or 0


def today_summary(leader: Leader, user_id: int) -> dict:
    """Everything the Today page shows for this leader (and their user's unread alerts)."""
    shown = windows.windows_for_leader(leader)
    sales = {}
    if shown:
        rows = db.session.execute(
            select(Order.window_id, func.count(Order.id), func.coalesce(func.sum(Order.paid_fen), 0))
            .where(
                Order.leader_id == leader.id,
                Order.window_id.in_([w.id for w in shown]),
                Order.status.in_(_SOLD),
            )
            .group_by(Order.window_id)
        ).all()
        sales = {window_id: {"orders": n, "paid_fen": int(paid)} for window_id, n, paid in rows}
    return {
        "windows": shown,
        "sales": sales,
        "batches": deliveries.batches_for_leader(leader.id, unfinished=True),
        "waiting_pickup": _count(Order.leader_id == leader.id, Order.status == "ready_for_pickup"),
        "overdue": _count(
            Order.leader_id == leader.id,
            Order.status == "ready_for_pickup",
            Order.arrived_at < pickup_overview.overdue_before(),
        ),
        "awaiting_arrival": _count(Order.leader_id == leader.id, Order.status == "confirmed"),
        "unread_alerts": notifications.unread_count(user_id),
        "open_after_sales": _open_after_sales(leader),
    }


def tab_badges(leader: Leader, unread_alerts: int) -> dict[str, int]:
    """The counts on the leader's tab bar: bags waiting (Orders); unread alerts and open
    after-sales requests (Me). The unread count is the one every page already read."""
    waiting = _count(Order.leader_id == leader.id, Order.status == "ready_for_pickup")
    return badges(waiting, _open_after_sales(leader), unread_alerts)


def badges(waiting: int, open_requests: int, unread_alerts: int) -> dict[str, int]:
    return {
        "orders": waiting,
        "after_sales": open_requests,
        "alerts": unread_alerts,
        "me": unread_alerts + open_requests,
    }


def _open_after_sales(leader: Leader) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AfterSalesRequest)
            .where(AfterSalesRequest.leader_id == leader.id, AfterSalesRequest.status == "open")
        )
        or 0
    )
