"""Closing a window at cut-off, exactly once in effect (DESIGN.md §4.2).

One transaction does everything. It starts with a compare-and-set that moves the window from
open to closed, so a second scheduler or a retry claims nothing, and a crash anywhere rolls the
claim back with the rest, leaving the window open for the next run.

Rows are locked in the order reservations and cancellation use — window items, then orders,
then products — so on PostgreSQL a late order, a cancel or a payment waits for the close (or
the close for them) instead of deadlocking. Order states change only by compare-and-set on the
status the database holds, so a payment that lands mid-close is either seen as paid or finds
its order already cancelled (and is refunded by payments as a late payment).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import Leader, MerchantMember, Order, OrderItem, Product, Window, WindowItem
from app.services import clock, codes, deliveries, notifications, payments, reservations
from app.services.notification_texts import N_, message

log = logging.getLogger(__name__)

ACTOR = "system:close"
DUE_BATCH_SIZE = 50


@dataclass
class _Close:
    """What one close did, and what it still has to give back once every order is settled."""

    window: Window
    now: datetime
    counts: Counter = field(default_factory=Counter)
    per_leader: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))
    batches: dict[int, int] = field(default_factory=dict)  # pickup point id -> batch id
    releases: list[tuple[list[OrderItem], str, int]] = field(default_factory=list)  # lines, phone, leader id
    freed_places: list[int] = field(default_factory=list)  # pickup point ids

    def tally(self, order: Order, outcome: str) -> None:
        self.counts[outcome] += 1
        self.per_leader[order.leader_id][outcome] += 1

    def result(self) -> dict:
        return {
            "confirmed": self.counts["confirmed"],
            "cancelled": self.counts["cancelled"],
            "failed": self.counts["failed"],
            "batches": len(set(self.batches.values())),
        }


def close_window(window_id: int) -> dict | None:
    """Close a due, open window: cancel unpaid orders, fail groups below their minimum, confirm
    the rest with codes and batches. None when it was not due or someone else closed it."""
    now = clock.now()
    try:
        claimed = db.session.execute(
            update(Window)
            .where(Window.id == window_id, Window.status == "open", Window.closes_at <= now)
            .values(status="closed", closed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            db.session.rollback()
            return None
        window = db.session.execute(
            select(Window).where(Window.id == window_id).execution_options(populate_existing=True)
        ).scalar_one()
        close = _Close(window=window, now=now)
        items = _lock_items(window_id)
        _cancel_unpaid(close)
        failed_items = _decide_groups(items)
        _settle_paid(close, failed_items)
        _give_back(close)
        _notify(close)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
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


def _orders(window_id: int, status: str) -> list[Order]:
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.window_id == window_id, Order.status == status)
            .order_by(Order.id)
            .execution_options(populate_existing=True)
        )
    )


def _live_lines(order_id: int) -> list[OrderItem]:
    return list(
        db.session.scalars(
            select(OrderItem)
            .where(OrderItem.order_id == order_id, OrderItem.status == "reserved")
            .order_by(OrderItem.id)
            .execution_options(populate_existing=True)
        )
    )


def _set_lines(lines: list[OrderItem], status: str) -> None:
    if not lines:
        return
    db.session.execute(
        update(OrderItem)
        .where(OrderItem.id.in_([line.id for line in lines]), OrderItem.status == "reserved")
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    for line in lines:
        set_committed_value(line, "status", status)


def _cancel_unpaid(close: _Close) -> None:
    for order in _orders(close.window.id, "pending_payment"):
        # A payment committing now makes this match nothing; the order is then settled as paid.
        if not deliveries.move_order(
            order, "pending_payment", "cancelled", ACTOR, reason="unpaid at cut-off", cancelled_at=close.now
        ):
            continue
        lines = _live_lines(order.id)
        _set_lines(lines, "cancelled")
        close.releases.append((lines, order.customer_phone, order.leader_id))
        close.freed_places.append(order.pickup_point_id)
        close.tally(order, "cancelled")


def _decide_groups(items: list[WindowItem]) -> set[int]:
    """Mark each item succeeded or failed by paid orders holding it; returns failed item ids."""
    paid_orders = dict(
        db.session.execute(
            select(OrderItem.window_item_id, func.count(func.distinct(Order.id)))
            .join(Order, Order.id == OrderItem.order_id)
            .where(
                OrderItem.window_item_id.in_([item.id for item in items]),
                Order.status == "paid",
                OrderItem.status == "reserved",
            )
            .group_by(OrderItem.window_item_id)
        ).all()
    )
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


def _settle_paid(close: _Close, failed_items: set[int]) -> None:
    window = close.window
    for order in _orders(window.id, "paid"):
        lines = _live_lines(order.id)
        failed_lines = [line for line in lines if line.window_item_id in failed_items]
        surviving = [line for line in lines if line.window_item_id not in failed_items]
        detail = {"failed_items": [line.window_item_id for line in failed_lines]} if failed_lines else None
        if surviving:
            moved = deliveries.move_order(
                order, "paid", "confirmed", ACTOR, reason="window closed", detail=detail, confirmed_at=close.now
            )
        else:
            moved = deliveries.move_order(
                order, "paid", "failed", ACTOR, reason="minimum group not reached", detail=detail
            )
        if not moved:  # someone else changed it meanwhile; they own its lines and money
            continue

        refundable = order.paid_fen - order.refunded_fen
        if surviving:
            amount = min(sum(line.line_total_fen for line in failed_lines), refundable)
        else:
            amount = refundable  # nothing will be delivered: everything paid goes back
        if failed_lines:
            _set_lines(failed_lines, "failed")
            close.releases.append((failed_lines, order.customer_phone, order.leader_id))
        if amount > 0:
            payments.refund(order, amount, "group_failed", ACTOR)

        if not surviving:
            close.freed_places.append(order.pickup_point_id)
            close.tally(order, "failed")
            continue
        _set_lines(surviving, "confirmed")
        codes.issue_code(order)
        order.batch_id = _batch_id(close, order.pickup_point_id)
        close.tally(order, "confirmed")


def _batch_id(close: _Close, pickup_point_id: int) -> int:
    if pickup_point_id not in close.batches:
        batch = deliveries.batch_for(close.window.id, close.window.merchant_id, pickup_point_id)
        close.batches[pickup_point_id] = batch.id
    return close.batches[pickup_point_id]


def _give_back(close: _Close) -> None:
    """Return stock, quotas (window and leader), limits and places of cancelled and failed lines."""
    product_ids = sorted({line.product_id for lines, _phone, _leader in close.releases for line in lines})
    if product_ids:
        # Take every product lock up front in id order; releasing order by order would take
        # them in whatever order the orders name them.
        db.session.execute(
            select(Product.id).where(Product.id.in_(product_ids)).order_by(Product.id).with_for_update()
        ).all()
    for lines, phone, leader_id in close.releases:
        if lines:
            reservations.release_items(lines, phone, leader_id=leader_id)
    for pickup_point_id in close.freed_places:
        reservations.release_capacity(pickup_point_id=pickup_point_id, window_id=close.window.id)


def _notify(close: _Close) -> None:
    window = close.window
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
