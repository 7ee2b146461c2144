"""Signing a browser in and out through server-side sign-ins (services/accounts/sessions.py): every
login_user and logout_user of the app goes through here."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_login import current_user, login_user, logout_user

from app.models import User
from app.services.accounts import sessions


def _lifetime(remember: bool) -> timedelta:
    # As long as the cookie that carries it: the remember cookie's duration, or Flask's
    # session lifetime for a sign-in that ends with the browser.
    if remember:
        return current_app.config.get("REMEMBER_COOKIE_DURATION") or timedelta(days=365)
    return current_app.permanent_session_lifetime


def sign_in(user: User, *, remember: bool = False) -> None:
    """Start a server-side sign-in for `user` and put its key in this browser's cookies."""
    sessions.start(user, lifetime=_lifetime(remember))
    login_user(user, remember=remember)


def current_key() -> str | None:
    """The key of this browser's sign-in. Asking current_user loads it first, from the session
    or, after the browser restarted, from the remember cookie."""
    if current_user.is_authenticated:
        return current_user.session_key
    return None


def sign_out() -> None:
    """End this browser's sign-in server-side, then clear its cookies."""
    sessions.end(current_key())
    logout_user()
