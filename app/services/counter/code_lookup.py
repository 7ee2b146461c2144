"""Finding a typed or scanned pickup code at a counter, with every attempt audited.

Wrong codes count towards the code-entry lock (counter_lock) and are answered alike whether the
code is unknown, void or another point's, so a guesser learns nothing about valid codes.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import PickupCode, PickupPoint, User
from app.permissions import staff_point_ids
from app.services.core import audit, clock
from app.services.core.checks import has_control_chars
from app.services.core.errors import (
    AlreadyRedeemed,
    BadSignature,
    CodeEntryLocked,
    DomainError,
    InvalidCode,
    NotYourPickupPoint,
    ValidationFailed,
)
from app.services.counter import counter_lock
from app.services.pickup import codes

_DIGITS_RE = re.compile(r"^\d{8}$")


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


def already_redeemed(code: PickupCode) -> AlreadyRedeemed:
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
        raise _lookup_failed(user, point_id, already_redeemed(code), digits, code, device_id=device_id)
    counter_lock.record_lookup(audit.actor_for(user), point_id, code, "found", digits, device_id)
    db.session.commit()
    return code


def spent_code(point_id: int, text: str) -> PickupCode | None:
    """The redeemed code that `text` (a verified QR or 8 digits) names at this point, once
    find_code has answered "already redeemed"; for reporting who got there first."""
    text = (text or "").strip()
    stmt = select(PickupCode).where(PickupCode.pickup_point_id == point_id, PickupCode.status == "redeemed")
    if text.startswith(codes.QR_VERSION + "."):
        stmt = stmt.where(PickupCode.order_id == codes.verify_qr(text)["order_id"])
    else:
        stmt = stmt.where(PickupCode.code == re.sub(r"[\s\-]", "", text))
    return db.session.scalar(stmt.order_by(PickupCode.redeemed_at.desc(), PickupCode.id.desc()))
