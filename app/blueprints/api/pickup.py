"""Pickup API for scanner devices and the PWA: look a code up, redeem it, fetch the QR public keys,
and (for the point's leader) lift a code-entry lock."""

from __future__ import annotations

from typing import Annotated

from flask import request
from flask_login import current_user
from pydantic import BaseModel, Field

from app.blueprints.api import bp
from app.blueprints.api.common import api_role, document, parse, respond
from app.blueprints.api.schemas import ApiModel, PickupCodeText
from app.blueprints.pickup.limits import code_entry_limit
from app.engine import writes_late
from app.services.counter import counter_lock, redeem_proof, redemption, redemption_undo
from app.services.counter.redemption_lines import MAX_UNITS
from app.services.pickup import codes

_ID = Field(ge=1, le=2**31 - 1)
_DEVICE_HEADER = "X-Device-Id"
_DEVICE_NOTE = (
    " Send a random per-device id in the `X-Device-Id` header (8–64 letters, digits, - or _): after "
    "too many wrong codes entry is locked (429 code_entry_locked, the same answer for every code until "
    "`retry_at`): for the user after CODE_LOCK_FAILURES, and for the device or the pickup point as a whole "
    "only after CODE_LOCK_POINT_FAILURES from at least two people (`scope`: person, device or point; the "
    "point's leader can lift a device or point lock). Unknown, void and other points' codes all answer "
    "404 invalid_code."
)


def _device_id() -> str:
    return request.headers.get(_DEVICE_HEADER, "")


class PreviewIn(ApiModel):
    pickup_point_id: int = _ID
    code: PickupCodeText


class Line(BaseModel):
    order_item_id: int
    name: str
    spec: str
    quantity: int
    shortage_qty: int = Field(description="Units that did not arrive: refunded, never handed over.")
    hand_over: int = Field(description="Units to hand over: quantity minus shortage.")
    redeemed_qty: int = Field(description="Units handed over so far (partial pickup).")
    remaining: int = Field(description="Units still to hand over.")
    shortage: bool


class PointRef(BaseModel):
    id: int
    name: str


class PreviewOut(BaseModel):
    code_id: int
    code: str = Field(description='The code as printed, "1234 5678".')
    order_id: int
    order_number: str
    status: str
    redeemable: bool = Field(description="True once the goods arrived (status ready_for_pickup).")
    shelf_slot: int | None = Field(description="货架号: the shelf slot where the bag waits.")
    customer_name: str = Field(description="Masked.")
    customer_phone: str = Field(description="Masked, 138****5678.")
    pickup_point: PointRef
    items: list[Line]
    idempotency_key: str = Field(description="A fresh key to send with the redeem that follows this preview.")
    redeem_token: str = Field(
        description="Proof of the code for the redeem that follows, with this idempotency_key, by this user, "
        "within REDEEM_TOKEN_MINUTES (default 10)."
    )


class RedeemIn(ApiModel):
    pickup_point_id: int = _ID
    code_id: int = _ID
    idempotency_key: str = Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Unique per hand-over attempt; a retry with the same key returns the first answer.",
    )
    code: str | None = Field(
        default=None,
        min_length=1,
        max_length=300,
        description="Proof of the code: the 8 digits (spaces allowed) or the scanned QR text. "
        "Send this or redeem_token.",
    )
    redeem_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=redeem_proof.MAX_TOKEN_CHARS,
        description="Proof of the code: the preview's redeem_token (with that preview's idempotency_key). "
        "Send this or code.",
    )
    device: str = Field(default="", max_length=80)
    lines: dict[Annotated[int, Field(ge=1, le=2**31 - 1)], Annotated[int, Field(ge=0, le=MAX_UNITS)]] | None = Field(
        default=None,
        description="Partial pickup: order item id → units to hand over now. Omit to hand over everything left.",
    )


class HandedOver(BaseModel):
    order_item_id: int
    quantity: int


class RedeemOut(BaseModel):
    outcome: str = Field(description='Always "redeemed" on success; refusals are 409 errors.')
    complete: bool = Field(description="True when nothing remains: the code is redeemed and the order completed.")
    redemption_id: int
    shelf_slot: int | None
    handed_over: list[HandedOver]
    code_id: int
    order_id: int
    order_number: str
    pickup_point_id: int
    redeemed_at: str
    redeemed_by: str
    customer_name: str
    items: list[Line]


