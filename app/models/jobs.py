"""Scheduled jobs' shared state: which process holds a job and when it is next due.

Any number of processes may run the scheduler (web hosts, `flask scheduler`). Each tick a process
claims the job's row by compare-and-set before running it, so a due job runs in one process
only, and once per interval across all of them; see services/ops/job_leases.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime


class JobRun(db.Model):
    """One scheduled job: its lease (holder until lease_until) and its cadence (next_due_at)."""

    __tablename__ = "job_runs"
    __table_args__ = (CheckConstraint("runs >= 0", name="runs_not_negative"),)

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # "host:pid:random" of the scheduler running it now; None between runs.
    holder: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_holder: Mapped[str | None] = mapped_column(String(120))
    last_result: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    runs: Mapped[int] = mapped_column(default=0)
