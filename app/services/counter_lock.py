"""Locking code entry after repeated wrong codes, counted in the database from the audit trail.

Failed lookups and refused hand-overs are audited with their real outcome, so the lock counts
those rows instead of keeping a separate counter: it then holds across processes and survives
restarts. Three keys are counted independently — the user, the counter device (a random id the
counter page keeps) and the pickup point — so guessing from many accounts at one point, or
from one device with many accounts, is stopped as well as one account guessing everywhere.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.extensions import db
from app.models import AuditRecord
from app.services import clock
from app.services.errors import CodeEntryLocked

# Outcomes that count towards the lock: answers to a guess. A malformed entry (wrong length)
# reveals nothing and "already redeemed" is a real code, so neither counts; nor does a request
# for a point the user does not staff, or anyone could lock another point's counter. A hand-over
# without the code (wrong_proof, no_proof) is a guess at a bag by its sequential id.
FAILED_OUTCOMES = ("invalid_code", "void", "bad_signature", "wrong_point", "wrong_proof", "no_proof")
# Lookups at the counter, and hand-overs refused before they touched the code.
COUNTED_ACTIONS = ("code_lookup", "redeem_refused")
_DEVICE_RE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")


def clean_device_id(value: str | None) -> str:
    """The device id as sent by the counter page, or "" if it is missing or not one of ours."""
    value = (value or "").strip()
    return value if _DEVICE_RE.match(value) else ""


def record_attempt(
    actor: str,
    point_id: int,
    code_id: int | None,
    outcome: str,
    digits: str,
    device_id: str,
    *,
    action: str = "code_lookup",
    **detail,
) -> None:
    """Audit one code attempt (never the full code), in the caller's transaction. Stamped with
    clock.now() rather than the column default because the lock counts these rows by time."""
    body = {"pickup_point_id": point_id, "outcome": outcome, "last4": digits[-4:], "device_id": device_id or None}
    body.update({k: v for k, v in detail.items() if v is not None})
    db.session.add(
        AuditRecord(
            actor=actor,
            action=action,
            object_type="pickup_code",
            object_id=code_id,
            detail=body,
            created_at=clock.now(),
        )
    )


def record_lookup(actor: str, point_id: int, code, outcome: str, digits: str, device_id: str) -> None:
    """Audit one code lookup at the counter (see record_attempt)."""
    record_attempt(actor, point_id, code.id if code is not None else None, outcome, digits, device_id)


def _settings() -> tuple[int, timedelta, timedelta]:
    cfg = current_app.config
    return (
        max(1, int(cfg.get("CODE_LOCK_FAILURES", 5))),
        timedelta(minutes=int(cfg.get("CODE_LOCK_WINDOW_MINUTES", 10))),
        timedelta(minutes=int(cfg.get("CODE_LOCK_MINUTES", 10))),
    )


def _locked_until(times: list[datetime], limit: int, window: timedelta, lock: timedelta, now: datetime):
    """The end of the latest lock started by `limit` failures within `window`, if still running."""
    times = sorted(times)
    until = None
    for i in range(limit - 1, len(times)):
        if times[i] - times[i - limit + 1] <= window:
            end = times[i] + lock
            if end > now and (until is None or end > until):
                until = end
    return until


def locked_until(actor: str, device_id: str, point_id: int) -> datetime | None:
    """When code entry opens again for this user/device/point, or None if it is open."""
    limit, window, lock = _settings()
    now = clock.now()
    keys = [AuditRecord.actor == actor, AuditRecord.detail["pickup_point_id"].as_integer() == point_id]
    if device_id:
        keys.append(AuditRecord.detail["device_id"].as_string() == device_id)
    rows = db.session.execute(
        select(AuditRecord.actor, AuditRecord.detail, AuditRecord.created_at).where(
            AuditRecord.action.in_(COUNTED_ACTIONS),
            AuditRecord.created_at >= now - window - lock,
            AuditRecord.detail["outcome"].as_string().in_(FAILED_OUTCOMES),
            or_(*keys),
        )
    ).all()
    by_key: dict[str, list[datetime]] = {"user": [], "device": [], "point": []}
    for row_actor, detail, created in rows:
        detail = detail or {}
        if row_actor == actor:
            by_key["user"].append(created)
        if device_id and detail.get("device_id") == device_id:
            by_key["device"].append(created)
        if detail.get("pickup_point_id") == point_id:
            by_key["point"].append(created)
    ends = [end for times in by_key.values() if (end := _locked_until(times, limit, window, lock, now))]
    return max(ends) if ends else None


def check(actor: str, device_id: str, point_id: int) -> None:
    """Raise CodeEntryLocked (429) while any of the keys is locked; the same answer for every code."""
    until = locked_until(actor, device_id, point_id)
    if until is None:
        return
    local = clock.to_local(until).strftime("%H:%M")
    raise CodeEntryLocked(
        _("Too many wrong codes. Code entry is locked; try again after %(time)s.", time=local),
        retry_at=until.isoformat(),
    )
