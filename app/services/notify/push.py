"""Web Push with VAPID: the server's key pair, browsers' subscriptions, and sending one message.

The VAPID key pair is made on first use under `instance/vapid/` (like the QR signing keys) and
its public half is the `applicationServerKey` the PWA subscribes with. A subscription is kept as
a notification channel of kind "webpush" (its endpoint as the URL, its keys as the secret), so it
goes through the same outbox fan-out, claim, retry and delivery history as the chat robots. A push
service that answers 404 or 410 has dropped the subscription: the channel is removed.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import NotificationChannel, User
from app.services.core import clock, outbound_http
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.outbound_http import UnsafeTarget, check_target

KIND = "webpush"
TTL_S = 24 * 3600
_key_lock = threading.Lock()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_path() -> Path:
    return Path(current_app.instance_path) / "vapid" / "private_key.pem"


def _key_file() -> Path:
    """The server's VAPID key file, made on first use (0600, under the instance folder)."""
    path = key_path()
    with _key_lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    return path


def public_key() -> str:
    """The applicationServerKey: the uncompressed P-256 point, base64url without padding."""
    path = _key_file()
    return _public_key(str(path), path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _public_key(path: str, _mtime_ns: int) -> str:
    # Parsed once per key file (the settings page asks on every visit), like the QR public keys.
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64url(point)


def _checked_keys(p256dh: str, auth: str) -> None:
    try:
        point = _unb64url(p256dh or "")
        secret = _unb64url(auth or "")
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except (ValueError, TypeError):
        raise ValidationFailed(fields={"keys": _("This browser's push keys are not valid.")}) from None
    if len(secret) != 16:
        raise ValidationFailed(fields={"keys": _("This browser's push keys are not valid.")})


def subscribe(user: User, endpoint: str, p256dh: str, auth: str, device: str = "") -> NotificationChannel:
    """Keep this browser's subscription for the user (the same endpoint again updates it)."""
    endpoint = (endpoint or "").strip()
    if not endpoint or len(endpoint) > 500:
        raise ValidationFailed(fields={"endpoint": _("The push address is missing or too long.")})
    try:
        check_target(endpoint)
    except UnsafeTarget as exc:
        raise ValidationFailed(fields={"endpoint": str(exc)}) from None
    _checked_keys(p256dh, auth)
    device = " ".join((device or "").split())[:60] or _("This browser")
    secret = json.dumps({"p256dh": p256dh, "auth": auth})
    # One endpoint belongs to one browser profile: whoever signed in there last gets its pushes.
    for existing in db.session.scalars(
        select(NotificationChannel).where(
            NotificationChannel.kind == KIND,
            NotificationChannel.url == endpoint,
            NotificationChannel.removed_at.is_(None),
        )
    ):
        existing.removed_at = clock.now()
    channel = NotificationChannel(user_id=user.id, name=device, kind=KIND, url=endpoint, secret=secret, events=None)
    db.session.add(channel)
    db.session.commit()
    return channel


def devices(user: User) -> list[NotificationChannel]:
    """The browsers this user gets push notifications on."""
    return list(
        db.session.scalars(
            select(NotificationChannel)
            .where(
                NotificationChannel.user_id == user.id,
                NotificationChannel.kind == KIND,
                NotificationChannel.removed_at.is_(None),
            )
            .order_by(NotificationChannel.id)
        )
    )


def unsubscribe(user: User, endpoint: str) -> None:
    """Stop pushing to this browser; 404 if it is not one of the user's subscriptions."""
    channel = db.session.scalar(
        select(NotificationChannel).where(
            NotificationChannel.user_id == user.id,
            NotificationChannel.kind == KIND,
            NotificationChannel.url == (endpoint or "").strip(),
            NotificationChannel.removed_at.is_(None),
        )
    )
    if channel is None:
        raise NotFound()
    channel.removed_at = clock.now()
    db.session.commit()


def payload(title: str, body: str, link: str | None, tag: str) -> bytes:
    """What the service worker shows: its push handler reads these keys."""
    return json.dumps({"title": title, "body": body, "url": link or "/", "tag": tag}, ensure_ascii=False).encode()


def send(target: outbound_http.Target, secret: str, data: bytes) -> tuple[bool, int | None, str, bool]:
    """Encrypt and post one message to a checked endpoint, at the addresses checked;
    (ok, HTTP status, reason, subscription gone)."""
    from pywebpush import WebPushException, webpush

    try:
        response = webpush(
            subscription_info={"endpoint": target.url, "keys": json.loads(secret)},
            data=data,
            vapid_private_key=str(_key_file()),
            vapid_claims={"sub": current_app.config["VAPID_SUBJECT"]},
            ttl=TTL_S,
            timeout=10,
            requests_session=outbound_http.session(target),
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        return False, status, str(exc)[:300], status in (404, 410)
    except (OSError, ValueError) as exc:  # refused, timed out, redirected, bad address
        return False, None, f"{exc.__class__.__name__}: {exc}"[:300], False
    return True, response.status_code, "", False
