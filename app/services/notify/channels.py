"""Notification channels: the group-chat robots and webhooks a user sends their notifications to.

A channel belongs to one user and receives the kinds of notification it is set up for. When
the outbox delivers a message to its users (outbox.deliver_outbox), `fan_out` adds one
ChannelDelivery per matching channel in the same transaction; channel_delivery sends them.

Channel URLs are typed by users, so the server must not become a way to reach the machine's own
network (SSRF): only https to hosts whose every address is public, checked when the channel is
saved and again before every send, which then connects to the addresses it checked
(services/core/outbound_http.py). `WEBHOOK_ALLOW_PRIVATE` lifts that for a closed deployment and for
the tests' loopback receivers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ChannelDelivery, NotificationChannel, OutboxMessage, User
from app.services.core import clock
from app.services.core.checks import clean_line, has_control_chars
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.outbound_http import UnsafeTarget, check_target
from app.services.notify import email_channel, notifications
from app.services.notify.notification_texts import EVENTS, N_, message
from app.services.notify.webhook_formats import KINDS

MAX_CHANNELS = 10
KIND_LABELS: dict[str, object] = {
    "wecom": _l("WeCom group robot"),
    "dingtalk": _l("DingTalk group robot"),
    "json": _l("Signed JSON webhook"),
    "email": _l("Email"),
}


@dataclass
class ChannelInput:
    name: str
    kind: str
    url: str
    secret: str = ""
    events: list[str] = field(default_factory=list)


def _checked(data: ChannelInput) -> ChannelInput:
    fields: dict[str, str] = {}
    name, error = clean_line(data.name, max_len=60, required=True)
    if error:
        fields["name"] = error
    kind = (data.kind or "").strip()
    url = (data.url or "").strip()
    if kind == email_channel.KIND:
        if not email_channel.enabled():
            fields["kind"] = _("Email is not set up on this server; choose a robot or webhook.")
        elif not email_channel.valid_address(url):
            fields["url"] = _("Enter an email address such as name@example.com.")
    elif kind not in KINDS:
        fields["kind"] = _("Choose a kind of channel.")
    elif not url or len(url) > 500 or has_control_chars(url) or " " in url:
        fields["url"] = _("Enter the robot's address (at most 500 characters, no spaces).")
    else:
        try:
            check_target(url)
        except UnsafeTarget as exc:
            fields["url"] = str(exc)
    secret = (data.secret or "").strip()
    if kind == email_channel.KIND:
        secret = ""  # a mailbox has no signing secret
    if len(secret) > 200 or has_control_chars(secret):
        fields["secret"] = _("Use at most 200 printable characters.")
    elif kind == "json" and len(secret) < 16:
        fields["secret"] = _("A webhook needs a signing secret of at least 16 characters.")
    events = list(dict.fromkeys(data.events or []))
    if not events or any(e not in EVENTS for e in events):
        fields["events"] = _("Choose at least one kind of notification.")
    if fields:
        raise ValidationFailed(fields=fields)
    return ChannelInput(name=name, kind=kind, url=url, secret=secret, events=events)


def _active(user: User):
    # Robots and webhooks; push subscriptions (kind "webpush") are listed by services/notify/push.py.
    return select(NotificationChannel).where(
        NotificationChannel.user_id == user.id,
        NotificationChannel.removed_at.is_(None),
        NotificationChannel.kind.in_((*KINDS, email_channel.KIND)),
    )


def list_channels(user: User) -> list[NotificationChannel]:
    return list(db.session.scalars(_active(user).order_by(NotificationChannel.id)))


def create_channel(user: User, data: ChannelInput) -> NotificationChannel:
    """Add a channel after checking every field and the address; nothing is written on error."""
    data = _checked(data)
    if len(list_channels(user)) >= MAX_CHANNELS:
        raise ValidationFailed(_("You can have at most %(n)d channels.", n=MAX_CHANNELS))
    channel = NotificationChannel(
        user_id=user.id,
        name=data.name,
        kind=data.kind,
        url=data.url,
        secret=data.secret or None,
        events=data.events,
    )
    db.session.add(channel)
    db.session.commit()
    return channel


def remove_channel(user: User, channel_id: int) -> None:
    """Stop sending to one of the user's own channels or push browsers (another user's: 404)."""
    channel = db.session.scalar(
        select(NotificationChannel).where(
            NotificationChannel.id == channel_id,
            NotificationChannel.user_id == user.id,
            NotificationChannel.removed_at.is_(None),
        )
    )
    if channel is None:
        raise NotFound()
    channel.removed_at = clock.now()
    db.session.commit()


def recent_deliveries(user: User, limit: int = 50) -> list[ChannelDelivery]:
    return list(
        db.session.scalars(
            select(ChannelDelivery)
            .join(NotificationChannel, NotificationChannel.id == ChannelDelivery.channel_id)
            .where(NotificationChannel.user_id == user.id)
            .order_by(ChannelDelivery.id.desc())
            .limit(limit)
        )
    )


def send_test(user: User) -> None:
    """Queue a test message to the user's own channels (and notification centre)."""
    notifications.enqueue(
        "channel_test",
        user_ids=[user.id],
        title=message(N_("Test message from GroupBuy")),
        body=message(N_("If you can read this in your group chat, the robot is set up.")),
        link="/account/channels",
    )
    db.session.commit()


def fan_out(message: OutboxMessage) -> int:
    """One delivery per active channel of the message's users that takes its kind; in the
    caller's transaction. A second run for the same message adds none (unique pair)."""
    user_ids = message.payload.get("user_ids") or []
    if not user_ids:
        return 0
    channels = db.session.scalars(
        select(NotificationChannel).where(
            NotificationChannel.user_id.in_(user_ids), NotificationChannel.removed_at.is_(None)
        )
    ).all()
    added = 0
    for channel in channels:
        if channel.events is not None and message.kind not in channel.events:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(
                    ChannelDelivery(outbox_id=message.id, channel_id=channel.id, next_attempt_at=clock.now())
                )
            added += 1
        except IntegrityError:
            continue  # already fanned out by an earlier run
    return added
