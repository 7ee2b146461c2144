"""Closing a window at cut-off, exactly once in effect (DESIGN.md §4.2).

One transaction does everything. It starts with a compare-and-set that moves the window from
open to closed, so a second scheduler or a retry claims nothing, and a crash anywhere rolls the
claim back with the rest, leaving the window open for the next run.

Rows are locked in the order reservations and cancellation use — window items, then orders,
then products — so on PostgreSQL a late order, a cancel or a payment waits for the close (or
the close for them) instead of deadlocking. Order states change only by compare-and-set on the
status the database holds, so a payment that lands mid-close is either seen as paid or finds
its order already cancelled (and is refunded by payments as a late payment).

The orders are worked set-based, a chunk of ids at a time (app.services.closing.close_bulk), so a window
of a hundred thousand orders closes in seconds; each chunk logs its progress.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Histogram
from sqlalchemy import select, update

from app.extensions import db
from app.models import Leader, MerchantMember, Window, WindowItem
from app.services.closing import close_bulk
from app.services.closing.close_bulk import Close
from app.services.core import clock
from app.services.notify import notifications
from app.services.notify.notification_texts import N_, message
from app.services.windows import lifecycle as window_lifecycle

log = logging.getLogger(__name__)
# Served at /metrics (app/metrics.py) with the rest: how long closing one window takes, whole.
CLOSE_SECONDS = Histogram(
    "groupbuy_window_close_duration_seconds",
    "Duration of closing one window (the whole transaction).",
    (),
    buckets=(0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)

DUE_BATCH_SIZE = 50


def close_window(window_id: int) -> dict | None:
    """Close a due, open window: cancel unpaid orders, fail groups below their minimum, confirm
    the rest with codes and batches. None when it was not due or someone else closed it."""
    now = clock.now()
    timer = time.perf_counter()
    try:
        if not window_lifecycle.move(window_id, "open", "closed", Window.closes_at <= now, closed_at=now):
            db.session.rollback()
            return None
        window = db.session.execute(
            select(Window).where(Window.id == window_id).execution_options(populate_existing=True)
        ).scalar_one()
        close = Close(window_id=window.id, merchant_id=window.merchant_id, now=now)
        items = _lock_items(window_id)
        close_bulk.cancel_unpaid(close)
        failed_items = _decide_groups(items)
        close_bulk.settle_paid(close, failed_items)
        close_bulk.give_back(close)
        _notify(window, close)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    CLOSE_SECONDS.observe(time.perf_counter() - timer)
    log.info("window %s closed: %s", window_id, close.result())
    return close.result()


def close_due_windows() -> int:
    """Scheduler job: close windows past cut-off, a bounded batch per run. Safe to run from
    several processes at once; returns how many this call closed."""
    due = db.session.scalars(
        select(Window.id)
        .where(Window.status == "open", Window.closes_at <= clock.now())
        .order_by(Window.closes_at, Window.id)
        .limit(DUE_BATCH_SIZE)
    ).all()
    db.session.rollback()  # end the read: on SQLite it holds the write lock
    closed = 0
    for window_id in due:
        try:
            if close_window(window_id) is not None:
                closed += 1
        except Exception:  # one broken window must not keep the others open; it is retried
            log.exception("closing window %s failed; it stays open for the next run", window_id)
    return closed


def _lock_items(window_id: int) -> list[WindowItem]:
    # With the items locked no new order can reserve in this window, and any that already
    # did has committed, so the order selects below see every order there is.
    return list(
        db.session.scalars(
            select(WindowItem)
            .where(WindowItem.window_id == window_id)
            .order_by(WindowItem.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _decide_groups(items: list[WindowItem]) -> set[int]:
    """Mark each item succeeded or failed by paid orders holding it; returns failed item ids."""
    paid_orders = close_bulk.paid_orders_per_item([item.id for item in items])
    failed: set[int] = set()
    for item in items:
        reached = paid_orders.get(item.id, 0) >= item.min_group_size
        target = "succeeded" if reached else "failed"
        db.session.execute(
            update(WindowItem)
            .where(WindowItem.id == item.id, WindowItem.status == "open")
            .values(status=target)
            .execution_options(synchronize_session=False)
        )
        db.session.expire(item, ["status"])
        if item.status == "failed":
            failed.add(item.id)
    return failed


def _notify(window: Window, close: Close) -> None:
    result = close.result()
    merchant_users = db.session.scalars(
        select(MerchantMember.user_id).where(MerchantMember.merchant_id == window.merchant_id)
    ).all()
    notifications.enqueue(
        "window_closed",
        user_ids=list(merchant_users),
        title=message(N_("Group buy closed: %(title)s"), title=window.title),
        body=message(
            N_(
                "%(confirmed)d orders confirmed, %(cancelled)d cancelled, %(failed)d failed; "
                "%(batches)d delivery batches."
            ),
            **result,
        ),
        link=f"/merchant/batches?window_id={window.id}",
    )
    if not close.per_leader:
        return
    leader_users = dict(
        db.session.execute(select(Leader.id, Leader.user_id).where(Leader.id.in_(close.per_leader))).all()
    )
    for leader_id, counts in sorted(close.per_leader.items()):
        notifications.enqueue(
            "window_closed",
            user_ids=[leader_users[leader_id]],
            title=message(N_("Group buy closed: %(title)s"), title=window.title),
            body=message(
                N_("Your orders: %(confirmed)d confirmed, %(cancelled)d cancelled (unpaid), %(failed)d failed."),
                confirmed=counts["confirmed"],
                cancelled=counts["cancelled"],
                failed=counts["failed"],
            ),
        )
