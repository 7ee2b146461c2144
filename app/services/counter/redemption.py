"""Redeeming pickup codes at the counter: find the code, show the bag, hand it over once.

Invariant 3 (DESIGN.md §4): a code is redeemed at most once, only at its own pickup point,
only by staff of that point (or its leader), only after arrival. The hand-over is a
compare-and-set on the code's status; every answer is stored under the request's
idempotency key so that a replayed request (a double tap, a scanner retrying on a flaky
network) gets the first answer back instead of a second redemption or a confusing refusal;
the key is bound to what was asked (point, code, lines), and reusing it for anything else is
refused (422 idempotency_key_reused) rather than answered with another bag's result.

A hand-over must prove it knows the code (redeem_proof): ids are sequential, and the lock on
code entry applies to hand-overs as it does to lookups.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from app.engine import begin_writing
from app.extensions import db
from app.models import PickupCode, Redemption, User
from app.permissions import staff_point_ids
from app.services.core import audit, clock
from app.services.core.checks import has_control_chars
from app.services.core.errors import (
    AlreadyRedeemed,
    Conflict,
    DomainError,
    IdempotencyKeyReused,
    InvalidCode,
    InvalidTransition,
    NotArrived,
    NotYourPickupPoint,
    ValidationFailed,
)
from app.services.core.text import mask_name, mask_phone
from app.services.counter import offline_conflicts, redeem_proof, redemption_lines
from app.services.counter import redemption_rows as rows
from app.services.counter.code_lookup import already_redeemed, counter_points, find_code  # noqa: F401  (re-exported)
from app.services.deliveries import deliveries
from app.services.orders import lifecycle
from app.services.pickup import codes

_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")
# Refusals that are answers about the code (stored and replayed), as opposed to bad requests.
_STORED_REFUSALS: dict[str, type[DomainError]] = {
    AlreadyRedeemed.code: AlreadyRedeemed,
    NotArrived.code: NotArrived,
}


def _lines(items) -> list[dict]:
    return [
        {
            "order_item_id": item.id,
            "name": item.product_name,
            "spec": item.product_spec,
            "quantity": item.quantity,
            "shortage_qty": item.shortage_qty,
            "hand_over": item.quantity - item.shortage_qty,
            "redeemed_qty": item.redeemed_qty,
            "remaining": redemption_lines.remaining(item),
            "shortage": item.shortage_qty > 0,
        }
        for item in items
        if item.status in ("confirmed", "redeemed")
    ]


def preview(user: User, point_id: int, text: str, device_id: str = "") -> dict:
    """What the counter shows before the hand-over, with a fresh idempotency key for the confirm."""
    code = find_code(user, point_id, text, device_id)
    order = code.order
    key = uuid.uuid4().hex
    return {
        "code_id": code.id,
        "code": codes.format_code(code.code),
        "order_id": order.id,
        "order_number": order.number,
        "status": order.status,
        "redeemable": order.status == "ready_for_pickup",
        "shelf_slot": order.shelf_slot,
        "customer_name": mask_name(order.customer_name),
        "customer_phone": mask_phone(order.customer_phone),
        "pickup_point": {"id": code.pickup_point_id, "name": code.pickup_point.name},
        "items": _lines(order.items),
        "idempotency_key": key,
        # Proof for the confirm that follows (with this key): it knows the code without holding it.
        "redeem_token": redeem_proof.issue_token(user, point_id, code.id, key),
    }


# ---- redeeming


def _with_id(response: dict, row: Redemption) -> dict:
    # The id is known only once the row is written, so it is added to the stored body on the way out.
    return {**response, "redemption_id": row.id}


_BY_KEY = select(Redemption).where(Redemption.idempotency_key == bindparam("key"))  # built once: every redeem asks


def stored_answer(key: str) -> Redemption | None:
    return db.session.scalar(_BY_KEY, {"key": key})


def request_digest(point_id: int, code_id: int, lines: dict[int, int] | None) -> str:
    """What a redeem asked for, as stored with its answer: the same key must ask the same again."""
    asked = {"point": point_id, "code": code_id, "lines": sorted(lines.items()) if lines is not None else None}
    return hashlib.sha256(json.dumps(asked, separators=(",", ":")).encode()).hexdigest()


def replay(stored: Redemption, user: User, digest: str, code_id: int) -> dict:
    """The first answer given under this key: the same success body, or the same refusal raised
    again; 422 if the key is now sent with another request (another code, point or lines)."""
    if stored.user_id != user.id:
        raise Conflict(_("This request key was already used by someone else."), code_id=stored.pickup_code_id)
    # Rows stored before digests were kept can only be compared by code.
    same = stored.request_digest == digest if stored.request_digest else stored.pickup_code_id == code_id
    if not same:
        raise IdempotencyKeyReused()
    if stored.outcome == "redeemed":
        return _with_id(stored.response, stored)
    body = dict(stored.response.get("error") or {})
    cls = _STORED_REFUSALS.get(body.pop("code", ""), Conflict)
    message = body.pop("message", None)
    body.pop("fields", None)
    raise cls(message, **body)


def store(
    user: User,
    code: PickupCode,
    key: str,
    device: str,
    outcome: str,
    response: dict,
    offline_at=None,
    lines: list[dict] | None = None,
    *,
    digest: str,
) -> Redemption | None:
    """Record the answer under its key; None if a racing request with the same key answered first
    (then everything this request did is rolled back and the caller returns that answer)."""
    row = Redemption(
        idempotency_key=key,
        user_id=user.id,
        pickup_code_id=code.id,
        device=device,
        outcome=outcome,
        response=response,
        request_digest=digest,
        offline_at=offline_at,
        lines=lines,
        created_at=clock.now(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        db.session.rollback()
        return None
    return row


def _replay_raced(key: str, user: User, digest: str, code_id: int) -> dict:
    stored = stored_answer(key)
    if stored is None:  # the insert failed for another reason than the key; nothing was kept
        raise Conflict(_("The code changed meanwhile; look it up again."))
    return replay(stored, user, digest, code_id)


def _refuse(
    user: User, code: PickupCode, key: str, device: str, exc: DomainError, digest: str, offline_at=None
) -> dict:
    """Store a refusal so a replay gets the same answer, audit it, then raise it. A hand-over an
    offline device already made that is refused now is a conflict, reported to the leader."""
    row = store(user, code, key, device, exc.code, exc.to_dict(), offline_at, digest=digest)
    if row is None:
        return _replay_raced(key, user, digest, code.id)
    if offline_at is not None:
        offline_conflicts.report(row, code, user)
    audit.record(
        audit.actor_for(user),
        "redeem_refused",
        "pickup_code",
        code.id,
        pickup_point_id=code.pickup_point_id,
        outcome=exc.code,
        idempotency_key=key,
    )
    db.session.commit()
    raise exc


def _check_request(key: str, device: str) -> tuple[str, str]:
    key = (key or "").strip()
    if not _KEY_RE.match(key):
        raise ValidationFailed(fields={"idempotency_key": _("Send a request key of 8–64 letters, digits, - or _.")})
    device = (device or "").strip()
    if len(device) > 80 or has_control_chars(device):
        raise ValidationFailed(fields={"device": _("Use at most 80 printable characters.")})
    return key, device


def _code(code_id: int) -> PickupCode:
    """The code as it is now, for the answers that need the whole row (refusals, conflicts)."""
    return db.session.get(PickupCode, code_id, populate_existing=True)


@dataclass(frozen=True)
class _Ask:
    """One redeem request, checked: who asks, for what, under which key."""

    user: User
    point_id: int
    code_id: int
    key: str
    device: str
    digest: str
    offline_at: datetime | None
    actor: str

    def refuse(self, code: PickupCode, exc: DomainError) -> dict:
        return _refuse(self.user, code, self.key, self.device, exc, self.digest, self.offline_at)


def redeem(
    user: User,
    point_id: int,
    code_id: int,
    idempotency_key: str,
    device: str = "",
    lines: dict[int, int] | None = None,
    offline_at=None,
    *,
    code_text: str | None = None,
    redeem_token: str | None = None,
    device_id: str = "",
) -> dict:
    """Hand over the order, or some units of it (`lines`: order item id → units; None = all that
    remain). The code is redeemed and the order completed once nothing remains. The answer is
    stored under the idempotency key (a replay of the same request returns — or raises — the
    first answer). Proof of the code is required: `code_text` (the digits or the QR text, as
    typed or scanned) or `redeem_token` (from the preview); `device_id` is the counter device's
    id for the code-entry lock. `offline_at`: when an offline device says it handed the bag over."""
    key, device = _check_request(idempotency_key, device)
    wanted = redemption_lines.parse_lines(lines)
    if point_id not in staff_point_ids(user):
        raise NotYourPickupPoint()
    redeem_proof.check(user, point_id, code_id, key, code=code_text, token=redeem_token, device_id=device_id)
    digest = request_digest(point_id, code_id, wanted)
    ask = _Ask(user, point_id, code_id, key, device, digest, offline_at, audit.actor_for(user))
    stored = stored_answer(key)
    if stored is not None:
        return replay(stored, user, ask.digest, code_id)
    # Everything above only read. A racing request with the same key is caught when the answer
    # is stored (the unique key), and everything it did is rolled back then.
    begin_writing()
    return _hand_over(ask, wanted)


def _hand_over(ask: _Ask, wanted: dict[int, int] | None) -> dict:
    """Under the write lock: decide, take the units, complete if nothing remains, store the answer."""
    user_id, actor = ask.user.id, ask.actor
    conn = db.session.connection()
    # Lock the code row before deciding anything: on PostgreSQL (READ COMMITTED) each statement
    # sees a fresh snapshot, so without the lock a loser could read the code as still issued and
    # then the order as already completed by the winner, and answer "not arrived". Every change
    # to a code's order and items (redeem, undo) takes this lock first.
    code = rows.lock_code(conn, ask.point_id, ask.code_id)
    if code is None or code.status == "void":
        raise InvalidCode()
    if code.status == "redeemed":
        spent = _code(ask.code_id)
        return ask.refuse(spent, already_redeemed(spent))
    order = rows.order(conn, code.order_id)
    if order.status != "ready_for_pickup":
        return ask.refuse(_code(ask.code_id), NotArrived())
    items = rows.lines(conn, order.id)
    try:
        taken = redemption_lines.plan(items, wanted)
    except ValidationFailed:
        db.session.rollback()
        raise

    now = clock.now()
    complete = redemption_lines.take(conn, order.id, items, taken, now) == 0
    if complete and not _complete(conn, code, user_id, now, actor, ask.device):
        redeemed = _code(ask.code_id)
        if redeemed.status == "redeemed":
            return ask.refuse(redeemed, already_redeemed(redeemed))
        raise InvalidCode()
    _audit(conn, ask, code.id, order.id, taken, complete)
    response = _answer(ask, code, order, items, _line_record(taken), complete, now)
    try:
        row_id = rows.store(
            conn,
            idempotency_key=ask.key,
            user_id=user_id,
            pickup_code_id=code.id,
            device=ask.device,
            outcome="redeemed",
            response=response,
            request_digest=ask.digest,
            lines=response["handed_over"],
            offline_at=ask.offline_at,
            created_at=now,
        )
    except IntegrityError:  # a racing request with the same key answered first: undo all, answer as it did
        db.session.rollback()
        return _replay_raced(ask.key, ask.user, ask.digest, ask.code_id)
    if complete and order.batch_id is not None:
        deliveries.maybe_finish_batch(order.batch_id)
    db.session.commit()
    return {**response, "redemption_id": row_id}


def _audit(conn, ask: _Ask, code_id: int, order_id: int, taken: dict[int, int], complete: bool) -> None:
    detail = {
        "pickup_point_id": ask.point_id,
        "order_id": order_id,
        "device": ask.device,
        "lines": {str(item_id): qty for item_id, qty in taken.items()},
        "complete": complete,
        "offline_at": ask.offline_at.isoformat() if ask.offline_at else None,
    }
    rows.audit(conn, ask.actor, "redeem", "pickup_code", code_id, detail)


def _answer(ask: _Ask, code, order, items, handed_over: list[dict], complete: bool, now: datetime) -> dict:
    return {
        "outcome": "redeemed",
        "complete": complete,
        "code_id": code.id,
        "order_id": order.id,
        "order_number": order.number,
        "pickup_point_id": ask.point_id,
        "shelf_slot": order.shelf_slot,
        "redeemed_at": now.isoformat(),
        "redeemed_by": ask.user.name,
        "customer_name": mask_name(order.customer_name),
        "items": _lines(items),
        "handed_over": handed_over,
    }


def _line_record(taken: dict[int, int]) -> list[dict]:
    return [{"order_item_id": item_id, "quantity": qty} for item_id, qty in sorted(taken.items())]


def _complete(conn, code, user_id: int, now, actor: str, device: str) -> bool:
    """Nothing remains: redeem the code (compare-and-set), complete the order, free its slot.
    False (everything rolled back) if someone else redeemed or the order was refunded meanwhile."""
    if not codes.redeem(conn, code.id, user_id, now):
        db.session.rollback()
        return False
    detail = {"pickup_code_id": code.id, "pickup_point_id": code.pickup_point_id, "device": device}
    if not lifecycle.complete_redeemed(conn, code.order_id, actor, detail, now):
        db.session.rollback()
        raise InvalidTransition(_("This order changed meanwhile; look the code up again."))
    return True
