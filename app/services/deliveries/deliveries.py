"""Delivery batches: picking and packing lists, the merchant's hand-off, arrival with shortages.

Batch lifecycle: created → picking → dispatched → arrived → done (DESIGN.md §3). Every move is
a compare-and-set on the batch's status; batches have no event table, so each move writes an
audit record (who, when, which step).

Shortages at arrival are allocated by app.services.deliveries.shortages (latest-placed orders first).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    DeliveryBatch,
    Leader,
    MerchantMember,
    Order,
    OrderItem,
    PickupPoint,
    PickupStaff,
    User,
    Window,
)
from app.models.orders import ORDER_STATUSES
from app.permissions import scoped_or_404
from app.services.core import audit, clock
from app.services.core.checks import clean_line
from app.services.core.errors import DomainError, InvalidTransition, NotFound, ValidationFailed
from app.services.deliveries import shortages as shortages_
from app.services.deliveries import slots
from app.services.notify import notifications
from app.services.notify.notification_texts import N_, message
from app.services.orders import lifecycle, payments, reservations
from app.services.pickup import codes

ARRIVABLE = ("created", "picking", "dispatched")
FINAL_ORDER_STATUSES = ("completed", "refunded", "cancelled", "failed")
PICKED_LINE_STATUSES = ("confirmed", "redeemed")
NOT_DELIVERED = ("cancelled", "failed")


# ---- lookups, scoped to the actor's tenant


def get_batch_for_merchant(merchant_id: int, batch_id: int) -> DeliveryBatch:
    """The merchant's batch, or NotFound (another merchant's id looks like a missing one)."""
    return scoped_or_404(
        select(DeliveryBatch).where(DeliveryBatch.id == batch_id, DeliveryBatch.merchant_id == merchant_id)
    )


def get_batch_for_leader(leader_id: int, batch_id: int) -> DeliveryBatch:
    """A batch for one of the leader's pickup points, or NotFound."""
    return scoped_or_404(
        select(DeliveryBatch)
        .join(PickupPoint, PickupPoint.id == DeliveryBatch.pickup_point_id)
        .where(DeliveryBatch.id == batch_id, PickupPoint.leader_id == leader_id)
    )


def batches_for_leader(leader_id: int, status: str | None = None, *, unfinished: bool = False) -> list[DeliveryBatch]:
    """Batches bound for the leader's pickup points, newest first; `unfinished`: not yet done
    (filtered here, not after loading: a year of a busy leader's batches is hundreds)."""
    stmt = (
        select(DeliveryBatch)
        .join(PickupPoint, PickupPoint.id == DeliveryBatch.pickup_point_id)
        .where(PickupPoint.leader_id == leader_id)
        .options(selectinload(DeliveryBatch.window), selectinload(DeliveryBatch.merchant))
        .order_by(DeliveryBatch.created_at.desc(), DeliveryBatch.id.desc())
    )
    if status:
        stmt = stmt.where(DeliveryBatch.status == status)
    if unfinished:
        stmt = stmt.where(DeliveryBatch.status != "done")
    return list(db.session.scalars(stmt))


def batches_for_merchant(
    merchant_id: int, *, window_id: int | None = None, status: str | None = None
) -> list[tuple[DeliveryBatch, int]]:
    """The merchant's batches with how many orders each carries, newest window first."""
    counts = (
        select(Order.batch_id, func.count(Order.id).label("orders"))
        .where(Order.batch_id.is_not(None), Order.status.not_in(NOT_DELIVERED))
        .group_by(Order.batch_id)
        .subquery()
    )
    stmt = (
        select(DeliveryBatch, func.coalesce(counts.c.orders, 0))
        .outerjoin(counts, counts.c.batch_id == DeliveryBatch.id)
        .join(Window, Window.id == DeliveryBatch.window_id)
        .where(DeliveryBatch.merchant_id == merchant_id)
        .options(selectinload(DeliveryBatch.window), selectinload(DeliveryBatch.pickup_point))
        .order_by(Window.closes_at.desc(), DeliveryBatch.id)
    )
    if window_id is not None:
        stmt = stmt.where(DeliveryBatch.window_id == window_id)
    if status:
        stmt = stmt.where(DeliveryBatch.status == status)
    return [(batch, count) for batch, count in db.session.execute(stmt)]


def batch_windows(merchant_id: int) -> list[Window]:
    """The merchant's windows that have at least one batch (for the list's filter)."""
    has_batch = select(DeliveryBatch.window_id).where(DeliveryBatch.merchant_id == merchant_id)
    return list(
        db.session.scalars(
            select(Window)
            .where(Window.merchant_id == merchant_id, Window.id.in_(has_batch))
            .order_by(Window.closes_at.desc())
        )
    )


