"""What a leader sees of their community's orders: lists by window and status, one order's story,
and the day's summary. Read-only; the state changes live in the services that own them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Leader, Order, Window
from app.models.orders import ORDER_STATUSES
from app.permissions import scoped_or_404
from app.services import deliveries, windows
from app.services.catalog import Page, paginate

# Tabs of the orders page; the last one gathers every way an order can end without pickup.
TABS: dict[str, tuple[str, ...]] = {
    "pending_payment": ("pending_payment",),
    "paid": ("paid",),
    "confirmed": ("confirmed",),
    "ready_for_pickup": ("ready_for_pickup",),
    "completed": ("completed",),
    "closed": ("cancelled", "failed", "refunded"),
}
DEFAULT_TAB = "paid"


def statuses_for(tab: str | None) -> tuple[str, ...]:
    """A tab name, a single order status, or None/"all" for every status."""
    if tab in (None, "", "all"):
        return ORDER_STATUSES
    if tab in TABS:
        return TABS[tab]
    if tab in ORDER_STATUSES:
        return (tab,)
    return TABS[DEFAULT_TAB]


def list_orders(
    leader: Leader, *, window_id: int | None = None, tab: str | None = DEFAULT_TAB, page: int = 1
) -> Page[Order]:
    """A page (50) of the leader's orders in one tab (see statuses_for), optionally of one window, newest first."""
    statuses = statuses_for(tab)
    stmt = (
        select(Order)
        .where(Order.leader_id == leader.id, Order.status.in_(statuses))
        .options(selectinload(Order.items), selectinload(Order.pickup_point))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    if window_id is not None:
        stmt = stmt.where(Order.window_id == window_id)
    return paginate(stmt, page)


def tab_counts(leader: Leader, *, window_id: int | None = None) -> dict[str, int]:
    stmt = select(Order.status, func.count()).where(Order.leader_id == leader.id).group_by(Order.status)
    if window_id is not None:
        stmt = stmt.where(Order.window_id == window_id)
    by_status = dict(db.session.execute(stmt).all())
    return {tab: sum(by_status.get(status, 0) for status in statuses) for tab, statuses in TABS.items()}


def order_windows(leader: Leader) -> list[Window]:
    """Windows the leader has orders in, for the filter, newest first."""
    ids = select(Order.window_id).where(Order.leader_id == leader.id).distinct()
    return list(db.session.scalars(select(Window).where(Window.id.in_(ids)).order_by(Window.closes_at.desc())))


def get_order(leader: Leader, order_id: int) -> Order:
    """One of the leader's orders with its lines and history; another leader's id is NotFound."""
    return scoped_or_404(
        select(Order)
        .where(Order.id == order_id, Order.leader_id == leader.id)
        .options(selectinload(Order.items), selectinload(Order.events))
    )


def today_summary(leader: Leader) -> dict:
    """The leader's home page: windows to share, batches coming or here, bags waiting for pickup."""
    batches = [b for b in deliveries.batches_for_leader(leader.id) if b.status != "done"]
    waiting = db.session.scalar(
        select(func.count()).select_from(Order).where(Order.leader_id == leader.id, Order.status == "ready_for_pickup")
    )
    confirmed = db.session.scalar(
        select(func.count()).select_from(Order).where(Order.leader_id == leader.id, Order.status == "confirmed")
    )
    return {
        "windows": windows.windows_for_leader(leader),
        "batches": batches,
        "waiting_pickup": waiting or 0,
        "awaiting_arrival": confirmed or 0,
    }
