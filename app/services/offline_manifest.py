"""What a scanner device keeps for working without a network: its pickup point's waiting bags.

The device never holds the codes themselves. Each entry is keyed by HMAC-SHA256(manifest key,
code); the device computes the same HMAC over a scanned or typed code and looks it up. The key
is per pickup point and per day (derived from SECRET_KEY), so a manifest copied off a device
names no codes in the clear and yesterday's hashes do not match today's. Honest limit: the key
is on the device, and 10^8 codes can be brute-forced against it offline by someone who steals
the device's storage; what that gets them is the list of waiting bags at one point, which the
device shows anyway. A QR still needs its Ed25519 signature, which no device can make.

Recently collected codes are listed too (status "redeemed"), so an offline device can answer
"already collected" instead of "unknown" for a bag handed over earlier today.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Order, PickupCode, PickupPoint, User
from app.permissions import staff_point_ids
from app.services import clock, codes, redemption_lines
from app.services.errors import NotYourPickupPoint
from app.services.text import mask_name, mask_phone

MANIFEST_VERSION = 1
REDEEMED_DAYS = 2
# A device should fetch a fresh manifest long before this; past it the page warns that its
# offline answers may be stale (orders refunded since, bags collected at another counter).
VALID_HOURS = 24


def manifest_key(point_id: int, day: str) -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"gb-offline-manifest|{point_id}|{day}".encode(), hashlib.sha256).digest()


def code_hash(key: bytes, digits: str) -> str:
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _entry(key: bytes, code: PickupCode, order: Order, redeemed_by: User | None) -> dict:
    waiting = code.status == "issued"
    return {
        "h": code_hash(key, code.code),
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
    day = clock.to_local(now).date().isoformat()
    key = manifest_key(point_id, day)
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
    entries = [_entry(key, code, order, by) for code, order, by in rows]
    return {
        "version": MANIFEST_VERSION,
        "pickup_point": {"id": point.id, "name": point.name},
        "generated_at": now.isoformat(),
        "valid_until": (now + timedelta(hours=VALID_HOURS)).isoformat(),
        "hash": {"algorithm": "HMAC-SHA256", "key": _b64(key), "day": day},
        "signing": {"algorithm": "Ed25519", "keys": codes.public_keys(), "qr_version": codes.QR_VERSION},
        "orders": entries,
    }
