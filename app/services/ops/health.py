"""What an operator's probes and Prometheus ask the database: is it there, is its schema this
release's, is a scheduler running the jobs, and is the outbox keeping up.

Every query here is small and indexed (a probe comes every few seconds from every balancer),
and none of them write. Failures are logged here with their reason; what is shown to the
caller is only each check's name and ok/fail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from app.extensions import db
from app.models import ChannelDelivery, JobRun, OutboxMessage
from app.services.core import clock

log = logging.getLogger(__name__)

CHECKS = ("database", "migrations", "scheduler", "outbox")
# A channel delivery being sent holds a lease in next_attempt_at; past it, it is overdue too.
_DELIVERY_WAITING = ("pending", "sending")


@dataclass(frozen=True)
class ReadinessRules:
    migration_heads: frozenset[str]
    job_ids: tuple[str, ...]
    scheduler_stale: timedelta
    outbox_max_age: timedelta
    # When this process started: before any job has ever run (a fresh install), the scheduler
    # is given this long from here to show up.
    started_at: datetime


def database_reachable() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any driver error means "not reachable" to a probe
        log.warning("readiness: database unreachable (%s)", type(exc).__name__)
        return False
    finally:
        db.session.rollback()


def migrations_at_head(heads: frozenset[str]) -> bool:
    """The database's Alembic revision is exactly this release's head (behind: `flask db
    upgrade` was not run; ahead: this process runs an older release than the schema)."""
    current = frozenset(db.session.scalars(text("SELECT version_num FROM alembic_version")).all())
    db.session.rollback()
    if current != heads:
        log.warning("readiness: database at revision %s, this release expects %s", sorted(current), sorted(heads))
        return False
    return True


def stale_jobs(job_ids: Iterable[str], *, stale: timedelta, started_at: datetime) -> list[str]:
    """Jobs no scheduler has touched for `stale`: not running under a live lease, and not
    started or finished within it. A job that has never run anywhere counts as stale only once
    this process has been up for `stale` (a fresh install's scheduler has not ticked yet)."""
    now = clock.now()
    rows = {row.job_id: row for row in db.session.scalars(select(JobRun))}
    db.session.rollback()
    found = []
    for job_id in job_ids:
        row = rows.get(job_id)
        if row is not None and row.lease_until is not None and row.lease_until > now:
            continue  # running now, and its holder keeps renewing the lease
        seen = [t for t in (row.last_started_at, row.last_finished_at) if t is not None] if row else []
        last = max(seen) if seen else started_at
        if now - last > stale:
            found.append(job_id)
    if found:
        log.warning("readiness: no scheduler has run %s for over %s", ", ".join(found), stale)
    return found


@dataclass(frozen=True)
class Backlog:
    outbox_pending: int
    outbox_failed: int
    outbox_oldest_due_s: float  # how long the longest-waiting due message has waited; 0 if none
    deliveries_pending: int
    deliveries_failed: int
    deliveries_oldest_due_s: float


def _overdue_s(oldest: datetime | None, now: datetime) -> float:
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def backlog() -> Backlog:
    """Outbox messages and channel deliveries still to send, and how overdue the oldest is.

    "Overdue" counts from a message's next attempt, not its creation: a message waiting out its
    retry backoff (a robot that is down) is not a backlog of ours; one that was due long ago and
    is still not picked up means the delivery jobs are not keeping up, or not running."""
    now = clock.now()
    outbox = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.status.in_(("pending", "failed")))
            .group_by(OutboxMessage.status)
        ).all()
    )
    outbox_oldest = db.session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now
        )
    )
    deliveries = dict(
        db.session.execute(
            select(ChannelDelivery.status, func.count())
            .where(ChannelDelivery.status.in_((*_DELIVERY_WAITING, "failed")))
            .group_by(ChannelDelivery.status)
        ).all()
    )
    delivery_oldest = db.session.scalar(
        select(func.min(ChannelDelivery.next_attempt_at)).where(
            ChannelDelivery.status.in_(_DELIVERY_WAITING), ChannelDelivery.next_attempt_at <= now
        )
    )
    db.session.rollback()
    return Backlog(
        outbox_pending=outbox.get("pending", 0),
        outbox_failed=outbox.get("failed", 0),
        outbox_oldest_due_s=_overdue_s(outbox_oldest, now),
        deliveries_pending=sum(deliveries.get(s, 0) for s in _DELIVERY_WAITING),
        deliveries_failed=deliveries.get("failed", 0),
        deliveries_oldest_due_s=_overdue_s(delivery_oldest, now),
    )


def outbox_keeping_up(max_age: timedelta) -> bool:
    """No outbox message or channel delivery has been due for longer than `max_age`."""
    cutoff = clock.now() - max_age
    overdue = db.session.scalar(
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at < cutoff)
        .limit(1)
    ) or db.session.scalar(
        select(ChannelDelivery.id)
        .where(ChannelDelivery.status.in_(_DELIVERY_WAITING), ChannelDelivery.next_attempt_at < cutoff)
        .limit(1)
    )
    db.session.rollback()
    if overdue is not None:
        log.warning("readiness: notifications due for over %s are still waiting", max_age)
        return False
    return True


def readiness(rules: ReadinessRules, only: Iterable[str] = CHECKS) -> dict[str, bool]:
    """Each asked-for check's outcome. Without the database, the checks that need it fail."""
    wanted = [name for name in CHECKS if name in set(only)]
    reachable = database_reachable()
    results: dict[str, bool] = {}
    for name in wanted:
        if name == "database" or not reachable:
            results[name] = reachable
            continue
        try:
            if name == "migrations":
                results[name] = migrations_at_head(rules.migration_heads)
            elif name == "scheduler":
                results[name] = not stale_jobs(rules.job_ids, stale=rules.scheduler_stale, started_at=rules.started_at)
            else:
                results[name] = outbox_keeping_up(rules.outbox_max_age)
        except Exception as exc:  # a check that cannot run is a failed check, never a 500
            db.session.rollback()
            log.warning("readiness: check %s could not run (%s)", name, type(exc).__name__)
            results[name] = False
    return results


@dataclass(frozen=True)
class JobState:
    job_id: str
    runs: int
    last_finished_at: datetime | None
    last_duration_s: float | None
    last_failed: bool
    running: bool


def job_states() -> list[JobState]:
    """Every job's lease row as the whole deployment sees it (any scheduler, any host)."""
    now = clock.now()
    states = []
    for row in db.session.scalars(select(JobRun).order_by(JobRun.job_id)):
        duration = None
        if row.last_started_at and row.last_finished_at and row.last_finished_at >= row.last_started_at:
            duration = (row.last_finished_at - row.last_started_at).total_seconds()
        states.append(
            JobState(
                job_id=row.job_id,
                runs=row.runs,
                last_finished_at=row.last_finished_at,
                last_duration_s=duration,
                last_failed=row.last_error is not None,
                running=row.lease_until is not None and row.lease_until > now,
            )
        )
    db.session.rollback()
    return states