# ---- the merchant's side


def start_picking(batch: DeliveryBatch, user: User) -> DeliveryBatch:
    """created → picking."""
    return _merchant_move(batch, user, ("created",), "picking", "batch.start_picking")


def check_dispatch_details(note: str | None, expected_at: datetime | None) -> str:
    """The cleaned note; ValidationFailed for a note that is too long or an arrival in the past
    or more than 30 days ahead."""

    fields = {}
    note, error = clean_line(note, max_len=200, required=False)
    if error:
        fields["note"] = error
    now = clock.now()
    if expected_at is not None and not now - timedelta(hours=1) <= expected_at <= now + timedelta(days=30):
        fields["expected_at"] = _("Choose an arrival time between now and 30 days ahead.")
    if fields:
        raise ValidationFailed(fields=fields)
    return note


def dispatch(batch: DeliveryBatch, user: User, *, note: str = "", expected_at: datetime | None = None) -> DeliveryBatch:
    """created|picking → dispatched, with the vehicle or driver note and the expected arrival the
    leader sees; tells the point's leader and staff the goods are coming."""
    note = check_dispatch_details(note, expected_at)
    batch = _merchant_move(
        batch,
        user,
        ("created", "picking"),
        "dispatched",
        "batch.dispatch",
        commit=False,
        extra={"dispatch_note": note, "expected_arrival_at": expected_at},
    )
    point = batch.pickup_point
    notifications.enqueue(
        "batch_dispatched",
        user_ids=_point_user_ids(point),
        title=message(N_("Delivery on its way: %(merchant)s"), merchant=batch.merchant.name),
        body=message(N_("%(window)s for %(point)s has been dispatched."), window=batch.window.title, point=point.name),
    )
    db.session.commit()
    return batch


def _merchant_move(
    batch: DeliveryBatch,
    user: User,
    sources: tuple[str, ...],
    target: str,
    action: str,
    *,
    commit: bool = True,
    extra: dict | None = None,
) -> DeliveryBatch:
    is_member = db.session.scalar(
        select(MerchantMember.id).where(
            MerchantMember.merchant_id == batch.merchant_id, MerchantMember.user_id == user.id
        )
    )
    if is_member is None:
        raise NotFound()
    values: dict = {"status": target, **(extra or {})}
    if target == "dispatched":
        values["dispatched_at"] = clock.now()
    _cas_batch(batch.id, sources, values)
    audit.record(audit.actor_for(user), action, "delivery_batch", batch.id, to_status=target)
    db.session.refresh(batch)
    if commit:
        db.session.commit()
    return batch


