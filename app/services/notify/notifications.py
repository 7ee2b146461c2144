"""In-app notifications: queued in the outbox in the caller's transaction (delivered after commit
by services/notify/outbox.py, DESIGN.md §4.8), counted and read in the notification centre."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Notification, OutboxMessage
from app.services.core import clock


def enqueue(kind: str, *, user_ids: list[int], title, body="", link: str | None = None) -> None:
    """Queue a notification in the caller's transaction; nothing is sent if it rolls back.
    `title` and `body`: notification_texts.message(...) (translated per reader) or plain text."""
    recipients = sorted(set(user_ids))
    if not recipients:
        return
    db.session.add(
        OutboxMessage(
            kind=kind,
            payload={"user_ids": recipients, "title": title, "body": body, "link": link},
            next_attempt_at=clock.now(),
        )
    )


def unread_count(user_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def list_for(user_id: int, limit: int = 100) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id.desc()).limit(limit)
        )
    )


def mark_all_read(user_id: int) -> int:
    count = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=clock.now())
    ).rowcount
    db.session.commit()
    return count
