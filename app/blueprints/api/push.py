"""Web Push subscriptions for the PWA: the server's VAPID key, subscribe and unsubscribe a browser."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from pydantic import BaseModel, Field

from app.blueprints.api import bp
from app.blueprints.api.common import api_login_required, parse, respond
from app.blueprints.api.openapi import document
from app.blueprints.api.schemas import ApiModel
from app.services import push


class PushKeyOut(BaseModel):
    public_key: str = Field(description="applicationServerKey for pushManager.subscribe (P-256, base64url).")


class SubscriptionKeys(ApiModel):
    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class SubscribeIn(ApiModel):
    endpoint: str = Field(min_length=1, max_length=500, description="PushSubscription.endpoint")
    keys: SubscriptionKeys
    expirationTime: int | None = None  # noqa: N815 - PushSubscription.toJSON()'s own name; ignored
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
