"""/healthz and /readyz: the process is up; the database is reachable, at this release's
migration head, a scheduler is running the jobs and notifications are not piling up. Each
reason to be not ready is tried, and the public body never says more than ok/fail per check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.jobs import JOBS
from app.models import ChannelDelivery, JobRun, NotificationChannel, OutboxMessage
from app.services.ops.health import CHECKS
from tests.support.platform import isolated_client

STALE = 600
OUTBOX_MAX_AGE = 600


@pytest.fixture
def probe(app, frozen_clock):
    """A client for the probes, with this process "started" at the frozen now and every job
    just run, so each test breaks exactly one thing."""
    app.config["READY_SCHEDULER_STALE_SECONDS"] = STALE
    app.config["READY_OUTBOX_MAX_AGE_SECONDS"] = OUTBOX_MAX_AGE
    saved = app.extensions["groupbuy_started_at"]
    app.extensions["groupbuy_started_at"] = frozen_clock.now
    yield isolated_client(app)
    app.extensions["groupbuy_started_at"] = saved


def _jobs_ran(at, only=None):
    for job_id in only or JOBS:
        db.session.merge(
            JobRun(job_id=job_id, next_due_at=at, last_started_at=at, last_finished_at=at, last_holder="h:1:x", runs=1)
        )
    db.session.commit()


def _ready(client, query=""):
    response = client.get("/readyz" + query)
    body = response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    return response.status_code, body


def test_healthz_is_ok_without_asking_anything(probe):
    response = probe.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_ready_when_every_check_passes(probe, frozen_clock):
    _jobs_ran(frozen_clock.now)
    status, body = _ready(probe)
    assert status == 200
    assert body == {"status": "ok", "checks": dict.fromkeys(CHECKS, "ok")}


def test_database_unreachable_is_not_ready_and_says_nothing_more(tmp_path, monkeypatch):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    # Port 1 on loopback: the connection is refused at once.
    down = create_app(
        {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "SECRET_KEY": "x", "TESTING": True}
    )
    client = down.test_client()
    assert client.get("/healthz").status_code == 200  # alive, whatever the database does
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "fail", "checks": dict.fromkeys(CHECKS, "fail")}
    raw = response.get_data(as_text=True).lower()
    assert not any(word in raw for word in ("psycopg", "refused", "127.0.0.1", "postgres", "error"))


def test_migrations_behind_the_release_are_not_ready(probe, frozen_clock):
    _jobs_ran(frozen_clock.now)
    head = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    db.session.execute(text("UPDATE alembic_version SET version_num = '0013_job_leases'"))
    db.session.commit()
    try:
        status, body = _ready(probe)
    finally:
        db.session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
        db.session.commit()
    assert status == 503
    assert body["checks"] == {**dict.fromkeys(CHECKS, "ok"), "migrations": "fail"}
    assert _ready(probe)[0] == 200


def test_a_job_no_scheduler_has_run_for_too_long_is_not_ready(probe, frozen_clock):
    _jobs_ran(frozen_clock.now)
    frozen_clock.advance(seconds=STALE - 1)
    assert _ready(probe)[0] == 200
    # Every other job keeps running; one is left behind.
    _jobs_ran(frozen_clock.now, only=[j for j in JOBS if j != "close-windows"])
    frozen_clock.advance(seconds=2)
    status, body = _ready(probe)
    assert status == 503 and body["checks"]["scheduler"] == "fail"
    assert {k for k, v in body["checks"].items() if v == "fail"} == {"scheduler"}


def test_a_long_job_under_a_live_lease_is_not_stale(probe, frozen_clock):
    _jobs_ran(frozen_clock.now)
    frozen_clock.advance(seconds=STALE * 3)
    _jobs_ran(frozen_clock.now, only=[j for j in JOBS if j != "close-windows"])
    row = db.session.get(JobRun, "close-windows")
    row.holder, row.lease_until = "h:2:y", frozen_clock.now + timedelta(seconds=60)
    db.session.commit()
    assert _ready(probe)[0] == 200
    frozen_clock.advance(seconds=61)  # its holder died: the lease ran out, nobody took it over
    assert _ready(probe)[1]["checks"]["scheduler"] == "fail"


def test_a_fresh_install_waits_for_the_scheduler_then_says_it_is_missing(probe, frozen_clock):
    assert db.session.query(JobRun).count() == 0
    frozen_clock.advance(seconds=STALE - 1)
    assert _ready(probe)[0] == 200  # no job has run anywhere yet, and this process just started
    frozen_clock.advance(seconds=2)
    status, body = _ready(probe)
    assert status == 503 and body["checks"]["scheduler"] == "fail"


def test_outbox_messages_due_too_long_are_not_ready(probe, frozen_clock):
    _jobs_ran(frozen_clock.now)
    due = frozen_clock.now - timedelta(seconds=OUTBOX_MAX_AGE - 1)
    db.session.add(OutboxMessage(kind="test", payload={}, status="pending", next_attempt_at=due, created_at=due))
    db.session.commit()
    assert _ready(probe)[0] == 200
    frozen_clock.advance(seconds=2)
    _jobs_ran(frozen_clock.now)
    status, body = _ready(probe)
    assert status == 503 and body["checks"] == {**dict.fromkeys(CHECKS, "ok"), "outbox": "fail"}


def test_a_message_waiting_out_its_retry_backoff_is_not_a_backlog(probe, frozen_clock):
    _jobs_ran(frozen_clock.now)
    long_ago = frozen_clock.now - timedelta(days=1)
    later = frozen_clock.now + timedelta(minutes=30)
    db.session.add(OutboxMessage(kind="test", payload={}, status="pending", next_attempt_at=later, created_at=long_ago))
    db.session.add(OutboxMessage(kind="test", payload={}, status="failed", next_attempt_at=long_ago))
    db.session.commit()
    assert _ready(probe)[0] == 200


def test_channel_deliveries_due_too_long_are_not_ready(probe, frozen_clock, make_user):
    _jobs_ran(frozen_clock.now)
    user = make_user()
    channel = NotificationChannel(user_id=user.id, name="群", kind="json", url="https://example.com/hook")
    message = OutboxMessage(kind="test", payload={}, status="sent", next_attempt_at=frozen_clock.now)
    db.session.add_all([channel, message])
    db.session.flush()
    overdue = frozen_clock.now - timedelta(seconds=OUTBOX_MAX_AGE + 1)
    db.session.add(
        ChannelDelivery(outbox_id=message.id, channel_id=channel.id, status="sending", next_attempt_at=overdue)
    )
    db.session.commit()
    status, body = _ready(probe)
    assert status == 503 and body["checks"]["outbox"] == "fail"


def test_a_balancer_may_ask_only_for_this_hosts_own_checks(probe, frozen_clock):
    frozen_clock.advance(seconds=STALE + 1)  # no scheduler anywhere: a deployment-wide problem
    assert _ready(probe)[0] == 503
    status, body = _ready(probe, "?check=database&check=migrations")
    assert status == 200 and body == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


def test_an_unknown_check_is_a_clear_400(probe):
    response = probe.get("/readyz?check=disk")
    assert response.status_code == 400 and response.get_json()["error"] == "unknown check"
