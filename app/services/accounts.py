"""Users, merchants and leaders: creation by an admin, and authentication."""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Leader, Merchant, MerchantMember, User
from app.services.errors import ValidationFailed
from app.services.text import PHONE_RE, normalize_phone

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
MIN_PASSWORD = 8
# A fixed hash to compare against when the login is unknown, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _validate_user_fields(name: str, phone: str | None, email: str | None, password: str) -> dict:
    errors = {}
    if not name or len(name) > 80:
        errors["name"] = "Enter a name of 1–80 characters."
    if not phone and not email:
        errors["phone"] = "Enter a mobile number or an email address."
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = "Enter an 11-digit mainland mobile number."
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        errors["email"] = "Enter a valid email address."
    if len(password or "") < MIN_PASSWORD or len(password) > 128:
        errors["password"] = f"Use {MIN_PASSWORD}–128 characters."
    return errors


def create_user(
    name: str, password: str, *, phone: str | None = None, email: str | None = None,
    is_admin: bool = False, commit: bool = True,
) -> User:
    """Create a login; phone or email identifies it."""
    name = (name or "").strip()
    phone = normalize_phone(phone) if phone else None
    email = email.strip().lower() if email else None
    errors = _validate_user_fields(name, phone, email, password)
    if errors:
        raise ValidationFailed(fields=errors)
    user = User(
        name=name, phone=phone, email=email, is_admin=is_admin,
        password_hash=generate_password_hash(password),
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(fields={"phone" if phone else "email": "Already registered."}) from None
    if commit:
        db.session.commit()
    return user


def authenticate(login: str, password: str) -> User | None:
    """The user for a phone-or-email login and password, or None."""
    login = (login or "").strip()
    if not login or len(login) > 254 or not password or len(password) > 128:
        check_password_hash(_DUMMY_HASH, "x")
        return None
    phone = normalize_phone(login)
    user = db.session.scalar(
        select(User).where(or_(User.phone == phone, User.email == login.lower()))
    )
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def create_merchant(name: str, owner_name: str, owner_password: str, *,
                    owner_phone: str | None = None, owner_email: str | None = None) -> Merchant:
    """Create a merchant and its owner user in one transaction."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed(fields={"merchant_name": "Enter a name of 1–120 characters."})
    if db.session.scalar(select(Merchant.id).where(Merchant.name == name)):
        raise ValidationFailed(fields={"merchant_name": "A merchant with this name exists."})
    merchant = Merchant(name=name, contact_phone=normalize_phone(owner_phone) if owner_phone else None)
    db.session.add(merchant)
    user = create_user(owner_name, owner_password, phone=owner_phone, email=owner_email, commit=False)
    db.session.add(MerchantMember(merchant=merchant, user=user, role="owner"))
    db.session.commit()
    return merchant


def add_merchant_member(merchant: Merchant, user: User, role: str = "staff") -> MerchantMember:
    if role not in ("owner", "staff"):
        raise ValidationFailed(fields={"role": "Choose owner or staff."})
    member = MerchantMember(merchant_id=merchant.id, user_id=user.id, role=role)
    db.session.add(member)
    db.session.commit()
    return member


def create_leader(community_name: str, name: str, password: str, *,
                  phone: str | None = None, email: str | None = None) -> Leader:
    """Create a leader and their user in one transaction."""
    community_name = (community_name or "").strip()
    if not community_name or len(community_name) > 120:
        raise ValidationFailed(fields={"community_name": "Enter a name of 1–120 characters."})
    user = create_user(name, password, phone=phone, email=email, commit=False)
    leader = Leader(user=user, community_name=community_name)
    db.session.add(leader)
    db.session.commit()
    return leader


def list_merchants() -> list[Merchant]:
    return list(db.session.scalars(select(Merchant).order_by(Merchant.id)))


def list_leaders() -> list[Leader]:
    return list(db.session.scalars(select(Leader).order_by(Leader.id)))
