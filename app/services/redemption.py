"""Redeeming pickup codes at the counter: find the code, show the bag, hand it over once.

Invariant 3 (DESIGN.md §4): a code is redeemed at most once, only at its own pickup point,
only by staff of that point (or its leader), only after arrival. The hand-over is a
compare-and-set on the code's status; every answer is stored under the request's
idempotency key so that a replayed request (a double tap, a scanner retrying on a flaky
network) gets the first answer back instead of a second redemption or a confusing refusal.
"""

from __future__ import annotations

import re
import uuid

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Order, OrderItem, PickupCode, PickupPoint, Redemption, User
from app.permissions import staff_point_ids
from app.services import audit, clock, codes, deliveries
from app.services.catalog import has_control_chars
from app.services.errors import (
    AlreadyRedeemed,
    BadSignature,
    Conflict,
    DomainError,
    InvalidCode,
    InvalidTransition,
    NotArrived,
    NotYourPickupPoint,
    ValidationFailed,
)
from app.services.text import mask_name, mask_phone

_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")
_DIGITS_RE = re.compile(r"^\d{8}$")
# Refusals that are answers about the code (stored and replayed), as opposed to bad requests.
_STORED_REFUSALS: dict[str, type[DomainError]] = {
    AlreadyRedeemed.code: AlreadyRedeemed,
    NotArrived.code: NotArrived,
}


# ---- finding a code


def counter_points(user: User) -> list[PickupPoint]:
    """The pickup points where this user may redeem, for the counter's selector."""
    ids = staff_point_ids(user)
    if not ids:
        return []
    return list(db.session.scalars(select(PickupPoint).where(PickupPoint.id.in_(ids)).order_by(PickupPoint.name)))


def _lookup_failed(user: User, point_id: int, exc: DomainError, digits: str, code: PickupCode | None = None):
    """Audit a failed lookup (never the full code) and commit it before the error rolls back."""
    audit.record(
        audit.actor_for(user),
        "code_lookup",
        "pickup_code",
        code.id if code else None,
        pickup_point_id=point_id,
        outcome=exc.code,
        last4=digits[-4:],
    )
    db.session.commit()
    return exc


def _malformed() -> ValidationFailed:
    return ValidationFailed(fields={"code": _("Enter the 8-digit pickup code or scan its QR code.")})


def _already_redeemed(code: PickupCode) -> AlreadyRedeemed:
    when = code.redeemed_at
    who = code.redeemed_by.name if code.redeemed_by else ""
    return AlreadyRedeemed(
        _("Already redeemed on %(when)s by %(who)s.", when=clock.to_local(when).strftime("%Y-%m-%d %H:%M"), who=who)
        if when
        else None,
        redeemed_at=when.isoformat() if when else None,
        redeemed_by=who or None,
    )


def _code_from_qr(user: User, point_id: int, text: str) -> tuple[PickupCode | None, str]:
    try:
        fields = codes.verify_qr(text)
    except BadSignature:
        raise _lookup_failed(
            user, point_id, BadSignature(_("Invalid signature: this QR code was not issued by us.")), ""
        ) from None
    digits = fields["code"]
    if fields["pickup_point_id"] != point_id:
        raise _lookup_failed(user, point_id, NotYourPickupPoint(), digits)
    code = db.session.scalar(
        select(PickupCode).where(
            PickupCode.order_id == fields["order_id"],
            PickupCode.pickup_point_id == point_id,
            PickupCode.code == digits,
        )
    )
    return code, digits


def _code_from_digits(user: User, point_id: int, text: str) -> tuple[PickupCode | None, str]:
    digits = re.sub(r"[\s\-]", "", text)
    if not _DIGITS_RE.match(digits):
        raise _lookup_failed(user, point_id, _malformed(), digits if digits.isdigit() else "")
    live = db.session.scalar(
        select(PickupCode).where(PickupCode.pickup_point_id == point_id, PickupCode.live_code == digits)
    )
    if live is not None:
        return live, digits
    # Not live: say so plainly if it is a code of this point that was already handed over.
    spent = db.session.scalar(
        select(PickupCode)
        .where(PickupCode.pickup_point_id == point_id, PickupCode.code == digits, PickupCode.status == "redeemed")
        .order_by(PickupCode.redeemed_at.desc(), PickupCode.id.desc())
    )
    return spent, digits


