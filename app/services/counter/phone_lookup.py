"""A customer who lost their code: their bags waiting at this point, found by the phone's last
four digits (what neighbours know), each ready to hand over through the usual exactly-once path.

Only the point's staff may ask, only bags waiting at that point are shown, and each answer hands
out the same proof a preview does (a redeem token per bag, for its own request key), so a
hand-over still goes through `redemption.redeem` bag by bag. Every lookup is audited; a tail that
finds nothing counts as a wrong code towards the code-entry lock, so guessing tails locks the
counter as guessing codes does. Staff check the customer's name against the masked one shown.
"""

from __future__ import annotations

import re
import uuid

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Order, PickupCode, User
from app.permissions import staff_point_ids
from app.services.core import audit
from app.services.core.errors import CodeEntryLocked, InvalidCode, NotYourPickupPoint, ValidationFailed
from app.services.core.text import mask_name, mask_phone
from app.services.counter import counter_lock, redeem_proof, redemption_lines

TAIL_RE = re.compile(r"^\d{4}$")
# More bags than this under one tail at one point is a guess, not a family's shopping.
MAX_BAGS = 12


def _failed(user: User, point_id: int, tail: str, device_id: str, exc, outcome: str):
    counter_lock.record_attempt(audit.actor_for(user), point_id, None, outcome, tail, device_id, action="phone_lookup")
    db.session.commit()
    return exc


def bags_for_tail(user: User, point_id: int, tail: str, device_id: str = "") -> list[dict]:
    """The bags waiting at this point for phones ending in `tail`, slot order, each with its
    request key and proof for the hand-over. InvalidCode when there are none."""
    tail = (tail or "").strip()
    device_id = counter_lock.clean_device_id(device_id)
    if point_id not in staff_point_ids(user):
        raise _failed(user, point_id, "", device_id, NotYourPickupPoint(), "wrong_point")
    if not TAIL_RE.match(tail):
        raise ValidationFailed(fields={"tail": _("Type the last 4 digits of the customer's phone.")})
    try:
        counter_lock.check(audit.actor_for(user), device_id, point_id)
    except CodeEntryLocked as exc:
        raise _failed(user, point_id, "", device_id, exc, exc.code) from None
    orders = db.session.scalars(
        select(Order)
        .where(
            Order.pickup_point_id == point_id,
            Order.status == "ready_for_pickup",
            Order.customer_phone.endswith(tail, autoescape=True),
        )
        .options(selectinload(Order.items))
        .order_by(Order.shelf_slot, Order.id)
        .limit(MAX_BAGS + 1)
    ).all()
    if not orders or len(orders) > MAX_BAGS:
        raise _failed(
            user, point_id, tail, device_id, InvalidCode(_("No bag waits here for that phone.")), "invalid_code"
        )
    live = dict(
        db.session.execute(
            select(PickupCode.order_id, PickupCode.id).where(
                PickupCode.order_id.in_([o.id for o in orders]), PickupCode.status == "issued"
            )
        ).all()
    )
    counter_lock.record_attempt(
        audit.actor_for(user), point_id, None, "found", tail, device_id, action="phone_lookup", bags=len(live)
    )
    db.session.commit()
    return [_bag(user, point_id, order, live[order.id]) for order in orders if order.id in live]


def _bag(user: User, point_id: int, order: Order, code_id: int) -> dict:
    key = uuid.uuid4().hex
    return {
        "code_id": code_id,
        "order_number": order.number,
        "shelf_slot": order.shelf_slot,
        "customer_name": mask_name(order.customer_name),
        "customer_phone": mask_phone(order.customer_phone),
        "items": [
            {"name": item.product_name, "spec": item.product_spec, "remaining": redemption_lines.remaining(item)}
            for item in order.items
            if item.status in ("confirmed", "redeemed") and redemption_lines.remaining(item)
        ],
        "idempotency_key": key,
        "redeem_token": redeem_proof.issue_token(user, point_id, code_id, key),
    }
