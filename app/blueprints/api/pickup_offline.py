"""Pickup API for scanners that keep working offline: the point's manifest, and queue sync."""

from __future__ import annotations

from datetime import datetime

from flask import request
from flask_login import current_user
from pydantic import BaseModel, Field

from app.blueprints.api import bp
from app.blueprints.api.common import api_role, document, parse, respond
from app.blueprints.api.schemas import ApiModel, PickupCodeText
from app.blueprints.pickup.limits import code_entry_limit
from app.services.counter import offline_manifest, offline_sync

_ID = Field(ge=1, le=2**31 - 1)


class ManifestItem(BaseModel):
    name: str
    spec: str
    remaining: int
    shortage_qty: int


class ManifestOrder(BaseModel):
    code_id: int
    order_id: int = Field(description="Matched against a scanned QR's order field once its signature verifies.")
    order_number: str
    shelf_slot: int | None
    customer_name: str = Field(description="Masked.")
    customer_phone: str = Field(description="Masked.")
    status: str = Field(description='"waiting" (redeemable) or "redeemed" (collected in the last 2 days).')
    redeemed_at: str | None
    redeemed_by: str | None
    items: list[ManifestItem]


class ManifestSigning(BaseModel):
    algorithm: str
    keys: dict[str, str] = Field(description="Key id → raw Ed25519 public key, base64url: verifies QR texts.")
    qr_version: str


class ManifestRef(BaseModel):
    id: int
    name: str


class ManifestOut(BaseModel):
    version: int = Field(
        description="2: nothing derived from a code. A device discards a kept manifest of any other version."
    )
    pickup_point: ManifestRef
    generated_at: str
    valid_until: str
    signing: ManifestSigning
    orders: list[ManifestOrder]


@bp.get("/pickup/points/<int:point_id>/manifest")
@document(
    summary="The offline manifest of a pickup point: its waiting and recently collected bags, no codes",
    response=ManifestOut,
    tags=["pickup"],
    errors=(404,),
    description="Fetched by the scanner while online. It holds no pickup code and nothing derived from one "
    "(no hash, no key to make one), so a stolen device or cache cannot recover a code. With no network the "
    "scanner verifies a QR's Ed25519 signature with `signing.keys` and finds the bag by the QR's order id; "
    "typed codes cannot be checked offline and are refused. Staff of the point only; other points answer 404.",
)
@api_role("staff")
def pickup_manifest(point_id: int):
    return respond(ManifestOut.model_validate(offline_manifest.build(current_user, point_id)))


class SyncItem(ApiModel):
    idempotency_key: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    code: PickupCodeText
    offline_at: datetime = Field(description="When the device handed the bag over (ISO 8601, with offset).")
    device: str = Field(default="", max_length=80)


class SyncIn(ApiModel):
    pickup_point_id: int = _ID
    redemptions: list[SyncItem] = Field(min_length=1, max_length=offline_sync.MAX_ITEMS)


class SyncResult(BaseModel):
    idempotency_key: str
    outcome: str = Field(description="redeemed, conflict (redeemed first elsewhere), refused, or pending (retry).")
    order_number: str | None = None
    shelf_slot: int | None = None
    complete: bool | None = None
    redeemed_at: str | None = None
    redeemed_by: str | None = None
    message: str | None = None
    error: dict | None = None


class SyncOut(BaseModel):
    results: list[SyncResult]


@bp.post("/pickup/sync")
@document(
    summary="Settle redemptions a scanner queued while offline",
    request=SyncIn,
    response=SyncOut,
    tags=["pickup"],
    errors=(404, 422),
    description="Items are settled in order, each on its own; a replay of a key answers as the first time. "
    "The same code redeemed on two offline devices: the first to sync wins, the other gets `conflict` "
    "and the leader is alerted. After too many wrong codes the rest come back `pending`.",
)
@code_entry_limit
@api_role("staff")
def pickup_sync():
    data = parse(SyncIn)
    items = [item.model_dump() for item in data.redemptions]
    results = offline_sync.sync(current_user, data.pickup_point_id, items, request.headers.get("X-Device-Id", ""))
    return respond(SyncOut(results=[SyncResult.model_validate(r) for r in results]))
