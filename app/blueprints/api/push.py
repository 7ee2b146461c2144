"""Web Push subscriptions for the PWA: the server's VAPID key, subscribe and unsubscribe a browser."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from pydantic import BaseModel, Field

from app.blueprints.api import bp
from app.blueprints.api.common import api_login_required, parse, respond
from app.blueprints.api.openapi import document
from app.blueprints.api.schemas import ApiModel
from app.services.notify import push


class PushKeyOut(BaseModel):
    public_key: str = Field(description="applicationServerKey for pushManager.subscribe (P-256, base64url).")


_BASE64URL = {"pattern": "^[A-Za-z0-9_-]+={0,2}$"}


class SubscriptionKeys(ApiModel):
    p256dh: str = Field(
        min_length=1,
        max_length=200,
        description="The browser's P-256 public key (65 bytes), base64url; another is 422 on `keys`.",
        json_schema_extra=_BASE64URL,
    )
    auth: str = Field(
        min_length=1,
        max_length=100,
        description="The 16-byte authentication secret, base64url; another length is 422 on `keys`.",
        json_schema_extra=_BASE64URL,
    )


class SubscribeIn(ApiModel):
    endpoint: str = Field(
        min_length=1,
        max_length=500,
        description="PushSubscription.endpoint: an https:// address of a public push service. http and "
        "private or loopback addresses are 422 unless the operator set WEBHOOK_ALLOW_PRIVATE.",
        json_schema_extra={"format": "uri"},
    )
    keys: SubscriptionKeys
    # PushSubscription.toJSON()'s own name and value (milliseconds since the epoch, or null); ignored.
    expirationTime: int | None = Field(default=None, ge=0, le=2**53, description="Ignored.")  # noqa: N815
    device: str = Field(default="", max_length=60, description="A name for this browser, shown in settings.")


class UnsubscribeIn(ApiModel):
    endpoint: str = Field(min_length=1, max_length=500)


class SubscriptionOut(BaseModel):
    id: int
    device: str


@bp.get("/push/key")
@document(summary="The server's Web Push (VAPID) public key", response=PushKeyOut, tags=["account"])
@api_login_required
def push_key():
    return respond(PushKeyOut(public_key=push.public_key()))


@bp.post("/push/subscriptions")
@document(
    summary="Send this user's notifications to a browser by Web Push",
    request=SubscribeIn,
    response=SubscriptionOut,
    tags=["account"],
    errors=(422,),
)
@api_login_required
def push_subscribe():
    data = parse(SubscribeIn)
    device = data.device or request.headers.get("User-Agent", "")[:60]
    channel = push.subscribe(current_user, data.endpoint, data.keys.p256dh, data.keys.auth, device)
    return respond(SubscriptionOut(id=channel.id, device=channel.name), status=201)


@bp.post("/push/unsubscribe")
@document(summary="Stop Web Push to a browser", request=UnsubscribeIn, tags=["account"], errors=(404,))
@api_login_required
def push_unsubscribe():
    data = parse(UnsubscribeIn)
    push.unsubscribe(current_user, data.endpoint)
    return respond(None)
