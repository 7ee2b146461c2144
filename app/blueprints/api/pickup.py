"""Pickup API for scanner devices and the PWA: look a code up, redeem it, fetch the QR public keys."""

from __future__ import annotations

from flask_login import current_user
from pydantic import BaseModel, Field

from app.blueprints.api import bp
from app.blueprints.api.common import api_role, document, parse, respond
from app.blueprints.api.schemas import ApiModel
from app.blueprints.pickup.limits import code_entry_limit
from app.services import codes, redemption

_ID = Field(ge=1, le=2**31 - 1)


class PreviewIn(ApiModel):
    pickup_point_id: int = _ID
    code: str = Field(min_length=1, max_length=300, description="The 8 digits (spaces allowed) or the scanned QR text.")


class Line(BaseModel):
    name: str
    spec: str
    quantity: int
    shortage_qty: int = Field(description="Units that did not arrive: refunded, never handed over.")
    hand_over: int = Field(description="Units to hand over: quantity minus shortage.")
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
    customer_name: str = Field(description="Masked.")
    customer_phone: str = Field(description="Masked, 138****5678.")
    pickup_point: PointRef
    items: list[Line]
    idempotency_key: str = Field(description="A fresh key to send with the redeem that follows this preview.")


class RedeemIn(ApiModel):
    pickup_point_id: int = _ID
    code_id: int = _ID
    idempotency_key: str = Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="Unique per hand-over attempt; a retry with the same key returns the first answer.",
    )
    device: str = Field(default="", max_length=80)


class RedeemOut(BaseModel):
    outcome: str = Field(description='Always "redeemed" on success; refusals are 409 errors.')
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
    description="Every attempt is audited. Failed attempts are rate limited per user (429).",
)
@code_entry_limit
@api_role("staff")
def pickup_preview():
    data = parse(PreviewIn)
    return respond(PreviewOut.model_validate(redemption.preview(current_user, data.pickup_point_id, data.code)))


@bp.post("/pickup/redeem")
@document(
    summary="Hand an order over (redeem its code once)",
    request=RedeemIn,
    response=RedeemOut,
    tags=["pickup"],
    errors=(404, 409, 429),
    description="Idempotent by `idempotency_key`: a replay returns the first answer, including a refusal "
    "(409 already_redeemed with redeemed_at and redeemed_by, or 409 not_arrived).",
)
@code_entry_limit
@api_role("staff")
def pickup_redeem():
    data = parse(RedeemIn)
    result = redemption.redeem(
        current_user, data.pickup_point_id, data.code_id, data.idempotency_key, device=data.device
    )
    return respond(result)


@bp.get("/pickup/keys")
@document(summary="Public keys that verify pickup QR signatures offline", response=KeysOut, tags=["pickup"])
@api_role("staff")
def pickup_keys():
    return respond(KeysOut(keys=codes.public_keys()))
