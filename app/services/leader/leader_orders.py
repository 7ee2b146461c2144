"""What a leader sees of their community's orders: lists by window and status, one order's story,
and the day's summary. Read-only; the state changes live in the services that own them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Leader, Order, Window
from app.models.orders import ORDER_STATUSES
from app.permissions import scoped_or_404
from app.services.core import clock
from app.services.core.checks import has_control_chars
from app.services.core.errors import ValidationFailed
from app.services.core.paging import paginate
from app.services.leader import leader_customers

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


@dataclass(frozen=True)
class OrderFilter:
    """What narrows the orders list beside its tab: a window, a search, a range of order days."""

    window_id: int | None = None
    query: str = ""  # customer name, the phone's last 4+ digits, or the order number
    since: date | None = None  # order days in the deployment's zone, both ends included
    until: date | None = None


def parse_filter(window_id: int | None, query: str, since: str, until: str) -> OrderFilter:
    """The filter from the page's fields; ValidationFailed names each field that is wrong."""
    fields = {}
    query = " ".join((query or "").split())
    if len(query) > 40 or has_control_chars(query):
        fields["q"] = _("Search with at most 40 printable characters.")
    days = {}
    for name, raw in (("from", since), ("to", until)):
        raw = (raw or "").strip()
        try:
            days[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            fields[name] = _("Enter a date like 2026-12-01.")
    if not fields and days["from"] and days["to"] and days["from"] > days["to"]:
        fields["to"] = _("The end date is before the start date.")
    if fields:
        raise ValidationFailed(fields=fields)
    return OrderFilter(window_id=window_id, query=query, since=days["from"], until=days["to"])


def _filtered(stmt, leader: Leader, where: OrderFilter):
    stmt = stmt.where(Order.leader_id == leader.id)
    if where.window_id is not None:
        stmt = stmt.where(Order.window_id == where.window_id)
    if where.query:
        matches = [*leader_customers.customer_matches(where.query), Order.number == where.query.upper()]
        stmt = stmt.where(or_(*matches))
    if where.since:
        stmt = stmt.where(Order.created_at >= clock.local_day_start(where.since))
    if where.until:
        stmt = stmt.where(Order.created_at < clock.local_day_start(where.until + timedelta(days=1)))
    return stmt


def list_orders(leader: Leader, *, where: OrderFilter | None = None, tab: str | None = DEFAULT_TAB, page: int = 1):
    """A page (50) of the leader's orders in one tab (see statuses_for) that match `where`, newest first."""
    stmt = (
        select(Order)
        .where(Order.status.in_(statuses_for(tab)))
        .options(selectinload(Order.items), selectinload(Order.pickup_point))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    return paginate(_filtered(stmt, leader, where or OrderFilter()), page)


def tab_counts(leader: Leader, *, where: OrderFilter | None = None) -> dict[str, int]:
    stmt = _filtered(select(Order.status, func.count()), leader, where or OrderFilter()).group_by(Order.status)
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
