"""Pickup points and the staff assigned to them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Leader, User
from app.models.types import UTCDateTime, utcnow


class PickupPoint(db.Model):
    __tablename__ = "pickup_points"
    __table_args__ = (CheckConstraint("capacity >= 1", name="capacity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("leaders.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(200))
    contact_phone: Mapped[str] = mapped_column(String(20))
    opening_hours: Mapped[str] = mapped_column(String(80), default="")
    capacity: Mapped[int] = mapped_column(default=200)  # maximum orders per window
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The local day the leader was last told about overdue bags here (once a day, see uncollected).
    overdue_notified_on: Mapped[date | None]

    leader: Mapped[Leader] = relationship()
    staff_links: Mapped[list[PickupStaff]] = relationship(back_populates="pickup_point")


class PickupStaff(db.Model):
    __tablename__ = "pickup_staff"
    __table_args__ = (UniqueConstraint("pickup_point_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pickup_point_id: Mapped[int] = mapped_column(ForeignKey("pickup_points.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)

    pickup_point: Mapped[PickupPoint] = relationship(back_populates="staff_links")
    user: Mapped[User] = relationship()
