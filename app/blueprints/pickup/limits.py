"""The rate limit on failed code entries, shared by the counter pages and the pickup API.

Only failed answers (status >= 400) count, per user rather than per address: a busy counter
redeems hundreds of codes an hour, while someone guessing codes fails almost every time.
"""

from __future__ import annotations

from flask import current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from app.extensions import limiter


def _user_key() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{get_remote_address() or request.remote_addr}"


def _limit() -> str:
    return current_app.config["CODE_ENTRY_RATE_LIMIT"]


code_entry_limit = limiter.shared_limit(
    _limit,
    scope="code-entry",
    key_func=_user_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code >= 400,
)
