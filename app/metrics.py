"""Prometheus metrics (prometheus_client): the metric objects, the request timer, and the text
that /metrics serves.

Two kinds of figures:
- Counted in the process where things happen: request latency by Flask endpoint (never the raw
  path, so ids do not explode the series), Flask-Limiter refusals, job runs and close durations.
  Under gunicorn each worker is its own process: with PROMETHEUS_MULTIPROC_DIR set (before the
  app is imported) every worker writes its figures to files there and /metrics sums them
  (prometheus_client's multiprocess mode; deploy/gunicorn.conf.py clears the folder on start).
- Read from the database at scrape time, the same on every host: the outbox and channel
  delivery backlog and each job's last run as `job_runs` records it, whichever scheduler
  process on whichever host ran it.
"""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY

from app.services.ops import health

log = logging.getLogger(__name__)

_LONG_BUCKETS = (0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

REQUEST_SECONDS = Histogram(
    "groupbuy_http_request_duration_seconds",
    "Time from the first before_request hook to the response, by Flask endpoint.",
    ("endpoint", "method", "status"),
)
RATE_LIMITED = Counter(
    "groupbuy_rate_limited_requests_total", "Requests refused by a rate limit (Flask-Limiter's 429).", ("endpoint",)
)
JOB_RUNS = Counter(
    "groupbuy_job_runs_total", "Scheduled job runs in this process, by outcome (ok or failed).", ("job", "outcome")
)
JOB_SECONDS = Histogram(
    "groupbuy_job_duration_seconds", "Duration of scheduled job runs in this process.", ("job",), buckets=_LONG_BUCKETS
)
_START_ATTR = "_metrics_started"
UNMATCHED = "none"  # the endpoint label of requests no rule matched (404, 405)


def instrument(app: Flask) -> None:
    """Time every request. Call before anything else registers a before_request hook, so an
    earlier hook that answers by itself (CSRF, a rate limit) is timed too."""

    @app.before_request
    def _start_timer():
        setattr(g, _START_ATTR, time.perf_counter())

    @app.after_request
    def _observe(response):
        started = g.pop(_START_ATTR, None)
        if started is not None:
            REQUEST_SECONDS.labels(request.endpoint or UNMATCHED, request.method, str(response.status_code)).observe(
                time.perf_counter() - started
            )
        return response


def count_rate_limited() -> None:
    RATE_LIMITED.labels(request.endpoint or UNMATCHED).inc()


class _DatabaseFigures:
    """Collector read at scrape time, inside the /metrics request's app context."""

    def __init__(self, job_ids: tuple[str, ...]):
        self.job_ids = job_ids

    def collect(self):

        up = GaugeMetricFamily("groupbuy_database_up", "1 if /metrics could read the database.")
        try:
            backlog = health.backlog()
            jobs = health.job_states()
        except Exception as exc:  # a scrape during an outage still answers, saying so
            log.warning("metrics: database figures unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _backlog_families(backlog)
        yield from _job_families(jobs)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _backlog_families(b):
    yield _gauge("groupbuy_outbox_pending_messages", "Outbox messages waiting to be delivered.", b.outbox_pending)
    yield _gauge("groupbuy_outbox_failed_messages", "Outbox messages that gave up after every retry.", b.outbox_failed)
    yield _gauge(
        "groupbuy_outbox_oldest_due_seconds",
        "How long the longest-waiting due outbox message has been due (0: none).",
        b.outbox_oldest_due_s,
    )
    yield _gauge(
        "groupbuy_channel_deliveries_pending", "Robot, webhook and push deliveries waiting.", b.deliveries_pending
    )
    yield _gauge("groupbuy_channel_deliveries_failed", "Channel deliveries that gave up.", b.deliveries_failed)
    yield _gauge(
        "groupbuy_channel_delivery_oldest_due_seconds",
        "How long the longest-waiting due channel delivery has been due (0: none).",
        b.deliveries_oldest_due_s,
    )


def _job_families(jobs):
    runs = CounterMetricFamily(
        "groupbuy_jobs_recorded_runs", "Finished runs of each job by any scheduler (job_runs.runs).", labels=["job"]
    )
    finished = GaugeMetricFamily(
        "groupbuy_jobs_last_finished_timestamp_seconds", "When the job last finished (Unix time).", labels=["job"]
    )
    duration = GaugeMetricFamily("groupbuy_jobs_last_duration_seconds", "Duration of the last run.", labels=["job"])
    failed = GaugeMetricFamily("groupbuy_jobs_last_run_failed", "1 if the job's last run raised.", labels=["job"])
    running = GaugeMetricFamily("groupbuy_jobs_running", "1 while a scheduler holds the job's lease.", labels=["job"])
    for job in jobs:
        runs.add_metric([job.job_id], job.runs)
        if job.last_finished_at is not None:
            finished.add_metric([job.job_id], job.last_finished_at.timestamp())
        if job.last_duration_s is not None:
            duration.add_metric([job.job_id], job.last_duration_s)
        failed.add_metric([job.job_id], int(job.last_failed))
        running.add_metric([job.job_id], int(job.running))
    yield from (runs, finished, duration, failed, running)


class _ThisProcess:
    """The default registry's collectors (ours and the process/GC ones), without duplicating
    its name checks in the per-scrape registry."""

    def collect(self):
        return REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(job_ids: tuple[str, ...]) -> bytes:
    """The text format of every metric, for /metrics (call inside an app context)."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_DatabaseFigures(job_ids))
    return generate_latest(registry)
