"""Settling the hand-overs a scanner queued while it had no network.

Each queued item is a redemption the device already made (it checked the QR signature and its
manifest, and the bag went over the counter), carrying the idempotency key the device gave it,
the code as scanned or typed (the hand-over's proof of the code, see redeem_proof), and the
device's own time of the hand-over. The server redeems
them one by one through the same compare-and-set as an online confirm, each in its own
transaction, so a sync cut off half-way keeps what it settled and the device resends the rest
with the same keys (a replay answers as the first time, nothing is counted twice; a key sent
again with another code is refused).

Outcomes per item: "redeemed" (this device's hand-over stands), "conflict" (someone redeemed
the code first: reported to the device and the leader, see offline_conflicts), "refused" (the
code is unknown, void, not arrived or malformed: the device shows why) and "pending" (code entry
is locked after too many wrong codes: the item stays queued and is sent again later).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _

from app.extensions import db
from app.models import PickupCode, User
from app.permissions import staff_point_ids
from app.services.core import audit, clock
from app.services.core.errors import (
    AlreadyRedeemed,
    CodeEntryLocked,
    DomainError,
    IdempotencyKeyReused,
    NotYourPickupPoint,
    ValidationFailed,
)
from app.services.counter import code_lookup, offline_conflicts, redeem_proof, redemption

MAX_ITEMS = 100
# A device clock may run a little fast; a hand-over "from the future" beyond this is refused.
FUTURE_SKEW = timedelta(minutes=5)
OLDEST = timedelta(days=30)


def _offline_time(value: datetime) -> datetime:
    when = value if value.tzinfo else value.replace(tzinfo=UTC)
    now = clock.now()
    if when > now + FUTURE_SKEW or when < now - OLDEST:
        raise ValidationFailed(fields={"offline_at": _("The hand-over time is not plausible; check the device clock.")})
    return when.astimezone(UTC)


def _redeemed(item: dict, body: dict) -> dict:
    return {
        "idempotency_key": item["idempotency_key"],
        "outcome": "redeemed",
        "order_number": body.get("order_number"),
        "shelf_slot": body.get("shelf_slot"),
        "complete": body.get("complete", True),
        "redeemed_at": body.get("redeemed_at"),
    }


def _conflict(item: dict, exc: AlreadyRedeemed) -> dict:
    details = exc.to_dict()["error"]
    return {
        "idempotency_key": item["idempotency_key"],
        "outcome": "conflict",
        "message": details.get("message"),
        "redeemed_at": details.get("redeemed_at"),
        "redeemed_by": details.get("redeemed_by"),
    }


def _refused(item: dict, exc: DomainError, outcome: str = "refused") -> dict:
    return {"idempotency_key": item["idempotency_key"], "outcome": outcome, "error": exc.to_dict()["error"]}


def _first_redeemed_elsewhere(user: User, point_id: int, item: dict, exc: AlreadyRedeemed, offline_at) -> dict:
    """find_code said the code was already redeemed: store that answer under the device's key as
    a conflict (reported once), unless a racing replay of the same key stored its answer first."""
    code = code_lookup.spent_code(point_id, item["code"])
    if code is None:  # pragma: no cover - find_code just found it redeemed
        raise exc
    digest = redemption.request_digest(point_id, code.id, None)
    row = redemption.store(
        user, code, item["idempotency_key"], item["device"], exc.code, exc.to_dict(), offline_at, digest=digest
    )
    if row is None:
        return _replayed(user, point_id, item, redemption.stored_answer(item["idempotency_key"]))
    offline_conflicts.report(row, code, user)
    db.session.commit()
    return _conflict(item, exc)


def _replayed(user: User, point_id: int, item: dict, stored) -> dict:
    """The first answer under this key, if the item names the same code (a queued hand-over is
    always "everything left" of the code it scanned)."""
    try:
        code = db.session.get(PickupCode, stored.pickup_code_id) if stored.pickup_code_id else None
        if code is None or code.pickup_point_id != point_id or not redeem_proof.names_code(code, item["code"]):
            raise IdempotencyKeyReused()
        digest = redemption.request_digest(point_id, code.id, None)
        return _redeemed(item, redemption.replay(stored, user, digest, code.id))
    except AlreadyRedeemed as exc:
        return _conflict(item, exc)
    except DomainError as exc:
        return _refused(item, exc)


def _settle(user: User, point_id: int, item: dict, device_id: str) -> dict:
    stored = redemption.stored_answer(item["idempotency_key"])
    if stored is not None:
        return _replayed(user, point_id, item, stored)
    try:
        offline_at = _offline_time(item["offline_at"])
        try:
            code = code_lookup.find_code(user, point_id, item["code"], device_id)
        except AlreadyRedeemed as exc:
            return _first_redeemed_elsewhere(user, point_id, item, exc, offline_at)
        body = redemption.redeem(
            user,
            point_id,
            code.id,
            item["idempotency_key"],
            device=item["device"],
            offline_at=offline_at,
            code_text=item["code"],
            device_id=device_id,
        )
    except AlreadyRedeemed as exc:  # lost the race to another device's sync: stored and reported
        return _conflict(item, exc)
    except CodeEntryLocked:
        raise
    except DomainError as exc:
        db.session.rollback()
        return _refused(item, exc)
    return _redeemed(item, body)


def sync(user: User, point_id: int, items: list[dict], device_id: str = "") -> list[dict]:
    """Settle queued hand-overs in the order the device made them. Each item: idempotency_key,
    code (QR text or 8 digits), offline_at (datetime) and device (a label, ≤ 80 characters)."""
    if point_id not in staff_point_ids(user):
        raise NotYourPickupPoint()
    if len(items) > MAX_ITEMS:
        raise ValidationFailed(fields={"redemptions": _("Send at most %(n)d redemptions at a time.", n=MAX_ITEMS)})
    results = []
    for index, item in enumerate(items):
        try:
            results.append(_settle(user, point_id, item, device_id))
        except CodeEntryLocked as exc:
            results.extend(_refused(rest, exc, "pending") for rest in items[index:])
            break
    settled = sum(1 for r in results if r["outcome"] != "pending")
    if settled:
        audit.record(
            audit.actor_for(user),
            "offline_sync",
            "pickup_point",
            point_id,
            device_id=device_id or None,
            outcomes={o: sum(1 for r in results if r["outcome"] == o) for o in {r["outcome"] for r in results}},
        )
        db.session.commit()
    return results
