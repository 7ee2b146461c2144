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
from app.models import Order, PickupCode, PickupPoint, Redemption, User
from app.permissions import staff_point_ids
from app.services import audit, clock, codes, counter_lock, deliveries, redemption_lines, slots
from app.services.catalog import has_control_chars
from app.services.errors import (
    AlreadyRedeemed,
    BadSignature,
    CodeEntryLocked,
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


def _lookup_failed(
    user: User,
    point_id: int,
    exc: DomainError,
    digits: str,
    code: PickupCode | None = None,
    *,
    outcome: str | None = None,
    device_id: str = "",
):
    """Audit a failed lookup with its real reason (never the full code) and commit it before the
    error rolls back. `outcome` is the reason when the answer given is deliberately vaguer."""
    counter_lock.record_lookup(audit.actor_for(user), point_id, code, outcome or exc.code, digits, device_id)
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


def _code_from_qr(user: User, point_id: int, text: str, device_id: str) -> tuple[PickupCode | None, str]:
    try:
        fields = codes.verify_qr(text)
    except BadSignature:
        raise _lookup_failed(
            user,
            point_id,
            BadSignature(_("Invalid signature: this QR code was not issued by us.")),
            "",
            device_id=device_id,
        ) from None
    digits = fields["code"]
    if fields["pickup_point_id"] != point_id:
        # The same answer as an unknown code: a guesser must not learn that a code exists elsewhere.
        raise _lookup_failed(user, point_id, InvalidCode(), digits, outcome="wrong_point", device_id=device_id)
    code = db.session.scalar(
        select(PickupCode).where(
            PickupCode.order_id == fields["order_id"],
            PickupCode.pickup_point_id == point_id,
            PickupCode.code == digits,
        )
    )
    return code, digits


def _code_from_digits(user: User, point_id: int, text: str, device_id: str) -> tuple[PickupCode | None, str]:
    digits = re.sub(r"[\s\-]", "", text)
    if not _DIGITS_RE.match(digits):
        raise _lookup_failed(user, point_id, _malformed(), digits if digits.isdigit() else "", device_id=device_id)
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


def _check_lock(user: User, point_id: int, device_id: str) -> None:
    try:
        counter_lock.check(audit.actor_for(user), device_id, point_id)
    except CodeEntryLocked as exc:
        raise _lookup_failed(user, point_id, exc, "", device_id=device_id) from None


def find_code(user: User, point_id: int, text: str, device_id: str = "") -> PickupCode:
    """The live code typed (8 digits) or scanned (signed QR text) at this point; every attempt is
    audited, and repeated wrong codes lock entry for the user, the device and the point."""
    text = (text or "").strip()
    device_id = counter_lock.clean_device_id(device_id)
    if point_id not in staff_point_ids(user):
        raise _lookup_failed(user, point_id, NotYourPickupPoint(), "", device_id=device_id)
    # Checked before looking at the code, so a locked counter answers the same for every code.
    _check_lock(user, point_id, device_id)
    if len(text) > 300 or has_control_chars(text):
        raise _lookup_failed(user, point_id, _malformed(), "", device_id=device_id)
    if text.startswith(codes.QR_VERSION + "."):
        code, digits = _code_from_qr(user, point_id, text, device_id)
    else:
        code, digits = _code_from_digits(user, point_id, text, device_id)
    if code is None:
        raise _lookup_failed(user, point_id, InvalidCode(), digits, device_id=device_id)
    if code.status == "void":
        raise _lookup_failed(user, point_id, InvalidCode(), digits, code, outcome="void", device_id=device_id)
    if code.status == "redeemed":
        raise _lookup_failed(user, point_id, _already_redeemed(code), digits, code, device_id=device_id)
    counter_lock.record_lookup(audit.actor_for(user), point_id, code, "found", digits, device_id)
    db.session.commit()
    return code


def _lines(order: Order) -> list[dict]:
    return [
        {
            "order_item_id": item.id,
            "name": item.product_name,
            "spec": item.product_spec,
            "quantity": item.quantity,
            "shortage_qty": item.shortage_qty,
            "hand_over": item.quantity - item.shortage_qty,
            "redeemed_qty": item.redeemed_qty,
            "remaining": redemption_lines.remaining(item),
            "shortage": item.shortage_qty > 0,
        }
        for item in order.items
        if item.status in ("confirmed", "redeemed")
    ]


def preview(user: User, point_id: int, text: str, device_id: str = "") -> dict:
    """What the counter shows before the hand-over, with a fresh idempotency key for the confirm."""
    code = find_code(user, point_id, text, device_id)
    order = code.order
    return {
        "code_id": code.id,
        "code": codes.format_code(code.code),
        "order_id": order.id,
        "order_number": order.number,
        "status": order.status,
        "redeemable": order.status == "ready_for_pickup",
        "shelf_slot": order.shelf_slot,
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


def _store_success(user, code, key, device, response, taken) -> Redemption | None:
    row = _store(user, code, key, device, "redeemed", response)
    if row is not None:
        row.lines = [{"order_item_id": item_id, "quantity": qty} for item_id, qty in sorted(taken.items())]
    return row


def redeem(
    user: User,
    point_id: int,
    code_id: int,
    idempotency_key: str,
    device: str = "",
    lines: dict[int, int] | None = None,
) -> dict:
    """Hand over the order, or some units of it (`lines`: order item id → units; None = all that
    remain). The code is redeemed and the order completed once nothing remains. The answer is
    stored under the idempotency key (a replay returns — or raises — the first answer)."""
    key, device = _check_request(idempotency_key, device)
    wanted = redemption_lines.parse_lines(lines)
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
    for item in order.items:
        db.session.refresh(item)
    try:
        taken = redemption_lines.plan(order, wanted)
    except ValidationFailed:
        db.session.rollback()
        raise

    now = clock.now()
    actor = audit.actor_for(user)
    redemption_lines.take(order.id, taken, now)
    complete = redemption_lines.units_left(order.id) == 0
    if complete and not _complete(user, code, order, now, actor, device):
        db.session.refresh(code)
        if code.status == "redeemed":
            return _refuse(user, code, key, device, _already_redeemed(code))
        raise InvalidCode()
    audit.record(
        actor,
        "redeem",
        "pickup_code",
        code.id,
        pickup_point_id=point_id,
        order_id=order.id,
        device=device,
        lines={str(item_id): qty for item_id, qty in taken.items()},
        complete=complete,
    )
    for item in order.items:
        db.session.refresh(item)
    response = {
        "outcome": "redeemed",
        "complete": complete,
        "code_id": code.id,
        "order_id": order.id,
        "order_number": order.number,
        "pickup_point_id": point_id,
        "shelf_slot": order.shelf_slot,
        "redeemed_at": now.isoformat(),
        "redeemed_by": user.name,
        "customer_name": mask_name(order.customer_name),
        "items": _lines(order),
        "handed_over": [{"order_item_id": item_id, "quantity": qty} for item_id, qty in sorted(taken.items())],
    }
    row = _store_success(user, code, key, device, response, taken)
    if row is None:
        return _replay_raced(key, user)
    response = {**response, "redemption_id": row.id}
    row.response = response  # a new object, so the change is flushed and a replay answers with the id too
    if complete and order.batch_id is not None:
        deliveries.maybe_finish_batch(order.batch_id)
    db.session.commit()
    return response


def _complete(user: User, code: PickupCode, order: Order, now, actor: str, device: str) -> bool:
    """Nothing remains: redeem the code (compare-and-set), complete the order, free its slot.
    False (everything rolled back) if someone else redeemed or the order was refunded meanwhile."""
    claimed = db.session.execute(
        update(PickupCode)
        .where(PickupCode.id == code.id, PickupCode.status == "issued")
        .values(status="redeemed", live_code=None, redeemed_at=now, redeemed_by_id=user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        return False
    detail = {"pickup_code_id": code.id, "pickup_point_id": code.pickup_point_id, "device": device}
    if not deliveries.move_order(
        order, "ready_for_pickup", "completed", actor, reason="redeemed", detail=detail, completed_at=now
    ):
        db.session.rollback()
        raise InvalidTransition(_("This order changed meanwhile; look the code up again."))
    slots.free_slot(order)
    return True
