"""The outbox's delivery job (DESIGN.md §4.8): each message queued by notifications.enqueue is
delivered after its transaction committed, to the in-app centre of the users who take its kind
and, through channels.fan_out, to their group-chat robots, webhooks, push and email (sent by
channel_delivery). Safe to run in several schedulers at once and to re-run."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import Notification, OutboxMessage, User
from app.services.core import clock
from app.services.notify import channels, notification_prefs, notification_texts

MAX_ATTEMPTS = 8


def deliver_outbox(limit: int = 200) -> int:
    """Deliver due outbox messages; safe to run concurrently and to re-run. Returns count."""
    now = clock.now()
    due_ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    db.session.commit()
    delivered = 0
    for message_id in due_ids:
        # Claim with compare-and-set so two schedulers never deliver the same message; the
        # claim, the delivery and "sent" share one transaction, so a crash leaves it pending.
        claimed = db.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
            )
            .values(attempts=OutboxMessage.attempts + 1)
        ).rowcount
        if not claimed:
            db.session.rollback()
            continue
        message = db.session.get(OutboxMessage, message_id)
        try:
            _deliver(message)
            message.status = "sent"
            message.delivered_at = clock.now()
            delivered += 1
        except Exception as exc:  # a channel failure is retried with backoff, never lost
            db.session.rollback()
            message = db.session.get(OutboxMessage, message_id)
            message.attempts += 1
            message.status = "failed" if message.attempts >= MAX_ATTEMPTS else "pending"
            message.last_error = str(exc)[:500]
            message.next_attempt_at = clock.now() + timedelta(seconds=30 * 2**message.attempts)
        db.session.commit()
    return delivered


def _deliver(message: OutboxMessage) -> None:
    channels.fan_out(message)  # robots and webhooks are sent by channel_delivery, after commit
    payload = message.payload
    recipients = notification_prefs.recipients(payload.get("user_ids", []), message.kind)
    locales = dict(db.session.execute(select(User.id, User.locale).where(User.id.in_(recipients))).all())
    for user_id in recipients:
        locale = locales.get(user_id)
        db.session.add(
            Notification(
                user_id=user_id,
                outbox_id=message.id,
                kind=message.kind,
                title=notification_texts.render(payload.get("title", ""), locale)[:200],
                body=notification_texts.render(payload.get("body", ""), locale)[:1000],
                link=payload.get("link"),
            )
        )
