"""What a scanner device keeps for working without a network: its pickup point's bags.

The manifest holds nothing from which a pickup code can be learnt: no code, no hash of one, no
key to compute such a hash (DESIGN.md §4.12). An 8-digit code has only 10^8 values, so any hash
of it a device could check can also be tried against all of them in minutes (the HMAC manifest
of version 1 fell in about 216 s on one core), far faster than guessing at the server, which
locks entry after a few wrong codes. So, offline:

- a scanned QR (`GB1.<kid>.<order>.<point>.<code>.<issued>.<sig>`) is checked against the
  Ed25519 public keys in `signing` (public, no secret), and its bag found by `order_id`, which
  is not secret either (one code per order, so a genuine signature names that order's code);
- a typed code cannot be checked and the scanner says so: scan the QR or wait for the network.

Recently collected bags are listed too (status "redeemed"), so an offline device can answer
"already collected" instead of "unknown" for a label handed over earlier today.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Order, PickupCode, PickupPoint, User
from app.permissions import staff_point_ids
from app.services.core import clock
from app.services.core.errors import NotYourPickupPoint
from app.services.core.text import mask_name, mask_phone
from app.services.counter import redemption_lines
from app.services.pickup import codes

# 2: no code-derived data (version 1 carried an HMAC key and a hash per code). The scanner
# discards a stored manifest of any other version, so no old copy with hashes stays on a device.
MANIFEST_VERSION = 2
REDEEMED_DAYS = 2
# A device should fetch a fresh manifest long before this; past it the page warns that its
# offline answers may be stale (orders refunded since, bags collected at another counter).
VALID_HOURS = 24


def _entry(code: PickupCode, order: Order, redeemed_by: User | None) -> dict:
    waiting = code.status == "issued"
    return {
        "code_id": code.id,
        "order_id": order.id,
        "order_number": order.number,
        "shelf_slot": order.shelf_slot,
        "customer_name": mask_name(order.customer_name),
        "customer_phone": mask_phone(order.customer_phone),
        "status": "waiting" if waiting else "redeemed",
        "redeemed_at": code.redeemed_at.isoformat() if code.redeemed_at else None,
        "redeemed_by": redeemed_by.name if redeemed_by else None,
        "items": [
            {
                "name": item.product_name,
                "spec": item.product_spec,
                "remaining": redemption_lines.remaining(item),
                "shortage_qty": item.shortage_qty,
            }
            for item in order.items
            if item.status in ("confirmed", "redeemed")
        ],
    }


def build(user: User, point_id: int) -> dict:
    """The manifest for one pickup point this user staffs (404 for any other point)."""
    if point_id not in staff_point_ids(user):
        raise NotYourPickupPoint()
    point = db.session.get(PickupPoint, point_id)
    now = clock.now()
    rows = db.session.execute(
        select(PickupCode, Order, User)
        .join(Order, Order.id == PickupCode.order_id)
        .outerjoin(User, User.id == PickupCode.redeemed_by_id)
        .where(
            PickupCode.pickup_point_id == point_id,
            or_(
                and_(PickupCode.status == "issued", Order.status == "ready_for_pickup"),
                and_(PickupCode.status == "redeemed", PickupCode.redeemed_at >= now - timedelta(days=REDEEMED_DAYS)),
            ),
        )
        .order_by(Order.shelf_slot, Order.id)
        .options(selectinload(Order.items))
    ).all()
    return {
        "version": MANIFEST_VERSION,
        "pickup_point": {"id": point.id, "name": point.name},
        "generated_at": now.isoformat(),
        "valid_until": (now + timedelta(hours=VALID_HOURS)).isoformat(),
        "signing": {"algorithm": "Ed25519", "keys": codes.public_keys(), "qr_version": codes.QR_VERSION},
        "orders": [_entry(code, order, by) for code, order, by in rows],
    }
