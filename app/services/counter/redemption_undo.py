"""Undoing a mistaken hand-over: only the point's leader, only for a short while, with a reason.

An undo gives back exactly what that redemption handed over (Redemption.lines), so undoing one
of several partial pickups leaves the others counted. If the order had been completed, its code
becomes live again under the same number and the order waits again (with its shelf slot).
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import PickupCode, PickupPoint, Redemption, User
from app.permissions import leader_of, scoped_or_404
from app.services.core import audit, clock
from app.services.core.checks import has_control_chars
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from app.services.counter import redemption_lines
from app.services.deliveries import deliveries, slots
from app.services.orders import lifecycle
from app.services.pickup import codes


def undo_window() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("REDEEM_UNDO_MINUTES", 10)))


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > 200 or has_control_chars(reason):
        raise ValidationFailed(fields={"reason": _("Give a reason of 1–200 characters.")})
    return reason


def led_redemption(user: User, redemption_id: int) -> Redemption:
    """A successful redemption at a point this user leads; 404 otherwise (plain staff included)."""
    leader = leader_of(user)
    if leader is None:
        raise NotFound()
    return scoped_or_404(
        select(Redemption)
        .join(PickupCode, PickupCode.id == Redemption.pickup_code_id)
        .join(PickupPoint, PickupPoint.id == PickupCode.pickup_point_id)
        .where(Redemption.id == redemption_id, PickupPoint.leader_id == leader.id, Redemption.outcome == "redeemed")
    )


def can_undo(row: Redemption) -> bool:
    return row.undone_at is None and bool(row.lines) and clock.now() <= row.created_at + undo_window()


def undo(user: User, redemption_id: int, reason: str) -> dict:
    """Give the redemption's units back, reopen the code and the order if it was completed, audit it."""
    reason = _clean_reason(reason)
    row = led_redemption(user, redemption_id)
    if row.undone_at is not None:
        raise Conflict(_("This hand-over was already undone."), undone_at=row.undone_at.isoformat())
    if not row.lines:
        raise Conflict(_("This hand-over cannot be undone here."))
    if clock.now() > row.created_at + undo_window():
        minutes = int(undo_window().total_seconds() // 60)
        raise Conflict(_("Too late to undo: hand-overs can be undone for %(n)s minutes.", n=minutes))
    now = clock.now()
    # Claim the undo first: a second undo racing this one finds undone_at set and changes nothing.
    claimed = db.session.execute(
        update(Redemption)
        .where(Redemption.id == row.id, Redemption.undone_at.is_(None))
        .values(undone_at=now, undone_by_id=user.id, undo_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise Conflict(_("This hand-over was already undone."))
    code = db.session.scalar(
        select(PickupCode)
        .where(PickupCode.id == row.pickup_code_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    order = code.order
    db.session.refresh(order)
    if not redemption_lines.give_back(order.id, row.lines):
        db.session.rollback()
        raise Conflict(_("This order changed meanwhile; it cannot be undone."))
    reopened = code.status == "redeemed"
    if reopened:
        _reopen(user, code, order, row, reason)
    audit.record(
        audit.actor_for(user),
        "redeem_undone",
        "pickup_code",
        code.id,
        pickup_point_id=code.pickup_point_id,
        order_id=order.id,
        redemption_id=row.id,
        lines=row.lines,
        reason=reason,
    )
    db.session.commit()
    return {
        "redemption_id": row.id,
        "order_id": order.id,
        "order_number": order.number,
        "code_id": code.id,
        "reopened": reopened,
        "undone_at": now.isoformat(),
        "undone_by": user.name,
        "reason": reason,
    }


def _reopen(user: User, code: PickupCode, order, row: Redemption, reason: str) -> None:
    try:
        moved = codes.reopen(code)
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _("The code's number was given to another order meanwhile; this hand-over cannot be undone.")
        ) from None
    if not moved:
        db.session.rollback()
        raise Conflict(_("This order changed meanwhile; it cannot be undone."))
    detail = {"pickup_code_id": code.id, "redemption_id": row.id}
    if not lifecycle.move(
        order,
        "completed",
        "ready_for_pickup",
        audit.actor_for(user),
        reason=f"redeem undone: {reason}"[:200],
        detail=detail,
        completed_at=None,
    ):
        db.session.rollback()
        raise Conflict(_("This order changed meanwhile; it cannot be undone."))
    slots.restore_slot(order)
    if order.batch_id is not None:
        # The hand-over may have finished the batch; with this bag waiting again it is not done.
        deliveries.reopen_batch(order.batch_id)