def find_code(user: User, point_id: int, text: str) -> PickupCode:
    """The live code typed (8 digits) or scanned (signed QR text) at this point; every attempt is audited."""
    text = (text or "").strip()
    if point_id not in staff_point_ids(user):
        raise _lookup_failed(user, point_id, NotYourPickupPoint(), "")
    if len(text) > 300 or has_control_chars(text):
        raise _lookup_failed(user, point_id, _malformed(), "")
    if text.startswith(codes.QR_VERSION + "."):
        code, digits = _code_from_qr(user, point_id, text)
    else:
        code, digits = _code_from_digits(user, point_id, text)
    if code is None or code.status == "void":
        raise _lookup_failed(user, point_id, InvalidCode(), digits, code)
    if code.status == "redeemed":
        raise _lookup_failed(user, point_id, _already_redeemed(code), digits, code)
    audit.record(
        audit.actor_for(user),
        "code_lookup",
        "pickup_code",
        code.id,
        pickup_point_id=point_id,
        outcome="found",
        last4=digits[-4:],
    )
    db.session.commit()
    return code


def _lines(order: Order) -> list[dict]:
    return [
        {
            "name": item.product_name,
            "spec": item.product_spec,
            "quantity": item.quantity,
            "shortage_qty": item.shortage_qty,
            "hand_over": item.quantity - item.shortage_qty,
            "shortage": item.shortage_qty > 0,
        }
        for item in order.items
        if item.status in ("confirmed", "redeemed")
    ]


def preview(user: User, point_id: int, text: str) -> dict:
    """What the counter shows before the hand-over, with a fresh idempotency key for the confirm."""
    code = find_code(user, point_id, text)
    order = code.order
    return {
        "code_id": code.id,
        "code": codes.format_code(code.code),
        "order_id": order.id,
        "order_number": order.number,
        "status": order.status,
        "redeemable": order.status == "ready_for_pickup",
        "customer_name": mask_name(order.customer_name),
        "customer_phone": mask_phone(order.customer_phone),
        "pickup_point": {"id": code.pickup_point_id, "name": code.pickup_point.name},
        "items": _lines(order),
        "idempotency_key": uuid.uuid4().hex,
    }


# ---- redeeming


def _stored(key: str) -> Redemption | None:
    return db.session.scalar(select(Redemption).where(Redemption.idempotency_key == key))


def _replay(stored: Redemption, user: User) -> dict:
    """The first answer given under this key: the same success body, or the same refusal raised again."""
    if stored.user_id != user.id:
        raise Conflict(_("This request key was already used by someone else."), code_id=stored.pickup_code_id)
    if stored.outcome == "redeemed":
        return stored.response
    body = dict(stored.response.get("error") or {})
    cls = _STORED_REFUSALS.get(body.pop("code", ""), Conflict)
    message = body.pop("message", None)
    body.pop("fields", None)
    raise cls(message, **body)


