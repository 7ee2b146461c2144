"""APScheduler wiring. Each job calls one service, has a stable id, and is safe to re-run.

Any number of processes may run a scheduler (web hosts, `flask scheduler`): every tick a process
claims the job's lease row first (services/ops/job_leases.py), so each due job runs in one process,
once per interval across all of them. `flask jobs <id>` runs a job at once, without the lease.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from contextlib import nullcontext
from datetime import timedelta

from flask import Flask

from app import metrics
from app.extensions import db
from app.services.ops import job_leases
from app.services.ops.job_leases import new_holder

log = logging.getLogger(__name__)

# job id -> "module:function". Every function takes no arguments and returns a count.
JOBS: dict[str, str] = {
    "open-windows": "app.services.windows.windows:open_due_windows",
    "close-windows": "app.services.closing.closing:close_due_windows",
    "scan-stock": "app.services.catalog.stock:scan_stock_alerts",
    "announce-closing-soon": "app.services.windows.window_reminders:announce_closing_soon",
    "notify-uncollected": "app.services.leader.uncollected:notify_overdue",
    "build-documents": "app.services.deliveries.document_jobs:build_documents",
    "apply-listing-schedule": "app.services.catalog.listing_schedule:apply_listing_schedule",
    "roll-up-sales": "app.services.reports.sales_rollup:roll_up_sales",
    "deliver-outbox": "app.services.notify.outbox:deliver_outbox",
    "deliver-channels": "app.services.notify.channel_delivery:deliver_channels",
}


def resolve(job_id: str):
    module_name, func_name = JOBS[job_id].split(":")
    return getattr(importlib.import_module(module_name), func_name)


def run_job(app: Flask, job_id: str, holder: str | None = None) -> int:
    """Run one job in its own app context; errors are logged, not raised into the scheduler.
    With a `holder` (a scheduler's tick) the job runs only if this process wins its lease."""
    with app.app_context():
        interval = timedelta(seconds=app.config["SCHEDULER_INTERVAL_SECONDS"])
        lease = timedelta(seconds=app.config["JOB_LEASE_SECONDS"])
        started = None
        ran_from = None
        try:
            if holder is not None:
                started = job_leases.claim(job_id, holder, lease=lease)
                if started is None:
                    return 0  # not due yet, or another process runs it
            ran_from = time.perf_counter()
            with _LeaseKeeper(app, job_id, holder, lease) if started else nullcontext():
                count, error = resolve(job_id)(), None
        except Exception as exc:
            db.session.rollback()
            log.exception("job %s failed; it will run again on the next tick", job_id)
            count, error = 0, f"{type(exc).__name__}: {exc}"
        if ran_from is not None:
            metrics.JOB_RUNS.labels(job_id, "failed" if error else "ok").inc()
            metrics.JOB_SECONDS.labels(job_id).observe(time.perf_counter() - ran_from)
        try:
            if started is not None and not job_leases.finish(
                job_id, holder, started, interval=interval, result=count, error=error
            ):
                log.warning("job %s outlived its lease; another scheduler took it over", job_id)
        except Exception:
            db.session.rollback()
            log.exception("job %s ran but its lease was not handed back; it frees itself when it runs out", job_id)
        finally:
            db.session.remove()
        return count


class _LeaseKeeper:
    """Renews a running job's lease from a thread, a third of the lease at a time, so a long
    run (a close of a million orders) is not taken over while it is still working."""

    def __init__(self, app: Flask, job_id: str, holder: str, lease: timedelta):
        self.app, self.job_id, self.holder, self.lease = app, job_id, holder, lease
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"lease-{job_id}", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=5)

    def _beat(self) -> None:

        while not self.stop.wait(self.lease.total_seconds() / 3):
            with self.app.app_context():
                try:
                    # On SQLite this waits while the job itself holds the write lock; a beat
                    # that times out is tried again, and the lease is three beats long.
                    job_leases.renew(self.job_id, self.holder, lease=self.lease)
                except Exception:
                    db.session.rollback()
                    log.info("could not renew the lease of job %s this time", self.job_id)
                finally:
                    db.session.remove()


def build_scheduler(app: Flask, *, blocking: bool = False):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    seconds = app.config["SCHEDULER_INTERVAL_SECONDS"]
    holder = new_holder()
    for job_id in JOBS:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=seconds,
            args=[app, job_id, holder],
            id=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
        )
    return scheduler


def start_scheduler(app: Flask):
    scheduler = build_scheduler(app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    log.info("scheduler started with jobs %s", ", ".join(JOBS))
    return scheduler
