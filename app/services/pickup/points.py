"""A leader's pickup points and the staff who may redeem codes at them.

Every lookup is scoped to the leader, so another leader's point id is NotFound (DESIGN.md §4.7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Leader, PickupPoint, PickupStaff, User
from app.permissions import scoped_or_404
from app.services.core import audit
from app.services.core.checks import check_int, clean_line
from app.services.core.errors import ValidationFailed
from app.services.core.text import PHONE_RE, normalize_phone

MAX_CAPACITY = 10_000
# Mainland mobile, or a landline such as 010-12345678 / 0755-1234567-801 / 12345678.
_LANDLINE_RE = re.compile(r"^\d{2,8}(-\d{1,8}){0,3}$")


@dataclass
class PointInput:
    name: str
    address: str
    contact_phone: str
    opening_hours: str = ""
    capacity: int = 200
    active: bool = True


def list_points(leader: Leader) -> list[PickupPoint]:
    return list(
        db.session.scalars(select(PickupPoint).where(PickupPoint.leader_id == leader.id).order_by(PickupPoint.id))
    )


def get_point(leader: Leader, point_id: int) -> PickupPoint:
    """One of this leader's points; another leader's id is NotFound."""
    return scoped_or_404(select(PickupPoint).where(PickupPoint.id == point_id, PickupPoint.leader_id == leader.id))


def clean_contact_phone(value: str | None) -> tuple[str, str | None]:
    """A mobile or landline number (digits and dashes); returns (value, error or None)."""
    text = re.sub(r"\s", "", value or "")
    if not text:
        return text, _("This field is required.")
    mobile = normalize_phone(text)
    if PHONE_RE.match(mobile):
        return mobile, None
    digits = sum(ch.isdigit() for ch in text)
    if len(text) > 20 or not _LANDLINE_RE.match(text) or not 7 <= digits <= 20:
        return text, _("Enter a mobile number or a landline such as 010-12345678.")
    return text, None


def _validate(data: PointInput) -> dict:
    errors: dict[str, str] = {}
    cleaned: dict = {}
    for name, max_len, required in (("name", 80, True), ("address", 200, True), ("opening_hours", 80, False)):
        cleaned[name], error = clean_line(getattr(data, name), max_len=max_len, required=required)
        if error:
            errors[name] = error
    cleaned["contact_phone"], error = clean_contact_phone(data.contact_phone)
    if error:
        errors["contact_phone"] = error
    if error := check_int(data.capacity, low=1, high=MAX_CAPACITY):
        errors["capacity"] = error
    if errors:
        raise ValidationFailed(fields=errors)
    cleaned["capacity"] = data.capacity
    cleaned["active"] = bool(data.active)
    return cleaned


def create_point(leader: Leader, data: PointInput, *, actor: str = "system") -> PickupPoint:
    """Add a pickup point to the leader's community."""
    values = _validate(data)
    point = PickupPoint(leader_id=leader.id, **values)
    db.session.add(point)
    db.session.flush()
    audit.record(actor, "point.created", "pickup_point", point.id)
    db.session.commit()
    return point


def update_point(leader: Leader, point_id: int, data: PointInput, *, actor: str = "system") -> PickupPoint:
    """Edit one of the leader's pickup points."""
    point = get_point(leader, point_id)
    values = _validate(data)
    for key, value in values.items():
        setattr(point, key, value)
    audit.record(actor, "point.updated", "pickup_point", point.id)
    db.session.commit()
    return point


def staff_of(point: PickupPoint) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(PickupStaff, PickupStaff.user_id == User.id)
            .where(PickupStaff.pickup_point_id == point.id)
            .order_by(User.name, User.id)
        )
    )


def assign_staff(leader: Leader, point_id: int, phone: str, *, actor: str = "system") -> User:
    """Let an existing user (found by mobile number) redeem codes at this point; idempotent."""
    point = get_point(leader, point_id)
    number = normalize_phone((phone or "").strip())
    if not PHONE_RE.match(number):
        raise ValidationFailed(fields={"phone": _("Enter an 11-digit mainland mobile number.")})
    user = db.session.scalar(select(User).where(User.phone == number, User.active.is_(True)))
    if user is None:
        raise ValidationFailed(fields={"phone": _("No user has this mobile number; ask them to get an account first.")})
    exists = db.session.scalar(
        select(PickupStaff.id).where(PickupStaff.pickup_point_id == point.id, PickupStaff.user_id == user.id)
    )
    if exists is None:
        try:
            with db.session.begin_nested():
                db.session.add(PickupStaff(pickup_point_id=point.id, user_id=user.id))
        except IntegrityError:
            pass  # a double submit assigned them a moment ago: the outcome is the same
        audit.record(actor, "point.staff_added", "pickup_point", point.id, user_id=user.id)
    db.session.commit()
    return user


def unassign_staff(leader: Leader, point_id: int, user_id: int, *, actor: str = "system") -> bool:
    """Stop a user redeeming at this point. True if they were assigned."""
    point = get_point(leader, point_id)
    removed = db.session.execute(
        delete(PickupStaff).where(PickupStaff.pickup_point_id == point.id, PickupStaff.user_id == user_id)
    ).rowcount
    if removed:
        audit.record(actor, "point.staff_removed", "pickup_point", point.id, user_id=user_id)
    db.session.commit()
    return bool(removed)
