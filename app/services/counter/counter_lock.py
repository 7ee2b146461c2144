"""Locking code entry after repeated wrong codes, counted in the database.

Every lookup and refused hand-over is audited with its real outcome; the wrong codes among them
are also written to code_entry_failures, which is what the lock counts: in the database, so it
holds across processes and survives restarts, and apart from the audit trail's good lookups, so
a check reads a few rows however busy the deployment's counters are. Three keys are counted:

- the person (the actor): CODE_LOCK_FAILURES wrong codes within CODE_LOCK_WINDOW_MINUTES lock
  that person at every point for CODE_LOCK_MINUTES;
- the pickup point and the counter device (a random id the counter page keeps) are shared by
  several people, so one person must not be able to close them for everyone: they lock once
  CODE_LOCK_POINT_FAILURES wrong codes are counted there within the window, each person counting
  for at most CODE_LOCK_FAILURES of them. It always takes at least two people.

The bound on guessing (invariant 4): one person makes at most CODE_LOCK_FAILURES wrong codes per
window, and any number of people together at most CODE_LOCK_POINT_FAILURES at one point, as long
as CODE_LOCK_MINUTES is not shorter than the window (each lock outlasts the window that started it).

The point's leader can lift the shared locks (audited as "code_lock_lifted"): wrong codes made at
that point before the lift stop counting for the point and for the devices, never for the people
who made them, so a lift cannot be used to go on guessing from the same account.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import AuditRecord, CodeEntryFailure, PickupPoint, User
from app.permissions import leader_of, scoped_or_404
from app.services.core import audit, clock
from app.services.core.errors import CodeEntryLocked, Conflict, NotFound

# Outcomes that count towards the lock: answers to a guess. A malformed entry (wrong length)
# reveals nothing and "already redeemed" is a real code, so neither counts; nor does a request
# for a point the user does not staff, or anyone could lock another point's counter. A hand-over
# without the code (wrong_proof, no_proof) is a guess at a bag by its sequential id.
FAILED_OUTCOMES = ("invalid_code", "void", "bad_signature", "wrong_point", "wrong_proof", "no_proof")
LIFTED = "code_lock_lifted"
_DEVICE_RE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")
_WRONG_CODE_FLAG = "code_entry_wrong_code"


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
    now = clock.now()
    body = {"pickup_point_id": point_id, "outcome": outcome, "last4": digits[-4:], "device_id": device_id or None}
    body.update({k: v for k, v in detail.items() if v is not None})
    db.session.add(
        AuditRecord(
            actor=actor, action=action, object_type="pickup_code", object_id=code_id, detail=body, created_at=now
        )
    )
    if outcome in FAILED_OUTCOMES:
        db.session.add(
            CodeEntryFailure(
                actor=actor, pickup_point_id=point_id, device_id=device_id or None, outcome=outcome, created_at=now
            )
        )
        # Read by the per-user rate limit (blueprints/pickup/limits.py): it counts the same
        # wrong codes as this lock, and nothing else.
        setattr(g, _WRONG_CODE_FLAG, True)


def record_lookup(actor: str, point_id: int, code, outcome: str, digits: str, device_id: str) -> None:
    """Audit one code lookup at the counter (see record_attempt)."""
    record_attempt(actor, point_id, code.id if code is not None else None, outcome, digits, device_id)


def wrong_code_in_request() -> bool:
    """Whether this request recorded a wrong code (for the rate limit's deduct_when)."""
    return bool(g.get(_WRONG_CODE_FLAG))


def forget_wrong_code() -> None:
    """Start a request with no wrong code seen (tests run many requests in one app context)."""
    g.pop(_WRONG_CODE_FLAG, None)


@dataclass(frozen=True)
class Settings:
    failures: int  # per person
    shared_failures: int  # per point and per device, each person counting at most `failures`
    window: timedelta
    lock: timedelta


def settings() -> Settings:
    cfg = current_app.config
    failures = max(1, int(cfg.get("CODE_LOCK_FAILURES", 5)))
    return Settings(
        failures=failures,
        # Above one person's share, so one person can never lock a point or a device alone.
        shared_failures=max(failures + 1, int(cfg.get("CODE_LOCK_POINT_FAILURES", 10))),
        window=timedelta(minutes=int(cfg.get("CODE_LOCK_WINDOW_MINUTES", 10))),
        lock=timedelta(minutes=int(cfg.get("CODE_LOCK_MINUTES", 10))),
    )


def _person_until(times: list[datetime], s: Settings, now: datetime) -> datetime | None:
    """The end of the latest lock started by `s.failures` failures within the window, if still running."""
    times = sorted(times)
    until = None
    for i in range(s.failures - 1, len(times)):
        if times[i] - times[i - s.failures + 1] <= s.window:
            end = times[i] + s.lock
            if end > now and (until is None or end > until):
                until = end
    return until


def _shared_until(failures: list[tuple[datetime, str]], s: Settings, now: datetime) -> datetime | None:
    """Like _person_until for a point or device: (time, actor) failures, each actor's share capped."""
    failures = sorted(failures)
    until = None
    start = 0
    for i, (when, _actor) in enumerate(failures):
        while when - failures[start][0] > s.window:
            start += 1
        shares = Counter(actor for _when, actor in failures[start : i + 1])
        if sum(min(n, s.failures) for n in shares.values()) >= s.shared_failures:
            end = when + s.lock
            if end > now and (until is None or end > until):
                until = end
    return until


def _lifts(since: datetime) -> dict[int, datetime]:
    """Point id → its latest lift since `since`."""
    rows = db.session.execute(
        select(AuditRecord.object_id, func.max(AuditRecord.created_at))
        .where(AuditRecord.action == LIFTED, AuditRecord.created_at >= since)
        .group_by(AuditRecord.object_id)
    ).all()
    return {point_id: when for point_id, when in rows if point_id is not None}


_F = CodeEntryFailure


def _failures(since: datetime, *keys):
    """(actor, pickup_point_id, device_id, created_at) of the wrong codes since then matching any key."""
    return db.session.execute(
        select(_F.actor, _F.pickup_point_id, _F.device_id, _F.created_at).where(_F.created_at >= since, or_(*keys))
    ).all()


def lock_for(actor: str, device_id: str, point_id: int) -> tuple[datetime, str] | None:
    """When code entry opens again for this person/device/point and which key holds it
    ("person", "device" or "point"), or None if it is open."""
    s = settings()
    now = clock.now()
    since = now - s.window - s.lock
    keys = [_F.actor == actor, _F.pickup_point_id == point_id]
    if device_id:
        keys.append(_F.device_id == device_id)
    failures = _failures(since, *keys)
    if not failures:  # the common case at a busy counter: one query
        return None
    lifts = _lifts(since)
    person: list[datetime] = []
    device: list[tuple[datetime, str]] = []
    point: list[tuple[datetime, str]] = []
    for row_actor, row_point, row_device, created in failures:
        if row_actor == actor:
            person.append(created)
        lifted = lifts.get(row_point)
        if lifted is not None and created <= lifted:
            continue
        if device_id and row_device == device_id:
            device.append((created, row_actor))
        if row_point == point_id:
            point.append((created, row_actor))
    ends = [
        (end, scope)
        for scope, end in (
            ("person", _person_until(person, s, now)),
            ("device", _shared_until(device, s, now)),
            ("point", _shared_until(point, s, now)),
        )
        if end is not None
    ]
    return max(ends) if ends else None


def locked_until(actor: str, device_id: str, point_id: int) -> datetime | None:
    """When code entry opens again for this user/device/point, or None if it is open."""
    found = lock_for(actor, device_id, point_id)
    return found[0] if found else None


def check(actor: str, device_id: str, point_id: int) -> None:
    """Raise CodeEntryLocked (429) while any of the keys is locked; the same answer for every code."""
    found = lock_for(actor, device_id, point_id)
    if found is None:
        return
    until, scope = found
    local = clock.to_local(until).strftime("%H:%M")
    if scope == "person":
        message = _("Too many wrong codes. Code entry is locked; try again after %(time)s.", time=local)
    else:
        message = _(
            "Too many wrong codes at this counter. Code entry is locked for everyone until %(time)s; "
            "the pickup point's leader can lift the lock.",
            time=local,
        )
    raise CodeEntryLocked(message, retry_at=until.isoformat(), scope=scope)


# ---- the leader's view and lift


def shared_lock(point_id: int) -> datetime | None:
    """Until when the point, or a counter device through wrong codes made at this point, is locked
    for everyone (what the leader may lift); None if neither is."""
    s = settings()
    now = clock.now()
    since = now - s.window - s.lock
    lifted = _lifts(since).get(point_id)
    here = [
        row for row in _failures(since, _F.pickup_point_id == point_id) if lifted is None or row.created_at > lifted
    ]
    ends = [_shared_until([(row.created_at, row.actor) for row in here], s, now)]
    devices = {row.device_id for row in here} - {None}
    if devices:
        lifts = _lifts(since)
        by_device: dict[str, list[tuple[datetime, str]]] = {device: [] for device in devices}
        for row in _failures(since, _F.device_id.in_(sorted(devices))):
            on = lifts.get(row.pickup_point_id)
            if on is None or row.created_at > on:
                by_device[row.device_id].append((row.created_at, row.actor))
        ends += [_shared_until(failures, s, now) for failures in by_device.values()]
    ends = [end for end in ends if end is not None]
    return max(ends) if ends else None


def can_lift(user: User, point_id: int | None) -> bool:
    """Whether this user leads the point (and so may lift its lock)."""
    leader = leader_of(user)
    if leader is None or point_id is None:
        return False
    led = select(PickupPoint.id).where(PickupPoint.id == point_id, PickupPoint.leader_id == leader.id)
    return db.session.scalar(led) is not None


def _led_point(user: User, point_id: int) -> PickupPoint:
    leader = leader_of(user)
    if leader is None:
        raise NotFound()
    return scoped_or_404(select(PickupPoint).where(PickupPoint.id == point_id, PickupPoint.leader_id == leader.id))


def lift(user: User, point_id: int) -> dict:
    """The point's leader reopens code entry at the point and its counter devices (audited).
    People who made the wrong codes stay locked; 409 if nothing is locked for everyone."""
    point = _led_point(user, point_id)
    until = shared_lock(point.id)
    if until is None:
        raise Conflict(_("Code entry at this pickup point is not locked."))
    now = clock.now()
    db.session.add(
        AuditRecord(
            actor=audit.actor_for(user),
            action=LIFTED,
            object_type="pickup_point",
            object_id=point.id,
            detail={"pickup_point_id": point.id, "locked_until": until.isoformat()},
            created_at=now,
        )
    )
    db.session.commit()
    return {
        "pickup_point_id": point.id,
        "lifted_at": now.isoformat(),
        "lifted_by": user.name,
        "was_locked_until": until.isoformat(),
    }
