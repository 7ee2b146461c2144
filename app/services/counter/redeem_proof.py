"""Proof that a hand-over knows the code it redeems, and the code-entry lock on hand-overs.

A redeem names its code by id, and ids are sequential: without proof, anyone who staffs a point
(or holds a stolen staff token) could hand over every bag by counting ids. So a redeem carries
either the code itself (the 8 digits, or the signed QR text, checked against the code row) or the
`redeem_token` of the preview that looked the code up: an itsdangerous signature over
[user id, point id, code id, idempotency key], valid REDEEM_TOKEN_MINUTES. The token serves the
one confirm that follows that preview (the key makes it single-use) and nothing else; it holds
no code, so a page or log that shows it gives nothing away.

Every hand-over also obeys the code-entry lock (counter_lock), and a wrong or missing proof is
audited as a refused redeem that counts as a wrong code. An expired but genuine token is
audited and does not count: it is a slow counter, not a guess.
"""

from __future__ import annotations

import hmac
import re
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from app.engine import begin_writing
from app.extensions import db
from app.models import PickupCode, User
from app.services.core import audit, clock
from app.services.core.errors import (
    BadSignature,
    CodeEntryLocked,
    DomainError,
    InvalidCode,
    PreviewExpired,
    ValidationFailed,
)
from app.services.counter import counter_lock
from app.services.pickup import codes

_SALT = "gb.redeem-proof.v1"
MAX_TOKEN_CHARS = 300


class _ClockSigner(TimestampSigner):
    """Timestamps from app.services.core.clock, so tests move time instead of sleeping."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT, signer=_ClockSigner)


def token_lifetime() -> timedelta:
    return timedelta(minutes=max(1, int(current_app.config.get("REDEEM_TOKEN_MINUTES", 10))))


def issue_token(user: User, point_id: int, code_id: int, key: str) -> str:
    """The token a preview hands out for the confirm that follows it (with that key)."""
    return _serializer().dumps([user.id, point_id, code_id, key])


def _token_outcome(token: str, expected: list) -> str | None:
    """None if the token was issued for exactly this request, else the refusal's outcome."""
    serializer = _serializer()
    if len(token) > MAX_TOKEN_CHARS:
        return "wrong_proof"
    try:
        payload = serializer.loads(token, max_age=int(token_lifetime().total_seconds()))
    except SignatureExpired as exc:  # genuine but old: say so, and do not count it as a guess
        try:
            payload = serializer.load_payload(exc.payload)
        except BadData:
            return "wrong_proof"
        return "preview_expired" if payload == expected else "wrong_proof"
    except BadData:
        return "wrong_proof"
    return None if payload == expected else "wrong_proof"


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def names_code(code: PickupCode, text: str) -> bool:
    """Whether `text` (8 digits, spaces or dashes allowed, or the QR text) is this code's.
    A QR text whose signature does not verify raises BadSignature."""
    text = (text or "").strip()
    if text.startswith(codes.QR_VERSION + "."):
        fields = codes.verify_qr(text)
        return (
            fields["order_id"] == code.order_id
            and fields["pickup_point_id"] == code.pickup_point_id
            and _same(fields["code"], code.code)
        )
    digits = re.sub(r"[\s\-]", "", text)
    return len(digits) == 8 and _same(digits, code.code)


def _digits(text: str) -> str:
    digits = re.sub(r"[\s\-]", "", text or "")
    return digits if digits.isdigit() and len(digits) <= 8 else ""


def _code_outcome(code: PickupCode | None, text: str) -> str | None:
    if code is None:
        return "wrong_proof"
    try:
        return None if names_code(code, text) else "wrong_proof"
    except BadSignature:
        return "bad_signature"


_ANSWERS = {
    "wrong_proof": InvalidCode,
    "bad_signature": lambda: BadSignature(_("Invalid signature: this QR code was not issued by us.")),
    "preview_expired": PreviewExpired,
    "no_proof": lambda: ValidationFailed(
        fields={"code": _("Send the pickup code, its QR text or the preview's redeem token with the hand-over.")}
    ),
}


def _refuse(
    user: User, point_id: int, code_id: int, key: str, device_id: str, outcome: str, exc: DomainError, last4: str
):
    """Audit the refused hand-over (it counts for the lock when the outcome is a guess), commit, raise."""
    begin_writing()
    counter_lock.record_attempt(
        audit.actor_for(user),
        point_id,
        code_id,
        outcome,
        last4,
        device_id,
        action="redeem_refused",
        idempotency_key=key,
    )
    db.session.commit()
    raise exc


def check(
    user: User, point_id: int, code_id: int, key: str, *, code: str | None, token: str | None, device_id: str = ""
) -> None:
    """Refuse (audited) a hand-over while code entry is locked, or without a proof of its code."""
    device_id = counter_lock.clean_device_id(device_id)
    try:
        counter_lock.check(audit.actor_for(user), device_id, point_id)
    except CodeEntryLocked as exc:
        _refuse(user, point_id, code_id, key, device_id, exc.code, exc, "")
    code_text, token = (code or "").strip(), (token or "").strip()
    if not code_text and not token:
        _refuse(user, point_id, code_id, key, device_id, "no_proof", _ANSWERS["no_proof"](), "")
    outcome = None
    if token:
        outcome = _token_outcome(token, [user.id, point_id, code_id, key])
    if outcome is None and code_text:
        row = db.session.scalar(
            select(PickupCode).where(PickupCode.id == code_id, PickupCode.pickup_point_id == point_id)
        )
        outcome = _code_outcome(row, code_text)
    if outcome is not None:
        _refuse(user, point_id, code_id, key, device_id, outcome, _ANSWERS[outcome](), _digits(code_text)[-4:])
