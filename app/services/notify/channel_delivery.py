"""Sending channel deliveries to group-chat robots, webhooks, push and email, with retries and backoff.

Each delivery is claimed before it is sent (pending → sending, committed, with a lease), so two
schedulers never send the same one and a re-run finds nothing to do. The answer is recorded after
the send: sent, or pending again after a backoff, or failed after MAX_ATTEMPTS. A process that
dies mid-send leaves the claim, which is taken up again once its lease runs out: only then can a
receiver see a message twice, and the JSON webhook's delivery id lets it drop the repeat.
"""

from __future__ import annotations

import time
from datetime import timedelta
from urllib.parse import urljoin

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.extensions import db
from app.models import ChannelDelivery, NotificationChannel, OutboxMessage, User
from app.services.core import clock, outbound_http
from app.services.core.outbound_http import UnsafeTarget
from app.services.notify import email_channel, notification_texts, push, webhook_formats

MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=2)
TIMEOUT_S = 10
MAX_ANSWER = 64 * 1024


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def _claim(delivery_id: int, now) -> int:
    """The attempt number this sender now holds, or 0 if another sender has the delivery."""
    claimed = db.session.execute(
        update(ChannelDelivery)
        .where(
            ChannelDelivery.id == delivery_id,
            ChannelDelivery.status.in_(("pending", "sending")),
            ChannelDelivery.next_attempt_at <= now,
        )
        .values(status="sending", attempts=ChannelDelivery.attempts + 1, next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    attempt = db.session.scalar(select(ChannelDelivery.attempts).where(ChannelDelivery.id == delivery_id))
    db.session.commit()
    return attempt if claimed else 0


def _message(delivery: ChannelDelivery, outbox: OutboxMessage, locale: str | None) -> webhook_formats.Message:
    payload = outbox.payload
    link = payload.get("link")
    if link:
        link = urljoin(current_app.config["PUBLIC_BASE_URL"].rstrip("/") + "/", link.lstrip("/"))
    return webhook_formats.Message(
        event=outbox.kind,
        title=notification_texts.render(payload.get("title", ""), locale),
        body=notification_texts.render(payload.get("body", ""), locale),
        link=link,
        delivery_id=delivery.id,
    )


def _prepare(delivery_id: int) -> tuple[str, str, object] | None:
    """(kind, URL, what to send: a webhook_formats.Request, or a push's (secret, payload)), read
    into plain values; None if the channel was removed. Commits, so no transaction (nor SQLite's
    write lock) is held on the network."""
    delivery = db.session.get(ChannelDelivery, delivery_id)
    channel = db.session.get(NotificationChannel, delivery.channel_id)
    outbox = db.session.get(OutboxMessage, delivery.outbox_id)
    prepared = None
    if channel.removed_at is None:
        # A group chat reads the deployment's language; a push or a mail goes to its owner alone.
        personal = channel.kind in (push.KIND, email_channel.KIND)
        owner = db.session.get(User, channel.user_id) if personal else None
        message = _message(delivery, outbox, owner.locale if owner else None)
        if channel.kind == email_channel.KIND:
            prepared = (channel.kind, channel.url, email_channel.build(channel.url, message, owner.locale))
        elif channel.kind == push.KIND:
            data = push.payload(message.title, message.body, message.link, f"{outbox.kind}-{outbox.id}")
            prepared = (channel.kind, channel.url, (channel.secret, data))
        else:
            with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
                link_text = _("View")
            request = webhook_formats.build(
                channel.kind, channel.url, channel.secret, message, int(time.time() * 1000), link_text
            )
            prepared = (channel.kind, request.url, request)
    db.session.commit()
    return prepared


def _send(kind: str, url: str, request) -> tuple[bool, int | None, str, bool]:
    """(accepted, HTTP status, reason, the receiver says the channel is gone for good)."""
    if kind == email_channel.KIND:  # the operator's SMTP server, not a user-typed address
        return email_channel.send(request)
    try:
        # Checked again before every send (a name can be re-pointed since the channel was saved),
        # and the send connects to the very addresses checked here.
        target = outbound_http.check_target(url)
    except UnsafeTarget as exc:
        return False, None, str(exc), False
    if kind == push.KIND:
        return push.send(target, *request)
    try:
        status, answer = outbound_http.post(
            target, request.body, request.headers, timeout=TIMEOUT_S, max_answer=MAX_ANSWER
        )
    except (OSError, ValueError) as exc:  # refused, timed out, bad address
        return False, None, f"{exc.__class__.__name__}: {exc}"[:300], False
    ok, reason = webhook_formats.accepted(kind, status, answer)
    return ok, status, reason, False


def _record(delivery_id: int, attempt: int, ok: bool, status: int | None, reason: str, *, final: bool = False) -> bool:
    """The answer: sent, retry after a backoff, or failed (`final`: the channel is gone, and a
    push subscription the push service dropped is removed so nothing more is sent to it).

    Written only while this sender still holds its claim (compare-and-set on the attempt it
    claimed): a sender slower than its lease must not overwrite the one that took over.
    Returns whether the answer was recorded."""
    now = clock.now()
    values: dict = {"response_status": status}
    if ok:
        values.update(status="sent", sent_at=now, last_error=None)
    else:
        values["last_error"] = reason[:300]
        if final or attempt >= MAX_ATTEMPTS:
            values["status"] = "failed"
        else:
            values.update(status="pending", next_attempt_at=now + _backoff(attempt))
    recorded = db.session.execute(
        update(ChannelDelivery)
        .where(
            ChannelDelivery.id == delivery_id, ChannelDelivery.status == "sending", ChannelDelivery.attempts == attempt
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if recorded and final:
        channel_id = db.session.scalar(select(ChannelDelivery.channel_id).where(ChannelDelivery.id == delivery_id))
        db.session.execute(
            update(NotificationChannel)
            .where(
                NotificationChannel.id == channel_id,
                NotificationChannel.kind == push.KIND,
                NotificationChannel.removed_at.is_(None),
            )
            .values(removed_at=now)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
    return bool(recorded)


def deliver_channels(limit: int = 100) -> int:
    """Send due deliveries (and ones whose sender died mid-send); safe to re-run and to run in
    several schedulers at once. Returns how many were accepted by their receiver."""
    now = clock.now()
    due = db.session.scalars(
        select(ChannelDelivery.id)
        .where(
            ChannelDelivery.status.in_(("pending", "sending")),
            ChannelDelivery.next_attempt_at <= now,
        )
        .order_by(ChannelDelivery.next_attempt_at, ChannelDelivery.id)
        .limit(limit)
    ).all()
    db.session.commit()
    sent = 0
    for delivery_id in due:
        attempt = _claim(delivery_id, now)
        if not attempt:
            continue  # another scheduler has it
        prepared = _prepare(delivery_id)
        if prepared is None:
            _record(delivery_id, attempt, False, None, "channel removed", final=True)
            continue
        ok, status, reason, gone = _send(*prepared)
        recorded = _record(delivery_id, attempt, ok, status, reason, final=gone)
        sent += ok and recorded
    return sent
