"""Pickup codes and redemptions at the counter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.orders import Order
from app.models.points import PickupPoint
from app.models.types import UTCDateTime, utcnow

CODE_STATUSES = ("issued", "redeemed", "void")


class PickupCode(db.Model):
    __tablename__ = "pickup_codes"
    # live_code mirrors `code` while the code is issued and is NULL otherwise, so the
    # database itself keeps codes unique among the live codes of a pickup point.
    __table_args__ = (UniqueConstraint("pickup_point_id", "live_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    pickup_point_id: Mapped[int] = mapped_column(ForeignKey("pickup_points.id"), index=True)
    code: Mapped[str] = mapped_column(String(8))
    live_code: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="issued")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redeemed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    order: Mapped[Order] = relationship()
    pickup_point: Mapped[PickupPoint] = relationship()
    redeemed_by: Mapped[User | None] = relationship()


class Redemption(db.Model):
    """One redeem request as answered; the idempotency key makes a replay return it again."""

    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    pickup_code_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_codes.id"))
    device: Mapped[str] = mapped_column(String(80), default="")
    outcome: Mapped[str] = mapped_column(String(20))  # redeemed, already_redeemed, ...
    # SHA-256 of what was asked (point, code, lines): a key reused for another request is refused
    # instead of answered with this row. NULL on rows stored before it was kept.
    request_digest: Mapped[str | None] = mapped_column(String(64))
    response: Mapped[dict] = mapped_column(JSON)
    # What this redemption handed over: [{"order_item_id", "quantity"}], so an undo gives back
    # exactly that and a partial pickup leaves the rest redeemable.
    lines: Mapped[list | None] = mapped_column(JSON)
    # When an offline device says it handed the bag over (its clock); NULL for online requests.
    offline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    undo_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeEntryFailure(db.Model):
    """A wrong pickup code (unknown, void, another point's, forged, or a hand-over without its
    code): what the code-entry lock counts. The audit trail records every attempt as well, but a
    busy deployment makes tens of thousands of good lookups an hour; counting only the failures,
    in a table of their own, keeps the lock's check at a busy counter to a few rows."""

    __tablename__ = "code_entry_failures"
    __table_args__ = (Index("ix_code_entry_failures_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(60))
    pickup_point_id: Mapped[int]
    device_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
