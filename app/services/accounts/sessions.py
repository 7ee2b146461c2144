"""Sign-ins kept server-side, so that they can be ended.

Flask's session cookie is signed, not stored: a copy of it (or of the remember cookie) stays
valid for as long as the cookie says, whatever the server does. So each login gets a row here
with a random key; Flask-Login stores that key where it kept the user id, in both cookies
(its id_attribute is User.get_session_key), and the user loader accepts a cookie only while its
row exists. One query per request, the same as before: the loader joins the row to the user.

- Logout ends this browser's sign-in only: a leader logging out of the shop's counter PC stays
  signed in on their phone (per-user "generation" counters would sign out every device).
- A password change ends every other sign-in of the user and keeps the one that changed it.
- Deactivating a user ends all of them (and the loader refuses inactive users anyway).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, select

from app.extensions import db
from app.models import User, UserSession
from app.services.core import clock

KEY_BYTES = 32
# A longer value cannot be a key we issued: refused before hashing or querying.
MAX_KEY_LENGTH = 64


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(user: User, *, lifetime: timedelta) -> str:
    """A new sign-in for `user`, valid for `lifetime`; returns its key (kept only hashed).

    Also drops the user's expired sign-ins, so rows do not pile up without a cleanup job."""
    now = clock.now()
    key = secrets.token_urlsafe(KEY_BYTES)
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id, UserSession.expires_at <= now))
    db.session.add(UserSession(user_id=user.id, key_hash=_hash(key), created_at=now, expires_at=now + lifetime))
    db.session.commit()
    user.session_key = key
    return key


# Built once: every signed-in request runs it.
_USER_BY_KEY = (
    select(User)
    .join(UserSession, UserSession.user_id == User.id)
    .where(
        UserSession.key_hash == bindparam("key_hash"),
        UserSession.expires_at > bindparam("now"),
        User.active.is_(True),
    )
)


def user_for_key(key: str) -> User | None:
    """The active user whose live sign-in has this key, or None (ended, expired, or not a key)."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    user = db.session.scalar(_USER_BY_KEY, {"key_hash": _hash(key), "now": clock.now()})
    if user is not None:
        user.session_key = key
    return user


def end(key: str | None) -> None:
    """End one sign-in (logout). Unknown or empty keys change nothing."""
    if key and len(key) <= MAX_KEY_LENGTH:
        db.session.execute(delete(UserSession).where(UserSession.key_hash == _hash(key)))
        db.session.commit()


def end_all(user_id: int, *, keep: str | None = None) -> int:
    """End every sign-in of the user except `keep`, in the caller's transaction; how many."""
    stmt = delete(UserSession).where(UserSession.user_id == user_id)
    if keep:
        stmt = stmt.where(UserSession.key_hash != _hash(keep))
    return db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount


def count_for(user_id: int) -> int:
    """How many live sign-ins the user has (the account page says so)."""
    return db.session.scalar(
        select(func.count())
        .select_from(UserSession)
        .where(UserSession.user_id == user_id, UserSession.expires_at > clock.now())
    )
