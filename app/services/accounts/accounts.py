"""Users, merchants and leaders: creation by an admin, authentication, passwords and deactivation."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.i18n import SUPPORTED as LOCALES
from app.models import Leader, Merchant, MerchantMember, User
from app.models.accounts import MERCHANT_AREAS
from app.services.accounts import sessions
from app.services.core import audit
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.text import PHONE_RE, normalize_phone

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
MIN_PASSWORD = 8
# A fixed hash to compare against when the login is unknown, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _clean_user_fields(name, phone, email) -> tuple[str, str | None, str | None]:
    name = (name or "").strip()
    phone = normalize_phone(phone) if phone and phone.strip() else None
    email = email.strip().lower() if email and email.strip() else None
    return name, phone, email


def _validate_user_fields(name: str, phone: str | None, email: str | None, password: str) -> dict:
    errors = {}
    if not name or len(name) > 80:
        errors["name"] = _("Enter a name of 1–80 characters.")
    if not phone and not email:
        errors["phone"] = _("Enter a mobile number or an email address.")
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = _("Enter an 11-digit mainland mobile number.")
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        errors["email"] = _("Enter a valid email address.")
    if len(password or "") < MIN_PASSWORD or len(password) > 128:
        errors["password"] = _("Use %(min)d–128 characters.", min=MIN_PASSWORD)
    return errors


def _taken_logins(phone: str | None, email: str | None) -> dict:
    """Field errors for a phone or email another user already has (a friendly early answer;
    the unique constraints remain the real guard against a concurrent duplicate)."""
    errors = {}
    if phone and db.session.scalar(select(User.id).where(User.phone == phone)):
        errors["phone"] = _("Already registered.")
    if email and db.session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = _("Already registered.")
    return errors


def _flush_or_fail(fallback: dict) -> None:
    """Flush pending rows; a unique-constraint race becomes field errors and nothing is kept."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed(fields=fallback) from None


def _new_user(name: str, phone: str | None, email: str | None, password: str, is_admin: bool = False) -> User:
    user = User(name=name, phone=phone, email=email, is_admin=is_admin, password_hash=generate_password_hash(password))
    db.session.add(user)
    return user


def create_user(
    name: str,
    password: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    is_admin: bool = False,
    commit: bool = True,
) -> User:
    """Create a login; phone or email identifies it."""
    name, phone, email = _clean_user_fields(name, phone, email)
    errors = _validate_user_fields(name, phone, email, password)
    if errors:
        raise ValidationFailed(fields=errors)
    user = _new_user(name, phone, email, password, is_admin)
    _flush_or_fail({"phone" if phone else "email": _("Already registered.")})
    if commit:
        db.session.commit()
    return user


def user_id_for_login(login: str) -> int | None:
    """The id of the user a login form's phone-or-email names, or None (no password check)."""
    login = (login or "").strip()
    if not login or len(login) > 254:
        return None
    named = or_(User.phone == normalize_phone(login), User.email == login.lower())
    return db.session.scalar(select(User.id).where(named))


def authenticate(login: str, password: str) -> User | None:
    """The user for a phone-or-email login and password, or None."""
    login = (login or "").strip()
    if not login or len(login) > 254 or not password or len(password) > 128:
        check_password_hash(_DUMMY_HASH, "x")
        return None
    phone = normalize_phone(login)
    user = db.session.scalar(select(User).where(or_(User.phone == phone, User.email == login.lower())))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def create_merchant(
    name: str,
    owner_name: str,
    owner_password: str,
    *,
    owner_phone: str | None = None,
    owner_email: str | None = None,
    actor: str = "system",
) -> Merchant:
    """Create a merchant and its owner user in one transaction; on any error nothing is written."""
    name = (name or "").strip()
    owner_name, owner_phone, owner_email = _clean_user_fields(owner_name, owner_phone, owner_email)
    errors = _validate_user_fields(owner_name, owner_phone, owner_email, owner_password)
    if not name or len(name) > 120:
        errors["merchant_name"] = _("Enter a name of 1–120 characters.")
    elif db.session.scalar(select(Merchant.id).where(Merchant.name == name)):
        errors["merchant_name"] = _("A merchant with this name exists.")
    errors = {**_taken_logins(owner_phone, owner_email), **errors}
    if errors:
        raise ValidationFailed(fields=errors)
    merchant = Merchant(name=name, contact_phone=owner_phone)
    user = _new_user(owner_name, owner_phone, owner_email, owner_password)
    db.session.add_all([merchant, MerchantMember(merchant=merchant, user=user, role="owner")])
    _flush_or_fail({"merchant_name": _("A merchant with this name or owner already exists.")})
    audit.record(actor, "merchant.created", "merchant", merchant.id, owner_user_id=user.id)
    db.session.commit()
    return merchant


def get_merchant(merchant_id: int) -> Merchant:
    """One merchant by id, for the platform admin."""
    merchant = db.session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound()
    return merchant


