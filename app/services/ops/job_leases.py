"""Run each due scheduled job once, whichever of any number of scheduler processes gets there.

A job's row in `job_runs` is claimed by compare-and-set: the update matches only when the job is
due (`next_due_at` passed) and nobody holds a live lease. The winner runs the job, keeps its
lease fresh while it runs, then hands the row back with the next due time. A process that dies
holding a lease stops renewing it, so another takes the job over once the lease runs out.

The lease is about doing the work once, not about correctness: every job is already safe to run
twice at once (compare-and-set on the rows it changes), so a lease that lapses under a very
long run costs duplicated effort, never duplicated effects. The same row works on SQLite and
PostgreSQL, which is why this is a lease row and not PostgreSQL's advisory locks.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from app.extensions import db
from app.models import JobRun
from app.services.core import clock
from app.services.core.dialect import insert_for_dialect

ERROR_CHARS = 500


def new_holder() -> str:
    """This scheduler's name in the lease rows: host and pid say where it runs, the random
    part tells apart two schedulers of one process (tests) and a pid reused after a restart."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def cadence_slack(interval: timedelta) -> timedelta:
    """How much earlier than a full interval the job is due again. Ticks of one process come
    every `interval`, a few milliseconds after the claim's own timestamp; without the slack a
    lone scheduler would find the job not yet due and run it every other tick."""
    return min(interval / 5, timedelta(seconds=2))


def claim(job_id: str, holder: str, *, lease: timedelta) -> datetime | None:
    """Take the job if it is due and free: the claim time, or None when not ours this tick."""
    now = clock.now()
    claimed = _try_claim(job_id, holder, now, lease)
    if not claimed and db.session.get(JobRun, job_id) is None:
        db.session.rollback()
        # First run anywhere: create the row (two schedulers may race; one insert is kept).
        db.session.execute(
            insert_for_dialect()(JobRun)
            .values(job_id=job_id, next_due_at=now, runs=0)
            .on_conflict_do_nothing(index_elements=["job_id"])
        )
        db.session.commit()
        claimed = _try_claim(job_id, holder, now, lease)
    db.session.rollback()  # end the read of the check above, if that is all there was
    return now if claimed else None


def _try_claim(job_id: str, holder: str, now: datetime, lease: timedelta) -> bool:
    claimed = db.session.execute(
        update(JobRun)
        .where(
            JobRun.job_id == job_id,
            JobRun.next_due_at <= now,
            or_(JobRun.lease_until.is_(None), JobRun.lease_until <= now),
        )
        .values(holder=holder, lease_until=now + lease, last_started_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        db.session.commit()
    return bool(claimed)


def renew(job_id: str, holder: str, *, lease: timedelta) -> bool:
    """Push the lease on while the job still runs; False when it is no longer ours."""
    renewed = db.session.execute(
        update(JobRun)
        .where(JobRun.job_id == job_id, JobRun.holder == holder)
        .values(lease_until=clock.now() + lease)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(renewed)


def finish(
    job_id: str,
    holder: str,
    started: datetime,
    *,
    interval: timedelta,
    result: int | None,
    error: str | None = None,
) -> bool:
    """Hand the job back, due again one interval after this run started. False when the lease
    had run out and someone else holds the job now (their run records itself)."""
    finished = db.session.execute(
        update(JobRun)
        .where(JobRun.job_id == job_id, JobRun.holder == holder)
        .values(
            holder=None,
            lease_until=None,
            next_due_at=started + interval - cadence_slack(interval),
            last_finished_at=clock.now(),
            last_holder=holder,
            last_result=result,
            last_error=error[:ERROR_CHARS] if error else None,
            runs=JobRun.runs + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(finished)


STATUS_FIELDS = ("job_id", "holder", "lease_until", "next_due_at", "last_finished_at", "last_holder", "last_result")


def status() -> list[dict]:
    """Every job's row as plain values, for `flask jobs status` and the operators."""
    rows = [
        {name: getattr(row, name) for name in (*STATUS_FIELDS, "last_error", "runs")}
        for row in db.session.scalars(select(JobRun).order_by(JobRun.job_id))
    ]
    db.session.rollback()
    return rows
