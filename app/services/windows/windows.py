"""Group-buy windows: lookups, who may sell them, and the draft → scheduled → open machine.

Editing lives in app.services.windows.window_editing (re-exported here); closing in app.services.closing.closing.
Every transition here is a compare-and-set on `status`, so a double click, two schedulers or a
racing edit change a window at most once.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import exists, func, or_, select

from app.extensions import db
from app.models import DeliveryBatch, Leader, Merchant, Order, OrderItem, ShareLink, Window, WindowLeader
from app.permissions import scoped_or_404
from app.services.core import audit, clock
from app.services.core.errors import InvalidTransition, ValidationFailed
from app.services.core.paging import Page, paginate
from app.services.notify import notifications
from app.services.notify.notification_texts import N_, message
from app.services.windows import lifecycle

# Editing lives in its own module; these names stay importable from here for callers.
from app.services.windows.window_editing import (  # noqa: F401
    EDITABLE,
    ItemInput,
    WindowInput,
    amend_open_window,
    create_window,
    has_orders,
    update_window,
)

SELLABLE = ("scheduled", "open")
# Orders that count towards a minimum group size: paid, and not since cancelled or failed.
PAID_STATUSES = ("paid", "confirmed", "ready_for_pickup", "completed")
OPEN_BATCH = 200


# ---- lookups


def get_window(merchant_id: int, window_id: int) -> Window:
    """One of this merchant's windows; another merchant's id is NotFound."""
    return scoped_or_404(select(Window).where(Window.id == window_id, Window.merchant_id == merchant_id))


def list_windows(merchant_id: int, *, status: str | None = None, page: int = 1) -> Page[Window]:
    stmt = select(Window).where(Window.merchant_id == merchant_id)
    if status:
        stmt = stmt.where(Window.status == status)
    return paginate(stmt.order_by(Window.opens_at.desc(), Window.id.desc()), page)


def active_leaders() -> list[Leader]:
    return list(db.session.scalars(select(Leader).where(Leader.active.is_(True)).order_by(Leader.community_name)))


def chosen_leader_ids(window: Window) -> list[int]:
    return sorted(link.leader_id for link in window.leader_links)


def sellable_by(window: Window, leader: Leader | None) -> bool:
    """May this leader share and take orders for this window (all leaders, or chosen)?"""
    if leader is None or not leader.active:
        return False
    if window.all_leaders:
        return True
    return bool(
        db.session.scalar(
            select(exists().where(WindowLeader.window_id == window.id, WindowLeader.leader_id == leader.id))
        )
    )


def windows_for_leader(leader: Leader) -> list[Window]:
    """Open and scheduled windows of active merchants this leader may sell, soonest cut-off first."""
    if leader is None or not leader.active:
        return []
    chosen = exists().where(WindowLeader.window_id == Window.id, WindowLeader.leader_id == leader.id)
    # A scheduled window whose cut-off passed before it opened will never open: leave it out.
    live = or_(Window.status == "open", Window.closes_at > clock.now())
    stmt = (
        select(Window)
        .join(Merchant, Merchant.id == Window.merchant_id)
        .where(Window.status.in_(SELLABLE), live, Merchant.active.is_(True), or_(Window.all_leaders.is_(True), chosen))
        .order_by(Window.closes_at, Window.id)
    )
    return list(db.session.scalars(stmt))


def window_detail(window: Window) -> dict:
    """What the merchant's window page shows: items with sales, share links, delivery batches."""
    paid_orders = dict(
        db.session.execute(
            select(OrderItem.window_item_id, func.count(func.distinct(OrderItem.order_id)))
            .join(Order, Order.id == OrderItem.order_id)
            .where(Order.window_id == window.id, Order.status.in_(PAID_STATUSES))
            .group_by(OrderItem.window_item_id)
        ).all()
    )
    share_links = list(
        db.session.scalars(select(ShareLink).where(ShareLink.window_id == window.id).order_by(ShareLink.id))
    )
    batches = list(
        db.session.scalars(
            select(DeliveryBatch)
            .where(DeliveryBatch.window_id == window.id, DeliveryBatch.merchant_id == window.merchant_id)
            .order_by(DeliveryBatch.id)
        )
    )
    chosen = (
        []
        if window.all_leaders
        else sorted((link.leader for link in window.leader_links), key=lambda leader: leader.community_name)
    )
    return {
        "items": [(item, paid_orders.get(item.id, 0)) for item in window.items],
        "share_links": share_links,
        "batches": batches,
        "chosen_leaders": chosen,
        "has_orders": has_orders(window.id),
    }


