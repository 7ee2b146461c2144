"""After-sales (售后) requests: a customer or leader reports a problem with an order line; the
merchant refunds all or part of it, or rejects it with a reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.orders import Order, OrderItem
from app.models.types import UTCDateTime, utcnow

AFTER_SALES_REASONS = ("quality", "wrong_item", "missing")
AFTER_SALES_STATUSES = ("open", "approved", "rejected")


class AfterSalesRequest(db.Model):
    __tablename__ = "after_sales_requests"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity_positive"),
        CheckConstraint("refund_fen IS NULL OR refund_fen > 0", name="refund_positive"),
        # open_item_id mirrors order_item_id while the request is open and is NULL once decided:
        # the database keeps one open request per order line, even under concurrent submits.
        UniqueConstraint("open_item_id"),
        Index("ix_after_sales_requests_merchant_id_status", "merchant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    leader_id: Mapped[int] = mapped_column(ForeignKey("leaders.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    note: Mapped[str] = mapped_column(String(500), default="")
    photo_name: Mapped[str | None] = mapped_column(String(64))  # file under instance/uploads/after_sales
    status: Mapped[str] = mapped_column(String(10), default="open")
    opened_by: Mapped[str] = mapped_column(String(60))  # "customer" or "user:12"
    open_item_id: Mapped[int | None]
    refund_fen: Mapped[int | None]
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"))
    decided_by: Mapped[str | None] = mapped_column(String(60))
    decision_note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    order: Mapped[Order] = relationship()
    item: Mapped[OrderItem] = relationship()

    @property
    def claimable_fen(self) -> int:
        """The most a decision may refund: the units reported at the price paid for them, within
        what is left to refund on the line (shortages and earlier requests may have taken it)."""
        return max(0, min(self.item.unit_price_fen * self.quantity, self.item.refundable_fen))

    @property
    def claimable_text(self) -> str:
        """claimable_fen as typed in the refund field ("12.50"), exactly."""
        fen = self.claimable_fen
        return f"{fen // 100}.{fen % 100:02d}"