def _store(user: User, code: PickupCode, key: str, device: str, outcome: str, response: dict) -> Redemption | None:
    """Record the answer under its key; None if a racing request with the same key answered first
    (then everything this request did is rolled back and the caller returns that answer)."""
    row = Redemption(
        idempotency_key=key,
        user_id=user.id,
        pickup_code_id=code.id,
        device=device,
        outcome=outcome,
        response=response,
        created_at=clock.now(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        db.session.rollback()
        return None
    return row


def _replay_raced(key: str, user: User) -> dict:
    stored = _stored(key)
    if stored is None:  # the insert failed for another reason than the key; nothing was kept
        raise Conflict(_("The code changed meanwhile; look it up again."))
    return _replay(stored, user)


def _refuse(user: User, code: PickupCode, key: str, device: str, exc: DomainError) -> dict:
    """Store a refusal so a replay gets the same answer, audit it, then raise it."""
    if _store(user, code, key, device, exc.code, exc.to_dict()) is None:
        return _replay_raced(key, user)
    audit.record(
        audit.actor_for(user),
        "redeem_refused",
        "pickup_code",
        code.id,
        pickup_point_id=code.pickup_point_id,
        outcome=exc.code,
        idempotency_key=key,
    )
    db.session.commit()
    raise exc


def _check_request(key: str, device: str) -> tuple[str, str]:
    key = (key or "").strip()
    if not _KEY_RE.match(key):
        raise ValidationFailed(fields={"idempotency_key": _("Send a request key of 8–64 letters, digits, - or _.")})
    device = (device or "").strip()
    if len(device) > 80 or has_control_chars(device):
        raise ValidationFailed(fields={"device": _("Use at most 80 printable characters.")})
    return key, device


def redeem(user: User, point_id: int, code_id: int, idempotency_key: str, device: str = "") -> dict:
    """Hand the order over: redeem its code once, complete the order, and return the answer stored
    under the idempotency key (a replay returns — or raises — the first answer)."""
    key, device = _check_request(idempotency_key, device)
    stored = _stored(key)
    if stored is not None:
        return _replay(stored, user)
    if point_id not in staff_point_ids(user):
        raise NotYourPickupPoint()
    # Lock the code row before deciding anything: on PostgreSQL (READ COMMITTED) each statement
    # sees a fresh snapshot, so without the lock a loser could read the code as still issued and
    # then the order as already completed by the winner, and answer "not arrived".
    code = db.session.scalar(
        select(PickupCode)
        .where(PickupCode.id == code_id, PickupCode.pickup_point_id == point_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if code is None or code.status == "void":
        raise InvalidCode()
    if code.status == "redeemed":
        return _refuse(user, code, key, device, _already_redeemed(code))
    order = code.order
    db.session.refresh(order)
    if order.status != "ready_for_pickup":
        return _refuse(user, code, key, device, NotArrived())

    now = clock.now()
    claimed = db.session.execute(
        update(PickupCode)
        .where(PickupCode.id == code.id, PickupCode.status == "issued")
        .values(status="redeemed", live_code=None, redeemed_at=now, redeemed_by_id=user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        # Someone else redeemed (or the order was refunded) between our read and the update.
        db.session.refresh(code)
        if code.status == "redeemed":
            return _refuse(user, code, key, device, _already_redeemed(code))
        raise InvalidCode()
    actor = audit.actor_for(user)
    detail = {"pickup_code_id": code.id, "pickup_point_id": point_id, "device": device}
    if not deliveries.move_order(
        order, "ready_for_pickup", "completed", actor, reason="redeemed", detail=detail, completed_at=now
    ):
        db.session.rollback()
        raise InvalidTransition(_("This order changed meanwhile; look the code up again."))
    db.session.execute(
        update(OrderItem)
        .where(
            OrderItem.order_id == order.id,
            OrderItem.status == "confirmed",
            OrderItem.shortage_qty < OrderItem.quantity,
        )
        .values(status="redeemed", redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record(actor, "redeem", "pickup_code", code.id, pickup_point_id=point_id, order_id=order.id, device=device)
    response = {
        "outcome": "redeemed",
        "code_id": code.id,
        "order_id": order.id,
        "order_number": order.number,
        "pickup_point_id": point_id,
        "redeemed_at": now.isoformat(),
        "redeemed_by": user.name,
        "customer_name": mask_name(order.customer_name),
        "items": _lines(order),
    }
    if _store(user, code, key, device, "redeemed", response) is None:
        return _replay_raced(key, user)
    if order.batch_id is not None:
        deliveries.maybe_finish_batch(order.batch_id)
    db.session.commit()
    return response