def _cas_batch(batch_id: int, sources: tuple[str, ...], values: dict) -> None:
    moved = db.session.execute(
        update(DeliveryBatch)
        .where(DeliveryBatch.id == batch_id, DeliveryBatch.status.in_(sources))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not moved:
        raise InvalidTransition()


# ---- the leader's side: arrival


def confirm_arrival(batch_id: int, leader: Leader, user: User, shortages: dict[int, int]) -> DeliveryBatch:
    """Record that the batch reached the leader's point, with shortages (product_id → units).

    Short units are taken from the latest-placed orders first and refunded; orders become
    ready_for_pickup, or refunded (code voided) when nothing of them arrived. Field errors are
    keyed by str(product_id).
    """
    batch = get_batch_for_leader(leader.id, batch_id)
    try:
        lines = _claim_arrival(batch, user)
        wanted = shortages_.validate(shortages, lines)
    except DomainError:
        db.session.rollback()
        raise
    actor = audit.actor_for(user)
    short_fen = shortages_.allocate(wanted, lines)
    ready, refunded = _move_arrived_orders(lines, short_fen, actor)
    slots.assign_slots(batch.id)
    audit.record(actor, "batch.arrive", "delivery_batch", batch.id, shortages={str(k): v for k, v in wanted.items()})
    _announce_arrival(batch, ready, refunded, sum(wanted.values()))
    maybe_finish_batch(batch.id)
    db.session.commit()
    db.session.refresh(batch)
    return batch


def _claim_arrival(batch: DeliveryBatch, user: User) -> list[OrderItem]:
    """Move the batch to arrived and lock what the arrival changes; the lines still to settle."""
    # The compare-and-set comes before any refund: a second arrival stops here.
    _cas_batch(batch.id, ARRIVABLE, {"status": "arrived", "arrived_at": clock.now(), "arrived_by_id": user.id})
    # Lock order batch → lines → orders: nothing else moves these orders while shortages
    # land on them, and an after-sales refund (lines, then order: services/orders/refunds.py) of one
    # of them waits for the arrival, or the arrival for it, instead of deadlocking.
    db.session.execute(
        select(OrderItem.id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.batch_id == batch.id, Order.status == "confirmed")
        .order_by(OrderItem.id)
        .with_for_update(of=OrderItem)
    ).all()
    db.session.execute(
        select(Order.id)
        .where(Order.batch_id == batch.id, Order.status == "confirmed")
        .order_by(Order.id)
        .with_for_update()
    ).all()
    return shortages_.open_lines(batch.id)


def _move_arrived_orders(lines: list[OrderItem], short_fen: dict[int, dict], actor: str) -> tuple[int, int]:
    """Each order ready for pickup (its short units refunded), or refunded whole when nothing of it
    arrived; (how many ready, how many refunded)."""
    ready = refunded = 0
    by_order: dict[int, list[OrderItem]] = defaultdict(list)
    for line in lines:
        by_order[line.order_id].append(line)
    orders = db.session.scalars(
        select(Order).where(Order.id.in_(by_order)).order_by(Order.id).execution_options(populate_existing=True)
    ).all()
    for order in orders:
        fully_short = all(line.shortage_qty == line.quantity for line in by_order[order.id])
        target = "refunded" if fully_short else "ready_for_pickup"
        if not lifecycle.move(
            order, "confirmed", target, actor, reason="arrival", detail=shortages_.detail(by_order[order.id])
        ):
            continue
        if fully_short:
            payments.refund_everything_left(order, "shortage", actor)
            codes.void_code(order.id)
            slots.free_slot(order)
            reservations.release_capacity(pickup_point_id=order.pickup_point_id, window_id=order.window_id)
            refunded += 1
        else:
            if short_fen.get(order.id):
                payments.refund_lines(order, short_fen[order.id], "shortage", actor)
            ready += 1
    return ready, refunded


def _announce_arrival(batch: DeliveryBatch, ready: int, refunded: int, units_short: int) -> None:
    point = batch.pickup_point
    notifications.enqueue(
        "batch_arrived",
        user_ids=_point_user_ids(point),
        title=message(N_("Goods arrived at %(point)s"), point=point.name),
        body=message(
            N_("%(ready)d orders ready for pickup, %(refunded)d refunded; %(units)d units short."),
            ready=ready,
            refunded=refunded,
            units=units_short,
        ),
    )


# Built once: every completed redemption runs these (see redemption_rows for why). The open
# statuses are spelled out (not NOT IN final) so the check is a few probes of
# ix_orders_batch_id_status, and as plain equalities so nothing is expanded per call.
_OPEN_ORDER_STATUSES = tuple(s for s in ORDER_STATUSES if s not in FINAL_ORDER_STATUSES)
_LOCK_BATCH = select(DeliveryBatch.id).where(DeliveryBatch.id == bindparam("batch_id")).with_for_update()
_FINISH_BATCH = (
    update(DeliveryBatch)
    .where(
        DeliveryBatch.id == bindparam("batch_id"),
        DeliveryBatch.status == "arrived",
        ~select(Order.id)
        .where(Order.batch_id == bindparam("batch_id"), or_(*(Order.status == s for s in _OPEN_ORDER_STATUSES)))
        .exists(),
    )
    .values(status="done")
)


def maybe_finish_batch(batch_id: int) -> bool:
    """arrived → done once every order in it is finished. Runs in the caller's transaction;
    call it after changing an order's status. True if this call finished the batch."""
    db.session.flush()  # orders changed through the ORM must be in the database before the check
    conn = db.session.connection()
    # Lock the batch first: two redemptions finishing the last two orders then see each
    # other's commit in turn, so one of them always finishes the batch. (SQLite writers
    # already hold the database's write lock.)
    if conn.dialect.name != "sqlite":
        conn.execute(_LOCK_BATCH, {"batch_id": batch_id})
    return bool(conn.execute(_FINISH_BATCH, {"batch_id": batch_id}).rowcount)


def reopen_batch(batch_id: int) -> bool:
    """done → arrived: an undone hand-over left a bag waiting again. True if it was done."""
    return bool(
        db.session.execute(
            update(DeliveryBatch)
            .where(DeliveryBatch.id == batch_id, DeliveryBatch.status == "done")
            .values(status="arrived")
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _point_user_ids(point: PickupPoint) -> list[int]:
    staff = db.session.scalars(select(PickupStaff.user_id).where(PickupStaff.pickup_point_id == point.id))
    leader_user = db.session.scalar(select(Leader.user_id).where(Leader.id == point.leader_id))
    return [*staff, *([leader_user] if leader_user else [])]
