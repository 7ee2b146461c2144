"""Window documents built in the background (picking, packing, route lists as CSV/XLSX/PDF)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime, utcnow

DOCUMENT_KINDS = ("picking", "packing", "route")
DOCUMENT_FORMATS = ("csv", "xlsx", "pdf")


class DocumentJob(db.Model):
    """One document a merchant asked for: queued → running (claimed with a lease) → done | failed.
    The file is kept for download; progress is rows written of rows to write."""

    __tablename__ = "document_jobs"
    __table_args__ = (
        CheckConstraint("done_rows >= 0", name="done_rows_not_negative"),
        Index("ix_document_jobs_status_lease_until", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchants.id"), index=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    format: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    total_rows: Mapped[int] = mapped_column(default=0)
    done_rows: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    file_name: Mapped[str | None] = mapped_column(String(120))
    error: Mapped[str | None] = mapped_column(String(300))
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return min(99, self.done_rows * 100 // self.total_rows) if self.total_rows else 0
