"""Group-chat robots and webhooks a user has notifications sent to, and each delivery to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow


class NotificationChannel(db.Model):
    """A WeCom or DingTalk group robot, or a signed JSON webhook, owned by one user."""

    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10))  # wecom, dingtalk, json (webhook_formats.KINDS)
    url: Mapped[str] = mapped_column(String(500))
    # DingTalk's signing secret ("加签") or the JSON webhook's HMAC key; never shown again in full.
    secret: Mapped[str | None] = mapped_column(String(200))
    # Notification kinds sent to this channel; NULL: every kind, present and future (push).
    events: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Removed channels are kept so their delivery history still names them.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelDelivery(db.Model):
    """One outbox message to one channel; the unique pair makes a re-run fan-out add nothing."""

    __tablename__ = "channel_deliveries"
    __table_args__ = (
        UniqueConstraint("outbox_id", "channel_id"),
        Index("ix_channel_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("notification_channels.id"), index=True)
    # pending → sending (claimed, with a lease in next_attempt_at) → sent | pending (retry) | failed
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(300))
    response_status: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    channel: Mapped[NotificationChannel] = relationship()
