"""Sales summaries for the merchant's reports, rolled up from the payment and refund ledgers.

Reports never scan orders: at a million orders that is seconds, not milliseconds. The rollup job
(services/reports/sales_rollup.py) folds each payment and refund into these rows exactly once, keyed by
the deployment-local day the money moved, so a range of days is a handful of index reads.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class SalesDaily(db.Model):
    """Money and orders of one merchant's window at one pickup point (of one leader) on one day."""

    __tablename__ = "sales_daily"
    __table_args__ = (
        UniqueConstraint("merchant_id", "day", "window_id", "leader_id", "pickup_point_id"),
        # Covering, like the next: a group buy's money is read from the index alone.
        Index("ix_sales_daily_window_id", "window_id", "paid_fen", "refunded_fen"),
        # Covering: the leader and pickup-point rankings read a range of days from the index alone.
        Index(
            "ix_sales_daily_figures",
            "merchant_id",
            "day",
            "leader_id",
            "pickup_point_id",
            "paid_fen",
            "orders_count",
            "units",
            "refunded_fen",
            "refunds_count",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    day: Mapped[date] = mapped_column(Date)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"))
    leader_id: Mapped[int] = mapped_column(ForeignKey("leaders.id"))
    pickup_point_id: Mapped[int] = mapped_column(ForeignKey("pickup_points.id"))
    orders_count: Mapped[int] = mapped_column(default=0)  # orders paid that day
    units: Mapped[int] = mapped_column(default=0)  # units in those orders
    paid_fen: Mapped[int] = mapped_column(default=0)  # GMV: money received for them
    refunds_count: Mapped[int] = mapped_column(default=0)  # refunds made that day, of any order
    refunded_fen: Mapped[int] = mapped_column(default=0)
    shortage_fen: Mapped[int] = mapped_column(default=0)  # the part of refunded_fen for shortages


class MerchantSalesDaily(db.Model):
    """The merchant's whole day: the same figures as SalesDaily summed over windows, leaders and
    points, so the overview and the trend read one row per day instead of one per pickup point."""

    __tablename__ = "merchant_sales_daily"
    __table_args__ = (UniqueConstraint("merchant_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    day: Mapped[date] = mapped_column(Date)
    orders_count: Mapped[int] = mapped_column(default=0)
    units: Mapped[int] = mapped_column(default=0)
    paid_fen: Mapped[int] = mapped_column(default=0)
    refunds_count: Mapped[int] = mapped_column(default=0)
    refunded_fen: Mapped[int] = mapped_column(default=0)
    shortage_fen: Mapped[int] = mapped_column(default=0)


class ProductSalesDaily(db.Model):
    """Units and money of one product, sold by one merchant, in orders paid on one day."""

    __tablename__ = "product_sales_daily"
    __table_args__ = (
        UniqueConstraint("merchant_id", "day", "product_id"),
        Index(
            "ix_product_sales_daily_figures", "merchant_id", "day", "product_id", "sales_fen", "units", "orders_count"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    day: Mapped[date] = mapped_column(Date)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    orders_count: Mapped[int] = mapped_column(default=0)
    units: Mapped[int] = mapped_column(default=0)
    sales_fen: Mapped[int] = mapped_column(default=0)


class CustomerDay(db.Model):
    """A customer (by phone) paid for an order of the merchant on that day: distinct customers
    over any range are a count over these rows, which per-day totals cannot give."""

    __tablename__ = "customer_days"
    __table_args__ = (UniqueConstraint("merchant_id", "day", "customer_phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    day: Mapped[date] = mapped_column(Date)
    customer_phone: Mapped[str] = mapped_column(String(20))


class CustomerSketch(db.Model):
    """A HyperLogLog sketch of the merchant's customers on one day (services/reports/customer_counts.py).

    Counting distinct phones over a month of a busy merchant's customer days is tens of
    thousands of rows; merging thirty 4 KiB sketches is not. Used only past EXACT_LIMIT rows."""

    __tablename__ = "customer_sketches"
    __table_args__ = (UniqueConstraint("merchant_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"))
    day: Mapped[date] = mapped_column(Date)
    registers: Mapped[bytes] = mapped_column(LargeBinary)
