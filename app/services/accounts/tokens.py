"""Personal API tokens for scanner devices and integrations. Only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import OperationalError

from app.engine import begin_writing
from app.extensions import db
from app.models import ApiToken, User
from app.services.core import clock
from app.services.core.errors import NotFound, ValidationFailed

TOKEN_PREFIX = "gbw_"  # noqa: S105 - a public prefix, not a secret


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and never stored."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed(fields={"name": _l("Give the token a name of 1–80 characters.")})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=plain[:10], token_hash=_hash(plain))
    db.session.add(token)
    db.session.commit()
    return token, plain


def revoke_token(user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise NotFound()
    if token.revoked_at is None:
        token.revoked_at = clock.now()
    db.session.commit()


def list_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


# Built once: every API request runs it.
_BY_HASH = (
    select(User, ApiToken.id, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)


def user_for_bearer(plain: str) -> User | None:
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 100:
        return None
    found = db.session.execute(_BY_HASH, {"token_hash": _hash(plain)}).first()
    if found is None or not found.User.active:
        return None
    user, token_id, last_used_at = found
    now = clock.now()
    # Throttled so a scanner polling every second does not write on every request.
    if last_used_at is None or now - last_used_at > timedelta(minutes=5):
        try:
            begin_writing()
            db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
            db.session.commit()
        except OperationalError:  # a busy SQLite must not fail the request over a timestamp
            db.session.rollback()
    return user