def add_merchant_staff(
    merchant_id: int,
    name: str,
    password: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    actor: str = "system",
) -> MerchantMember:
    """Create a user and make them staff of the merchant, in one transaction."""
    merchant = get_merchant(merchant_id)
    name, phone, email = _clean_user_fields(name, phone, email)
    errors = {**_taken_logins(phone, email), **_validate_user_fields(name, phone, email, password)}
    if errors:
        raise ValidationFailed(fields=errors)
    user = _new_user(name, phone, email, password)
    # Staff the platform adds may use every area; the owner narrows them on the team page.
    member = MerchantMember(merchant=merchant, user=user, role="staff", areas=list(MERCHANT_AREAS))
    db.session.add(member)
    _flush_or_fail({"phone" if phone else "email": _("Already registered.")})
    audit.record(actor, "merchant.staff_added", "merchant", merchant.id, user_id=user.id)
    db.session.commit()
    return member


def create_leader(
    community_name: str,
    name: str,
    password: str,
    *,
    phone: str | None = None,
    email: str | None = None,
    actor: str = "system",
) -> Leader:
    """Create a leader and their user in one transaction; on any error nothing is written."""
    community_name = (community_name or "").strip()
    name, phone, email = _clean_user_fields(name, phone, email)
    errors = {**_taken_logins(phone, email), **_validate_user_fields(name, phone, email, password)}
    if not community_name or len(community_name) > 120:
        errors["community_name"] = _("Enter a name of 1–120 characters.")
    if errors:
        raise ValidationFailed(fields=errors)
    user = _new_user(name, phone, email, password)
    leader = Leader(user=user, community_name=community_name)
    db.session.add(leader)
    _flush_or_fail({"phone" if phone else "email": _("Already registered.")})
    audit.record(actor, "leader.created", "leader", leader.id, user_id=user.id)
    db.session.commit()
    return leader


def set_merchant_active(merchant_id: int, active: bool, *, actor: str = "system") -> Merchant:
    """Suspend or reinstate a merchant."""
    merchant = get_merchant(merchant_id)
    changed = db.session.execute(
        update(Merchant).where(Merchant.id == merchant.id, Merchant.active == (not active)).values(active=active)
    ).rowcount
    if changed:
        audit.record(actor, "merchant.activated" if active else "merchant.suspended", "merchant", merchant.id)
    db.session.commit()
    return merchant


def set_leader_active(leader_id: int, active: bool, *, actor: str = "system") -> Leader:
    """Suspend or reinstate a leader; a suspended leader loses the leader role at once."""
    leader = db.session.get(Leader, leader_id)
    if leader is None:
        raise NotFound()
    changed = db.session.execute(
        update(Leader).where(Leader.id == leader.id, Leader.active == (not active)).values(active=active)
    ).rowcount
    if changed:
        audit.record(actor, "leader.activated" if active else "leader.suspended", "leader", leader.id)
    db.session.commit()
    return leader


def change_password(user: User, current: str, new: str, *, keep_session: str | None) -> int:
    """Set a new password after checking the current one; ends every sign-in of the user but
    `keep_session` (the browser that changed it) and returns how many were ended."""
    if not current or len(current) > 128 or not check_password_hash(user.password_hash, current):
        raise ValidationFailed(fields={"current_password": _("The current password is wrong.")})
    if len(new or "") < MIN_PASSWORD or len(new) > 128:
        raise ValidationFailed(fields={"new_password": _("Use %(min)d–128 characters.", min=MIN_PASSWORD)})
    db.session.execute(update(User).where(User.id == user.id).values(password_hash=generate_password_hash(new)))
    ended = sessions.end_all(user.id, keep=keep_session)
    audit.record(audit.actor_for(user), "user.password_changed", "user", user.id, sessions_ended=ended)
    db.session.commit()
    return ended


def end_other_sessions(user: User, *, keep_session: str | None) -> int:
    """Sign the user out on every other browser (a lost phone, a shared PC); how many."""
    ended = sessions.end_all(user.id, keep=keep_session)
    audit.record(audit.actor_for(user), "user.sessions_ended", "user", user.id, sessions_ended=ended)
    db.session.commit()
    return ended


def set_user_active(user_id: int, active: bool, *, by: User) -> User:
    """Deactivate (or reactivate) a login: a deactivated user cannot log in, and every sign-in
    and API token of theirs stops working at once."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    if user.id == by.id and not active:
        raise ValidationFailed(_("You cannot deactivate your own account."))
    changed = db.session.execute(
        update(User).where(User.id == user.id, User.active == (not active)).values(active=active)
    ).rowcount
    ended = 0 if active else sessions.end_all(user.id)
    if changed:
        action = "user.reactivated" if active else "user.deactivated"
        audit.record(audit.actor_for(by), action, "user", user.id, sessions_ended=ended)
    db.session.commit()
    return user


def set_locale(user: User, locale: str) -> User:
    """Remember the user's interface language."""
    if locale not in LOCALES:
        raise ValidationFailed(fields={"locale": _("Choose one of: %(choices)s.", choices=", ".join(LOCALES))})
    db.session.execute(update(User).where(User.id == user.id).values(locale=locale))
    db.session.commit()
    return user


def list_merchants() -> list[Merchant]:
    return list(db.session.scalars(select(Merchant).order_by(Merchant.id)))


def list_leaders() -> list[Leader]:
    return list(db.session.scalars(select(Leader).order_by(Leader.id)))
