"""The rate limit on wrong code entries, shared by the counter pages and the pickup API.

It counts exactly what the code-entry lock counts (services/counter_lock.FAILED_OUTCOMES: unknown,
void, other points' and forged codes, hand-overs without their code), per user rather than per
address: a busy counter redeems hundreds of codes an hour, while someone guessing codes fails
almost every time. Re-scanning a bag that was already collected, a not-yet-arrived bag, a mistyped
length or a locked answer are not guesses and do not count.
"""

from __future__ import annotations

from flask import current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from app.blueprints.pickup import bp
from app.extensions import limiter
from app.services.counter import counter_lock


def _user_key() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"addr:{get_remote_address() or request.remote_addr}"


def _limit() -> str:
    return current_app.config["CODE_ENTRY_RATE_LIMIT"]


def _wrong_code(response) -> bool:  # noqa: ARG001 - the services said so, not the status
    return counter_lock.wrong_code_in_request()


bp.before_app_request(counter_lock.forget_wrong_code)

code_entry_limit = limiter.shared_limit(
    _limit,
    scope="code-entry",
    key_func=_user_key,
    methods=["POST"],
    deduct_when=_wrong_code,
)
