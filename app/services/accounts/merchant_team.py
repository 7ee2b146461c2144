"""A merchant's team: staff invited by the owner, each allowed some areas of the portal.

Areas: products, windows, batches, after_sales, finance, reports. The owner has every area and
alone manages the team. Every merchant view and API endpoint names the area it needs
(blueprints/access.merchant_area_required), and the URL-map test checks that they all do.

An invitation is a link with a random token (only its hash is kept), valid for INVITE_DAYS and
used once (compare-and-set on accepted_at). Whoever opens it sets the password of a new account
for the invited phone number; a phone that already has an account must sign in as it first.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Merchant, MerchantInvitation, MerchantMember, User
from app.models.accounts import MERCHANT_AREAS
from app.services.accounts import accounts
from app.services.core import audit, clock
from app.services.core.checks import clean_line
from app.services.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.services.core.text import PHONE_RE, normalize_phone

AREA_LABELS = {
    "products": _l("Products"),
    "windows": _l("Group buys"),
    "batches": _l("Deliveries and documents"),
    "after_sales": _l("After-sales"),
    "finance": _l("Finance"),
    "reports": _l("Reports"),
}
AREAS: dict[str, object] = {area: AREA_LABELS[area] for area in MERCHANT_AREAS}
INVITE_DAYS = 7
MAX_MEMBERS = 50


class InvitationUnusable(Conflict):
    code = "invitation_unusable"
    default_message = _l("This invitation link was used, withdrawn or has expired. Ask for a new one.")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def can(member: MerchantMember | None, area: str) -> bool:
    if member is None:
        return False
    return member.role == "owner" or area in (member.areas or [])


def allowed_areas(member: MerchantMember | None) -> set[str]:
    return {area for area in AREAS if can(member, area)}


def _require_owner(member: MerchantMember) -> None:
    if member is None or member.role != "owner":
        raise PermissionDenied()


def _checked_areas(areas) -> list[str]:
    chosen = list(dict.fromkeys(areas or []))
    if not chosen or any(area not in AREAS for area in chosen):
        raise ValidationFailed(fields={"areas": _("Choose at least one area.")})
    return chosen


def members(merchant_id: int) -> list[MerchantMember]:
    return list(
        db.session.scalars(
            select(MerchantMember)
            .where(MerchantMember.merchant_id == merchant_id)
            .order_by(MerchantMember.role != "owner", MerchantMember.id)
        )
    )


def pending_invitations(merchant_id: int) -> list[MerchantInvitation]:
    return list(
        db.session.scalars(
            select(MerchantInvitation)
            .where(
                MerchantInvitation.merchant_id == merchant_id,
                MerchantInvitation.accepted_at.is_(None),
                MerchantInvitation.revoked_at.is_(None),
                MerchantInvitation.expires_at > clock.now(),
            )
            .order_by(MerchantInvitation.id.desc())
        )
    )


def invite(owner: MerchantMember, user: User, *, name: str, phone: str, areas) -> tuple[MerchantInvitation, str]:
    """An invitation for `phone` with `areas`; returns it and the token for the link (shown once)."""
    _require_owner(owner)
    fields = {}
    name, error = clean_line(name, max_len=40, required=True)
    if error:
        fields["name"] = error
    phone = normalize_phone(phone or "")
    if not PHONE_RE.match(phone):
        fields["phone"] = _("Enter an 11-digit mainland mobile number.")
    else:
        existing = db.session.scalar(
            select(MerchantMember).join(User, User.id == MerchantMember.user_id).where(User.phone == phone)
        )
        if existing is not None:
            fields["phone"] = _("This number already belongs to a merchant's team.")
    try:
        areas = _checked_areas(areas)
    except ValidationFailed as exc:
        fields.update(exc.fields)
    if not fields and len(members(owner.merchant_id)) + len(pending_invitations(owner.merchant_id)) >= MAX_MEMBERS:
        fields["phone"] = _("A team has at most %(n)d people.", n=MAX_MEMBERS)
    if fields:
        raise ValidationFailed(fields=fields)
    token = secrets.token_urlsafe(32)
    now = clock.now()
    invitation = MerchantInvitation(
        merchant_id=owner.merchant_id,
        name=name,
        phone=phone,
        areas=areas,
        token_hash=_hash(token),
        invited_by=user.id,
        created_at=now,
        expires_at=now + timedelta(days=INVITE_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        audit.actor_for(user), "team.invited", "merchant", owner.merchant_id, invitation_id=invitation.id, areas=areas
    )
    db.session.commit()
    return invitation, token


def open_invitation(token: str) -> MerchantInvitation:
    """The usable invitation behind a link; anything else is InvitationUnusable (or NotFound)."""
    invitation = None
    if token and len(token) <= 64:
        invitation = db.session.scalar(select(MerchantInvitation).where(MerchantInvitation.token_hash == _hash(token)))
    if invitation is None:
        raise NotFound()
    if invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= clock.now():
        raise InvitationUnusable()
    return invitation


def accept(token: str, *, current: User | None, password: str | None) -> User:
    """Join the team: as the signed-in user whose phone was invited, or as a new account with
    `password`. The invitation is used once, whatever races."""
    invitation = open_invitation(token)
    existing = db.session.scalar(select(User).where(User.phone == invitation.phone))
    if existing is not None and (current is None or current.id != existing.id):
        raise ValidationFailed(_("This number already has an account: sign in with it, then open the link again."))
    if existing is not None and db.session.scalar(
        select(MerchantMember.id).where(MerchantMember.user_id == existing.id)
    ):
        raise ValidationFailed(_("This number already belongs to a merchant's team."))
    if existing is None and current is not None:
        raise ValidationFailed(_("Sign out first: the invitation is for another mobile number."))
    now = clock.now()
    claimed = db.session.execute(
        update(MerchantInvitation)
        .where(
            MerchantInvitation.id == invitation.id,
            MerchantInvitation.accepted_at.is_(None),
            MerchantInvitation.revoked_at.is_(None),
        )
        .values(accepted_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        raise InvitationUnusable()
    try:
        user = existing or accounts.create_user(invitation.name, password or "", phone=invitation.phone, commit=False)
        db.session.add(
            MerchantMember(merchant_id=invitation.merchant_id, user_id=user.id, role="staff", areas=invitation.areas)
        )
        db.session.execute(
            update(MerchantInvitation).where(MerchantInvitation.id == invitation.id).values(accepted_user_id=user.id)
        )
        audit.record(
            f"user:{user.id}",
            "team.joined",
            "merchant",
            invitation.merchant_id,
            invitation_id=invitation.id,
            areas=invitation.areas,
        )
        db.session.commit()
    except (ValidationFailed, IntegrityError) as exc:
        db.session.rollback()  # the claim too: the link still works after a bad password
        if isinstance(exc, IntegrityError):
            raise InvitationUnusable() from None
        raise
    return user


def _member_of(owner: MerchantMember, member_id: int) -> MerchantMember:
    _require_owner(owner)
    member = db.session.scalar(
        select(MerchantMember).where(MerchantMember.id == member_id, MerchantMember.merchant_id == owner.merchant_id)
    )
    if member is None:
        raise NotFound()
    if member.role == "owner":
        raise ValidationFailed(_("The owner has every area and cannot be changed here."))
    return member


def set_areas(owner: MerchantMember, user: User, member_id: int, areas) -> MerchantMember:
    member = _member_of(owner, member_id)
    member.areas = _checked_areas(areas)
    audit.record(
        audit.actor_for(user),
        "team.areas_changed",
        "merchant",
        owner.merchant_id,
        member_id=member.id,
        areas=member.areas,
    )
    db.session.commit()
    return member


def remove(owner: MerchantMember, user: User, member_id: int) -> None:
    member = _member_of(owner, member_id)
    audit.record(
        audit.actor_for(user),
        "team.removed",
        "merchant",
        owner.merchant_id,
        member_id=member.id,
        user_id=member.user_id,
    )
    db.session.delete(member)
    db.session.commit()


def revoke(owner: MerchantMember, user: User, invitation_id: int) -> None:
    _require_owner(owner)
    done = db.session.execute(
        update(MerchantInvitation)
        .where(
            MerchantInvitation.id == invitation_id,
            MerchantInvitation.merchant_id == owner.merchant_id,
            MerchantInvitation.accepted_at.is_(None),
            MerchantInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not done:
        db.session.rollback()
        raise NotFound()
    audit.record(
        audit.actor_for(user), "team.invitation_revoked", "merchant", owner.merchant_id, invitation_id=invitation_id
    )
    db.session.commit()


def merchant_name(merchant_id: int) -> str:
    merchant = db.session.get(Merchant, merchant_id)
    return merchant.name if merchant else ""
