"""Delivery batches: one merchant's goods for one pickup point in one window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Merchant
from app.models.points import PickupPoint
from app.models.types import UTCDateTime, utcnow
from app.models.windows import Window

BATCH_STATUSES = ("created", "picking", "dispatched", "arrived", "done")


class DeliveryBatch(db.Model):
    __tablename__ = "delivery_batches"
    __table_args__ = (UniqueConstraint("window_id", "merchant_id", "pickup_point_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    pickup_point_id: Mapped[int] = mapped_column(ForeignKey("pickup_points.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="created")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the merchant tells the leader at dispatch: vehicle or driver, and when it should arrive.
    dispatch_note: Mapped[str] = mapped_column(String(200), default="")
    expected_arrival_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrived_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    window: Mapped[Window] = relationship()
    merchant: Mapped[Merchant] = relationship()
    pickup_point: Mapped[PickupPoint] = relationship()
