"""Money in and out. Integer fen only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.orders import Order
from app.models.types import UTCDateTime, utcnow


class Payment(db.Model):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_ref"),
        CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        # The rollup job finds the few rows it has not folded in yet without walking the ledger.
        Index("ix_payments_summarized_id", "summarized", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int]
    # A payment that arrived after the order was cancelled is kept and refunded, never lost.
    late: Mapped[bool] = mapped_column(default=False)
    recorded_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Folded into the sales summaries (services/reports/sales_rollup.py); set once, by compare-and-set.
    summarized: Mapped[bool] = mapped_column(default=False, server_default=false())

    order: Mapped[Order] = relationship()


class Refund(db.Model):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_refunds_summarized_id", "summarized", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    amount_fen: Mapped[int]
    reason: Mapped[str] = mapped_column(String(40))  # group_failed, shortage, late_payment...
    # "succeeded" when the provider paid it back; "pending" when a person must (offline cash).
    status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    summarized: Mapped[bool] = mapped_column(default=False, server_default=false())

    order: Mapped[Order] = relationship()
