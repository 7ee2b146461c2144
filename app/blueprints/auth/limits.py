"""Login rate limits: per client address and per account, counting wrong passwords only.

- Per address (LOGIN_RATE_LIMIT): guesses from one address are slowed; successful logins do not
  count, so a shop's staff behind one Wi-Fi address are not refused for logging in.
- Per account (LOGIN_ACCOUNT_RATE_LIMIT): guesses at one account from many addresses are slowed
  too. A browser where the account has logged in before carries a signed "known device" cookie
  and is exempt from this limit (OWASP's device cookies): an attacker who keeps an account's
  limit full cannot lock its owner out of their own phone or counter PC; new browsers wait for
  the window (minutes) to pass.

Only a password actually checked and found wrong counts (`note_wrong_password`); a refused
(429) attempt, a missing CSRF token or an empty form does not. With REDIS_URL both limits are
counted in Redis, once for every process and host.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, g, request
from flask_login import current_user

from app.services.accounts.accounts import user_id_for_login
from app.services.core.text import normalize_phone

KNOWN_DEVICE_COOKIE = "known_device"
KNOWN_DEVICE_MAX_ACCOUNTS = 10  # a shared counter PC where several staff log in
KNOWN_DEVICE_DAYS = 365


def note_wrong_password() -> None:
    """This request checked a password and it was wrong: the login limits count it."""
    g.wrong_password = True


def deduct_wrong_password(response) -> bool:  # noqa: ARG001 - Flask-Limiter passes the response
    return bool(g.get("wrong_password"))


def failed(response) -> bool:
    """For forms where any refusal counts (not a 429, which is the limit itself answering)."""
    return response.status_code >= 400 and response.status_code != 429


def _account_of_form() -> str:
    """The account a login form names: its user id when it exists, else the normalized login,
    so that writing a phone as "+86 138…" or an email in capitals gives no fresh budget."""
    if "login_account" not in g:
        login = (request.form.get("login") or "").strip()[:254]
        user_id = user_id_for_login(login)
        if user_id is not None:
            g.login_account = f"user:{user_id}"
        else:
            g.login_account = "login:" + (login.lower() if "@" in login else normalize_phone(login))
    return g.login_account


def posted_account_key() -> str:
    return "account-" + _account_of_form()


def own_account_key() -> str:
    """The signed-in user's own account (the password change form; login_required runs first)."""
    return f"account-user:{getattr(current_user, 'id', 'anonymous')}"


def _tag(account: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"known-device:{account}".encode(), hashlib.sha256).hexdigest()[:20]


def _known_tags() -> list[str]:
    value = request.cookies.get(KNOWN_DEVICE_COOKIE, "")
    return [tag for tag in value.split(".") if tag][:KNOWN_DEVICE_MAX_ACCOUNTS]


def is_known_device() -> bool:
    """This browser logged in to the posted account before (exempt from its account limit)."""
    return _tag(_account_of_form()) in _known_tags()


def remember_device(response, user_id: int):
    """After a successful login: mark this browser as known to the account (newest first)."""
    tag = _tag(f"user:{user_id}")
    tags = [tag, *(t for t in _known_tags() if t != tag)][:KNOWN_DEVICE_MAX_ACCOUNTS]
    response.set_cookie(
        KNOWN_DEVICE_COOKIE,
        ".".join(tags),
        max_age=KNOWN_DEVICE_DAYS * 24 * 3600,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response