# ---- state machine


def _transition(window: Window, expected: str, target: str, *conditions, actor: str, message: str) -> Window:
    if not lifecycle.move(window.id, expected, target, *conditions):
        db.session.rollback()
        raise InvalidTransition(message)
    audit.record(actor, f"window.{target}", "window", window.id, from_status=expected)
    if target == "open":
        _announce_open(window)
    db.session.commit()
    db.session.refresh(window)
    return window


def schedule_window(window: Window, *, actor: str = "system") -> Window:
    """draft → scheduled: it needs at least one item of a listed product and a future cut-off."""
    if window.status != "draft":
        raise InvalidTransition()
    if not window.items:
        raise ValidationFailed(_("Add at least one product before scheduling."), fields={"items": _("Add a product.")})
    unlisted = [item.product.name for item in window.items if not item.product.listed]
    if unlisted:
        raise ValidationFailed(_("These products are unlisted: %(names)s.", names=", ".join(unlisted)))
    if window.closes_at <= clock.now():
        raise ValidationFailed(fields={"closes_at": _("The cut-off must be in the future.")})
    return _transition(
        window,
        "draft",
        "scheduled",
        Window.closes_at > clock.now(),
        actor=actor,
        message=_("This group buy changed state meanwhile; reload and try again."),
    )


def unschedule_window(window: Window, *, actor: str = "system") -> Window:
    """scheduled → draft, to edit it at leisure before it opens."""
    return _transition(
        window, "scheduled", "draft", actor=actor, message=_("Only a scheduled group buy can be unscheduled.")
    )


def open_window_now(window: Window, *, actor: str = "system") -> Window:
    """scheduled → open by hand, once its opening time has passed (the job would do it too)."""
    now = clock.now()
    if window.status == "scheduled" and window.opens_at > now:
        raise InvalidTransition(_("It opens at its opening time; edit the opening time to open it earlier."))
    return _transition(
        window,
        "scheduled",
        "open",
        Window.opens_at <= now,
        Window.closes_at > now,
        actor=actor,
        message=_("Only a scheduled group buy whose opening time has passed can be opened."),
    )


def open_due_windows() -> int:
    """Scheduler job: open every scheduled window whose opening time has come; returns how many."""
    now = clock.now()
    due = db.session.scalars(
        select(Window.id)
        .where(Window.status == "scheduled", Window.opens_at <= now, Window.closes_at > now)
        .order_by(Window.opens_at, Window.id)
        .limit(OPEN_BATCH)
    ).all()
    db.session.commit()
    opened = 0
    for window_id in due:
        # Per-window compare-and-set: a second scheduler racing us opens each window once.
        if not lifecycle.move(window_id, "scheduled", "open", Window.opens_at <= now, Window.closes_at > now):
            db.session.rollback()
            continue
        window = db.session.get(Window, window_id, populate_existing=True)
        audit.record("system:open", "window.open", "window", window_id, from_status="scheduled")
        _announce_open(window)
        db.session.commit()
        opened += 1
    return opened


def leader_user_ids(window: Window) -> list[int]:
    """The users of the active leaders who may sell this window."""
    if window.all_leaders:
        stmt = select(Leader.user_id).where(Leader.active.is_(True))
    else:
        stmt = (
            select(Leader.user_id)
            .join(WindowLeader, WindowLeader.leader_id == Leader.id)
            .where(WindowLeader.window_id == window.id, Leader.active.is_(True))
        )
    return list(db.session.scalars(stmt))


def _announce_open(window: Window) -> None:
    """Tell the leaders who may sell it, in the opening transaction (delivered after commit)."""
    notifications.enqueue(
        "window_open",
        user_ids=leader_user_ids(window),
        title=message(N_("Group buy open: %(title)s"), title=window.title),
        body=message(
            N_("%(merchant)s · cut-off %(closes)s"),
            merchant=window.merchant.name,
            closes=clock.to_local(window.closes_at).strftime("%m-%d %H:%M"),
        ),
        link="/leader/",
    )
