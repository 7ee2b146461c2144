"""Scheduled jobs coordinate through their lease rows: a due job runs in one process, once per
interval, and a process that dies holding a job frees it when its lease runs out."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from app import jobs
from app.extensions import db
from app.models import JobRun
from app.services.ops import job_leases

LEASE = timedelta(seconds=120)
INTERVAL = timedelta(seconds=15)


def _row(job_id="close-windows") -> JobRun:
    db.session.expire_all()
    return db.session.scalars(select(JobRun).where(JobRun.job_id == job_id)).one()


def test_the_first_claim_creates_the_row_and_a_second_holder_finds_it_taken(app, frozen_clock):
    assert job_leases.claim("close-windows", "host-a:1:x", lease=LEASE) == frozen_clock.now
    assert job_leases.claim("close-windows", "host-b:2:y", lease=LEASE) is None
    row = _row()
    assert row.holder == "host-a:1:x"
    assert row.lease_until == frozen_clock.now + LEASE


def test_a_finished_job_is_due_again_one_interval_after_it_started(app, frozen_clock):
    started = job_leases.claim("scan-stock", "a", lease=LEASE)
    frozen_clock.advance(seconds=3)
    assert job_leases.finish("scan-stock", "a", started, interval=INTERVAL, result=4)
    row = _row("scan-stock")
    assert (row.holder, row.lease_until, row.runs, row.last_result, row.last_holder) == (None, None, 1, 4, "a")

    frozen_clock.advance(seconds=5)  # 8 s after the start: not due for anyone
    assert job_leases.claim("scan-stock", "b", lease=LEASE) is None
    frozen_clock.advance(seconds=7)  # the next tick, a full interval after the start
    assert job_leases.claim("scan-stock", "b", lease=LEASE) is not None


def test_the_next_tick_of_a_lone_scheduler_finds_the_job_due_despite_its_own_delay(app, frozen_clock):
    started = job_leases.claim("scan-stock", "a", lease=LEASE)
    frozen_clock.advance(milliseconds=20)  # the claim's timestamp lags the tick a little
    job_leases.finish("scan-stock", "a", started + timedelta(milliseconds=20), interval=INTERVAL, result=0)
    frozen_clock.advance(seconds=15)
    frozen_clock.now -= timedelta(milliseconds=40)  # the next tick fires on the tick, not on the claim
    assert job_leases.claim("scan-stock", "a", lease=LEASE) is not None


def test_a_holder_that_died_frees_the_job_when_its_lease_runs_out(app, frozen_clock):
    started = job_leases.claim("close-windows", "dead", lease=LEASE)
    frozen_clock.advance(seconds=119)
    assert job_leases.claim("close-windows", "alive", lease=LEASE) is None
    frozen_clock.advance(seconds=1)
    assert job_leases.claim("close-windows", "alive", lease=LEASE) is not None
    # The dead one's late hand-back (it was only slow) must not undo the new holder's claim.
    assert not job_leases.finish("close-windows", "dead", started, interval=INTERVAL, result=1)
    assert _row().holder == "alive"


def test_only_the_holder_renews_a_lease(app, frozen_clock):
    job_leases.claim("close-windows", "a", lease=LEASE)
    frozen_clock.advance(seconds=100)
    assert not job_leases.renew("close-windows", "b", lease=LEASE)
    assert job_leases.renew("close-windows", "a", lease=LEASE)
    assert _row().lease_until == frozen_clock.now + LEASE


def test_two_schedulers_ticking_together_run_a_due_job_once(app, frozen_clock, monkeypatch):
    calls = []
    monkeypatch.setattr(jobs, "resolve", lambda job_id: lambda: calls.append(job_id) or 7)
    assert jobs.run_job(app, "close-windows", "host-a:1:x") == 7
    assert jobs.run_job(app, "close-windows", "host-b:2:y") == 0
    frozen_clock.advance(seconds=15)
    assert jobs.run_job(app, "close-windows", "host-b:2:y") == 7
    assert calls == ["close-windows", "close-windows"]
    assert _row().runs == 2
    # An operator's `flask jobs close-windows` runs at once, whatever the lease says.
    assert jobs.run_job(app, "close-windows") == 7
    assert len(calls) == 3


def test_a_failing_job_records_its_error_and_is_handed_back(app, frozen_clock, monkeypatch):
    def broken():
        raise RuntimeError("disk full")

    monkeypatch.setattr(jobs, "resolve", lambda _job_id: broken)
    assert jobs.run_job(app, "build-documents", "a") == 0
    row = _row("build-documents")
    assert row.holder is None
    assert row.last_error == "RuntimeError: disk full"
    frozen_clock.advance(seconds=15)
    assert job_leases.claim("build-documents", "b", lease=LEASE) is not None


def test_status_lists_every_job_that_has_run(app, frozen_clock):
    job_leases.claim("scan-stock", "a", lease=LEASE)
    job_leases.claim("close-windows", "b", lease=LEASE)
    rows = job_leases.status()
    assert [(r["job_id"], r["holder"]) for r in rows] == [("close-windows", "b"), ("scan-stock", "a")]


def test_racing_claims_from_many_threads_have_one_winner(app, frozen_clock):
    racers = 8
    start = threading.Barrier(racers)
    won: list[str] = []

    def race(name: str) -> None:
        with app.app_context():
            start.wait()
            try:
                if job_leases.claim("roll-up-sales", name, lease=LEASE) is not None:
                    won.append(name)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=race, args=(f"t{i}",)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert _row("roll-up-sales").holder == won[0]
