"""What merchants sell."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Merchant
from app.models.types import UTCDateTime, utcnow


class Product(db.Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_fen >= 0", name="price_not_negative"),
        CheckConstraint("low_stock_threshold >= 0", name="threshold_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    spec: Mapped[str] = mapped_column(String(60), default="")
    # Two levels: a category and, within it, an optional subcategory (e.g. 水果 / 柑橘).
    category: Mapped[str] = mapped_column(String(40), default="")
    subcategory: Mapped[str] = mapped_column(String(40), default="")
    price_fen: Mapped[int]
    stock: Mapped[int] = mapped_column(default=0)
    low_stock_threshold: Mapped[int] = mapped_column(default=0)
    listed: Mapped[bool] = mapped_column(default=True)
    # The product's photo: "<hex>.jpg" (≤ 1600 px) beside "<hex>-thumb.jpg" (320 px) under
    # UPLOAD_DIR/products/; a new photo gets a new name, so the files can be cached forever.
    image_name: Mapped[str | None] = mapped_column(String(64))
    # Scheduled listing and unlisting (services/catalog/listing_schedule.py): applied by a job, then cleared.
    list_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    unlist_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # True from the moment stock crosses down to the threshold until it is raised above it:
    # the flag is what makes "one alert per crossing" a compare-and-set.
    stock_alert_open: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    merchant: Mapped[Merchant] = relationship()


class StockAlert(db.Model):
    __tablename__ = "stock_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    stock_at_alert: Mapped[int]
    threshold: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    product: Mapped[Product] = relationship()
