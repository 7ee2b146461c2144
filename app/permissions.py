"""Object-scoped permission helpers: who the current user is to a merchant, leader or point.

Lookups of tenant objects go through `scoped_or_404`, so a forgotten check answers 404 and
another tenant's id is indistinguishable from one that does not exist.
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, union

from app.extensions import db
from app.models import Leader, Merchant, MerchantMember, PickupPoint, PickupStaff, User
from app.services.core.errors import NotFound


def membership_of(user: User) -> MerchantMember | None:
    """The user's merchant membership (one merchant per user in this version)."""
    if not user.is_authenticated:
        return None
    return db.session.scalar(
        select(MerchantMember)
        .join(Merchant, Merchant.id == MerchantMember.merchant_id)
        .where(MerchantMember.user_id == user.id, Merchant.active)  # a suspended merchant has no members
        .order_by(MerchantMember.id)
    )


def leader_of(user: User) -> Leader | None:
    if not user.is_authenticated:
        return None
    return db.session.scalar(select(Leader).where(Leader.user_id == user.id, Leader.active))


# Only points of active leaders: suspending a leader stops redemption at their points. An
# inactive point takes no new orders but its waiting bags must still be handed over.
# Built once: every counter request asks (statement building costs more than the query).
_STAFF_POINT_IDS = union(
    select(PickupStaff.pickup_point_id)
    .join(PickupPoint, PickupPoint.id == PickupStaff.pickup_point_id)
    .join(Leader, Leader.id == PickupPoint.leader_id)
    .where(PickupStaff.user_id == bindparam("user_id"), Leader.active),
    select(PickupPoint.id)
    .join(Leader, Leader.id == PickupPoint.leader_id)
    .where(Leader.user_id == bindparam("user_id"), Leader.active),
)


def staff_point_ids(user: User) -> list[int]:
    """Pickup points where the user may redeem: assigned points plus points they lead."""
    if not user.is_authenticated:
        return []
    return sorted(db.session.scalars(_STAFF_POINT_IDS, {"user_id": user.id}))


def roles_of(user: User) -> set[str]:
    roles: set[str] = set()
    if not user.is_authenticated:
        return roles
    if user.is_admin:
        roles.add("admin")
    if membership_of(user):
        roles.add("merchant")
    if leader_of(user):
        roles.add("leader")
    if staff_point_ids(user):
        roles.add("staff")
    return roles


def scoped_or_404(stmt):
    """Run a scoped select for one object; missing or out-of-scope both raise NotFound."""
    obj = db.session.scalar(stmt)
    if obj is None:
        raise NotFound()
    return obj
