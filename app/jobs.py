"""APScheduler wiring. Each job calls one service, has a stable id, and is safe to re-run:
two schedulers (web process + `flask scheduler`) may both run and still do the work once."""

from __future__ import annotations

import importlib
import logging

from flask import Flask

log = logging.getLogger(__name__)

# job id -> "module:function". Every function takes no arguments and returns a count.
JOBS: dict[str, str] = {
    "open-windows": "app.services.windows:open_due_windows",
    "close-windows": "app.services.closing:close_due_windows",
    "scan-stock": "app.services.stock:scan_stock_alerts",
    "announce-closing-soon": "app.services.window_reminders:announce_closing_soon",
    "notify-uncollected": "app.services.uncollected:notify_overdue",
    "build-documents": "app.services.document_jobs:build_documents",
    "apply-listing-schedule": "app.services.listing_schedule:apply_listing_schedule",
    "roll-up-sales": "app.services.sales_rollup:roll_up_sales",
    "deliver-outbox": "app.services.notifications:deliver_outbox",
    "deliver-channels": "app.services.channel_delivery:deliver_channels",
}


def resolve(job_id: str):
    module_name, func_name = JOBS[job_id].split(":")
    return getattr(importlib.import_module(module_name), func_name)


def run_job(app: Flask, job_id: str) -> int:
    """Run one job in its own app context; errors are logged, not raised into the scheduler."""
    with app.app_context():
        from app.extensions import db

        try:
            return resolve(job_id)()
        except Exception:
            db.session.rollback()
            log.exception("job %s failed; it will run again on the next tick", job_id)
            return 0
        finally:
            db.session.remove()


def build_scheduler(app: Flask, *, blocking: bool = False):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone="UTC")
    seconds = app.config["SCHEDULER_INTERVAL_SECONDS"]
    for job_id in JOBS:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=seconds,
            args=[app, job_id],
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
