"""Customer orders, their lines, history, and the counters that make reservations atomic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Leader
from app.models.points import PickupPoint
from app.models.types import UTCDateTime, utcnow
from app.models.windows import Window, WindowItem

ORDER_STATUSES = (
    "pending_payment",
    "paid",
    "confirmed",
    "ready_for_pickup",
    "completed",
    "cancelled",
    "failed",
    "refunded",
)
ITEM_STATUSES = ("reserved", "cancelled", "failed", "confirmed", "redeemed")


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total_fen >= 0", name="total_not_negative"),
        CheckConstraint("refunded_fen >= 0", name="refunded_not_negative"),
        # live_slot mirrors shelf_slot while the bag waits at the point and is NULL once it is
        # collected or refunded, so the database keeps slots unique among waiting bags and a
        # freed number can be given to the next batch.
        UniqueConstraint("pickup_point_id", "live_slot"),
        # "Does this batch still have an open order?" after every completed redemption: a few
        # index probes rather than a walk over the batch's already finished orders.
        Index("ix_orders_batch_id_status", "batch_id", "status"),
        # A window's orders at one pickup point in id order: the packing list pages through these,
        # and without it SQLite walks the whole window once per point (points × orders).
        Index("ix_orders_window_id_pickup_point_id_id", "window_id", "pickup_point_id", "id"),
        # The leader's Today counts (waiting, overdue, awaiting arrival) from the index alone: by
        # leader_id only, a leader with a year of orders had each count read every one of them.
        Index("ix_orders_leader_id_status_arrived_at", "leader_id", "status", "arrived_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    access_token: Mapped[str] = mapped_column(String(43), unique=True)  # the order page link
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), index=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("leaders.id"), index=True)
    pickup_point_id: Mapped[int] = mapped_column(ForeignKey("pickup_points.id"), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_batches.id"), index=True)
    customer_name: Mapped[str] = mapped_column(String(40))
    customer_phone: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending_payment", index=True)
    payment_provider: Mapped[str] = mapped_column(String(20))
    total_fen: Mapped[int]
    paid_fen: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shelf_slot: Mapped[int | None]  # 货架号, kept after collection for history and reprints
    live_slot: Mapped[int | None]
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    window: Mapped[Window] = relationship()
    leader: Mapped[Leader] = relationship()
    pickup_point: Mapped[PickupPoint] = relationship()
    items: Mapped[list[OrderItem]] = relationship(back_populates="order", order_by="OrderItem.id")
    events: Mapped[list[OrderEvent]] = relationship(back_populates="order", order_by="OrderEvent.id")


class OrderItem(db.Model):
    __tablename__ = "order_items"
    __table_args__ = (
        # Shortages are rare: a partial index holds only the short lines, so a window's shortage
        # total is a few index reads however many lines it sold (services/reports/sales_reports.py).
        Index(
            "ix_order_items_shortages",
            "window_item_id",
            "shortage_qty",
            sqlite_where=text("shortage_qty > 0"),
            postgresql_where=text("shortage_qty > 0"),
        ),
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("shortage_qty >= 0 AND shortage_qty <= quantity", name="shortage_in_range"),
        CheckConstraint("redeemed_qty >= 0 AND redeemed_qty + shortage_qty <= quantity", name="redeemed_in_range"),
        # A line is never refunded beyond what was paid for it (DESIGN.md §4.10). The refund path
        # keeps it by compare-and-set (services/orders/refunds.py); this is the database's last word.
        CheckConstraint("refunded_fen >= 0 AND refunded_fen <= unit_price_fen * quantity", name="refunded_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    window_item_id: Mapped[int] = mapped_column(ForeignKey("window_items.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    product_name: Mapped[str] = mapped_column(String(120))  # as sold, if the product is renamed
    product_spec: Mapped[str] = mapped_column(String(60), default="")
    unit_price_fen: Mapped[int]
    quantity: Mapped[int]
    shortage_qty: Mapped[int] = mapped_column(default=0)
    redeemed_qty: Mapped[int] = mapped_column(default=0)  # handed over so far (partial pickup)
    # Refunded against this line so far: shortages, after-sales, failed groups, cancels. Money
    # that paid for no line (a late second payment) is refunded on the order alone.
    refunded_fen: Mapped[int] = mapped_column(default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(12), default="reserved")
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship(back_populates="items")
    window_item: Mapped[WindowItem] = relationship()

    @property
    def line_total_fen(self) -> int:
        return self.unit_price_fen * self.quantity

    @property
    def refundable_fen(self) -> int:
        """What may still be refunded against this line: what was paid for it, less refunds."""
        return self.line_total_fen - self.refunded_fen


class OrderEvent(db.Model):
    """One status transition: who, when, why."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(60))  # "user:12", "customer", "system:close"
    reason: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    order: Mapped[Order] = relationship(back_populates="events")


class CustomerItemUsage(db.Model):
    """Units a customer (by phone) holds of a window item; guards the per-customer limit."""

    __tablename__ = "customer_item_usage"
    __table_args__ = (
        UniqueConstraint("window_item_id", "customer_phone"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    window_item_id: Mapped[int] = mapped_column(ForeignKey("window_items.id"))
    customer_phone: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int] = mapped_column(default=0)


class PointWindowUsage(db.Model):
    """Live orders a pickup point holds in a window; guards the point's capacity."""

    __tablename__ = "point_window_usage"
    __table_args__ = (
        UniqueConstraint("pickup_point_id", "window_id"),
        CheckConstraint("orders_count >= 0", name="orders_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pickup_point_id: Mapped[int] = mapped_column(ForeignKey("pickup_points.id"))
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"))
    orders_count: Mapped[int] = mapped_column(default=0)