class KeysOut(BaseModel):
    algorithm: str = "Ed25519"
    keys: dict[str, str] = Field(description="Key id → raw public key, base64url without padding.")
    payload_format: str = "GB1.<kid>.<order_id>.<point_id>.<code>.<issued_unix>.<signature>"


@bp.post("/pickup/preview")
@document(
    summary="Look up a typed or scanned pickup code at a pickup point",
    request=PreviewIn,
    response=PreviewOut,
    tags=["pickup"],
    errors=(404, 409, 429),
    description="Every attempt is audited." + _DEVICE_NOTE,
)
@code_entry_limit
@api_role("staff")
def pickup_preview():
    data = parse(PreviewIn)
    found = redemption.preview(current_user, data.pickup_point_id, data.code, _device_id())
    return respond(PreviewOut.model_validate(found))


@bp.post("/pickup/redeem")
@writes_late
@document(
    summary="Hand an order over (redeem its code once)",
    request=RedeemIn,
    response=RedeemOut,
    tags=["pickup"],
    errors=(404, 409, 429),
    description="Carries proof of the code: `code` (as typed or scanned) or the preview's `redeem_token`. "
    "A wrong proof is 404 invalid_code (400 bad_signature for a forged QR), a missing one 422; both are "
    "audited and count as wrong codes, and an expired token is 409 preview_expired. "
    "Idempotent by `idempotency_key`: a replay of the same request returns the first answer, including a "
    "refusal (409 already_redeemed with redeemed_at and redeemed_by, or 409 not_arrived); the key sent with "
    "another code, point or lines is 422 idempotency_key_reused and changes nothing. With `lines`, only those "
    "units are handed over and the code stays valid until nothing remains; a line of another order or more "
    "than remains is 422 and changes nothing." + _DEVICE_NOTE,
)
@code_entry_limit
@api_role("staff")
def pickup_redeem():
    data = parse(RedeemIn)
    device = data.device or _device_id()[:80]
    result = redemption.redeem(
        current_user,
        data.pickup_point_id,
        data.code_id,
        data.idempotency_key,
        device=device,
        lines=data.lines,
        code_text=data.code,
        redeem_token=data.redeem_token,
        device_id=_device_id(),
    )
    return respond(result)


class UndoIn(ApiModel):
    reason: str = Field(min_length=1, max_length=200, description="Why the hand-over is undone (audited).")


class UndoOut(BaseModel):
    redemption_id: int
    order_id: int
    order_number: str
    code_id: int
    reopened: bool = Field(description="True if the order was completed and now waits again with its code live.")
    undone_at: str
    undone_by: str
    reason: str


@bp.post("/pickup/redemptions/<int:redemption_id>/undo")
@document(
    summary="Undo a mistaken hand-over (leader of the point, within REDEEM_UNDO_MINUTES)",
    request=UndoIn,
    response=UndoOut,
    tags=["pickup"],
    errors=(404, 409, 422),
    description="Gives back exactly the units that redemption handed over and reopens the code and order. "
    "409 if already undone, too late, or the code's number now belongs to another live code.",
)
@api_role("leader")
def pickup_redemption_undo(redemption_id: int):
    data = parse(UndoIn)
    return respond(UndoOut.model_validate(redemption_undo.undo(current_user, redemption_id, data.reason)))


class LiftOut(BaseModel):
    pickup_point_id: int
    lifted_at: str
    lifted_by: str
    was_locked_until: str


@bp.post("/pickup/points/<int:point_id>/code-lock/lift")
@document(
    summary="Lift the code-entry lock of a pickup point and its counter devices (the point's leader)",
    response=LiftOut,
    tags=["pickup"],
    errors=(404, 409),
    description="Wrong codes made at this point before the lift stop counting for the point and for devices; "
    "the people who made them stay locked. Audited. 409 if nothing is locked for everyone; other leaders' "
    "points answer 404.",
)
@api_role("leader")
def pickup_code_lock_lift(point_id: int):
    return respond(LiftOut.model_validate(counter_lock.lift(current_user, point_id)))


@bp.get("/pickup/keys")
@document(summary="Public keys that verify pickup QR signatures offline", response=KeysOut, tags=["pickup"])
@api_role("staff")
def pickup_keys():
    return respond(KeysOut(keys=codes.public_keys()))
