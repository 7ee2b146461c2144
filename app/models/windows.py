"""Group-buy windows, their items, which leaders sell them, and share links."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Leader, Merchant
from app.models.catalog import Product
from app.models.types import UTCDateTime, utcnow

WINDOW_STATUSES = ("draft", "scheduled", "open", "closed", "settled")
ITEM_STATUSES = ("open", "succeeded", "failed")


class Window(db.Model):
    __tablename__ = "windows"
    __table_args__ = (CheckConstraint("closes_at > opens_at", name="closes_after_opens"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    pickup_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    all_leaders: Mapped[bool] = mapped_column(default=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When leaders were told it closes soon (window_reminders); set once.
    closing_soon_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    merchant: Mapped[Merchant] = relationship()
    items: Mapped[list[WindowItem]] = relationship(back_populates="window", order_by="WindowItem.id")
    leader_links: Mapped[list[WindowLeader]] = relationship(back_populates="window")


class WindowItem(db.Model):
    __tablename__ = "window_items"
    __table_args__ = (
        UniqueConstraint("window_id", "product_id"),
        CheckConstraint("sold >= 0", name="sold_not_negative"),
        CheckConstraint("quota IS NULL OR sold <= quota", name="sold_within_quota"),
        CheckConstraint("group_price_fen >= 0", name="price_not_negative"),
        CheckConstraint("min_group_size >= 1", name="min_group_positive"),
        CheckConstraint("per_leader_quota IS NULL OR per_leader_quota >= 0", name="per_leader_quota_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    group_price_fen: Mapped[int]
    per_customer_limit: Mapped[int | None]
    quota: Mapped[int | None]
    # Each leader's community may buy at most this many units (NULL: no per-leader cap); a
    # WindowLeaderQuota row marked explicit overrides it for one leader.
    per_leader_quota: Mapped[int | None]
    # Whether any leader has an explicit quota row: with this false and no default, reserving
    # skips the per-leader step. Kept by app.services.windows.leader_quotas under this row's lock.
    has_leader_overrides: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Minimum group size counts paid orders containing the item (people, as 成团 does).
    min_group_size: Mapped[int] = mapped_column(default=1)
    sold: Mapped[int] = mapped_column(default=0)  # units reserved by live orders
    status: Mapped[str] = mapped_column(String(10), default="open")

    window: Mapped[Window] = relationship(back_populates="items")
    product: Mapped[Product] = relationship()
    # Removing an item from a draft window takes its leader quotas with it.
    leader_quotas: Mapped[list[WindowLeaderQuota]] = relationship(
        back_populates="window_item", cascade="all, delete-orphan"
    )


class WindowLeader(db.Model):
    """A leader chosen to sell a window whose `all_leaders` is false."""

    __tablename__ = "window_leaders"
    __table_args__ = (UniqueConstraint("window_id", "leader_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), index=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("leaders.id"), index=True)

    window: Mapped[Window] = relationship(back_populates="leader_links")
    leader: Mapped[Leader] = relationship()


class WindowLeaderQuota(db.Model):
    """How many units of a window item one leader's community may buy, and how many it holds.

    One row per (window item, leader) that is capped. `explicit` rows are the merchant's
    override for that leader and beat the item's `per_leader_quota` default (higher or lower;
    0 stops the leader selling it). Rows with `explicit` false carry the default for a leader
    who bought under it; their quota follows the default when the merchant changes it. A
    leader with no row and no default is not capped. `sold` counts units the leader's live
    orders hold; it moves only through app.services.orders.reservations (conditional statements)
    and app.services.windows.leader_quotas, and the database refuses `sold > quota`.
    """

    __tablename__ = "window_leader_quotas"
    __table_args__ = (
        UniqueConstraint("window_item_id", "leader_id"),
        CheckConstraint("quota >= 0", name="quota_not_negative"),
        CheckConstraint("sold >= 0", name="sold_not_negative"),
        CheckConstraint("sold <= quota", name="sold_within_quota"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    window_item_id: Mapped[int] = mapped_column(ForeignKey("window_items.id"))
    leader_id: Mapped[int] = mapped_column(ForeignKey("leaders.id"), index=True)
    quota: Mapped[int]
    sold: Mapped[int] = mapped_column(default=0)
    explicit: Mapped[bool] = mapped_column(default=True)

    window_item: Mapped[WindowItem] = relationship(back_populates="leader_quotas")
    leader: Mapped[Leader] = relationship()


class ShareLink(db.Model):
    __tablename__ = "share_links"
    __table_args__ = (UniqueConstraint("window_id", "leader_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(16), unique=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), index=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("leaders.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    window: Mapped[Window] = relationship()
    leader: Mapped[Leader] = relationship()
