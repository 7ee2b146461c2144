"""/metrics: only for the configured addresses or the token (404 for everyone else), and its
figures move with requests, job runs, closes, rate-limit refusals and the outbox. Also the JSON
log lines of LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from app import jobs
from app.extensions import db
from app.log_format import JsonFormatter, formatter
from app.models import OutboxMessage
from app.services.closing import closing
from tests.conftest import PASSWORD, SECRET
from tests.support.forms import csrf_from
from tests.support.live_server import ROOT, free_port, stop_process
from tests.support.platform import isolated_client

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def scrape(app):
    """GET /metrics from loopback (the default allowed address); returns the samples as
    {(name, frozenset(labels.items())): value}."""
    app.config["METRICS_TOKEN"] = ""
    client = isolated_client(app)

    def get(**labels_filter):
        response = client.get("/metrics")
        assert response.status_code == 200, response.status_code
        samples = {}
        for family in text_string_to_metric_families(response.get_data(as_text=True)):
            for s in family.samples:
                samples[(s.name, frozenset(s.labels.items()))] = s.value
        return samples

    return get


def _value(samples, name, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# ---- who may read them


def _metrics(app, *, remote="127.0.0.1", headers=None):
    client = isolated_client(app)
    return client.get("/metrics", headers=headers or {}, environ_base={"REMOTE_ADDR": remote})


def test_metrics_answer_loopback_by_default(app):
    response = _metrics(app)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "groupbuy_http_request_duration_seconds" in response.get_data(as_text=True)


def test_metrics_are_a_404_for_other_addresses(app):
    assert _metrics(app, remote="203.0.113.5").status_code == 404
    assert _metrics(app, remote="10.0.0.7").status_code == 404


def test_configured_addresses_and_networks_may_read_them(app):
    app.config["METRICS_ALLOWED_ADDRESSES"] = "10.0.0.0/24, 2001:db8::1"
    assert _metrics(app, remote="10.0.0.7").status_code == 200
    assert _metrics(app, remote="2001:db8::1").status_code == 200
    assert _metrics(app, remote="127.0.0.1").status_code == 404  # loopback was not listed


def test_a_proxied_request_is_refused_even_from_an_allowed_address(app):
    # nginx on the same host connects from loopback; what it forwards is someone else's request.
    assert _metrics(app, headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 404
    assert _metrics(app, headers={"Forwarded": "for=127.0.0.1"}).status_code == 404


def test_the_token_opens_them_from_anywhere_and_a_wrong_one_from_nowhere(app):
    app.config["METRICS_TOKEN"] = TOKEN
    right = {"Authorization": f"Bearer {TOKEN}"}
    wrong = {"Authorization": "Bearer not-the-token"}
    assert _metrics(app, remote="203.0.113.5", headers=right).status_code == 200
    assert _metrics(app, remote="203.0.113.5", headers=wrong).status_code == 404
    assert _metrics(app, remote="127.0.0.1", headers=wrong).status_code == 404
    assert _metrics(app, remote="203.0.113.5", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 404


def test_without_a_configured_token_no_token_opens_them(app):
    app.config["METRICS_TOKEN"] = ""
    assert _metrics(app, remote="203.0.113.5", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_can_be_turned_off(app):
    app.config["METRICS_ENABLED"] = False
    assert _metrics(app).status_code == 404


def test_a_bad_allowed_address_stops_the_start(tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("METRICS_ALLOWED_ADDRESSES", "127.0.0.1,not-an-address")
    with pytest.raises(ValueError, match="METRICS_ALLOWED_ADDRESSES"):
        create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"})


# ---- what they count


def test_a_request_is_counted_under_its_endpoint_not_its_path(app, scrape):
    labels = {"endpoint": "api.get_order", "method": "GET", "status": "404"}
    before = _value(scrape(), "groupbuy_http_request_duration_seconds_count", **labels)
    isolated_client(app).get("/api/v1/orders/no-such-token-1")
    isolated_client(app).get("/api/v1/orders/no-such-token-2")
    samples = scrape()
    assert _value(samples, "groupbuy_http_request_duration_seconds_count", **labels) == before + 2
    assert not any("no-such-token" in str(key) for key in samples)


def test_a_rate_limit_refusal_is_counted(app, scrape, make_user):
    app.config["LOGIN_RATE_LIMIT"] = "2 per 5 minutes"
    before = _value(scrape(), "groupbuy_rate_limited_requests_total", endpoint="auth.login")
    client = isolated_client(app)
    user = make_user()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    wrong = {"login": user.phone, "password": PASSWORD + "x", "csrf_token": token}
    statuses = [client.post("/login", data=wrong).status_code for _ in range(3)]
    assert statuses[-1] == 429
    assert _value(scrape(), "groupbuy_rate_limited_requests_total", endpoint="auth.login") == before + 1


def test_a_job_run_and_its_failure_are_counted(app, scrape, monkeypatch):
    samples = scrape()
    ok_before = _value(samples, "groupbuy_job_runs_total", job="scan-stock", outcome="ok")
    failed_before = _value(samples, "groupbuy_job_runs_total", job="roll-up-sales", outcome="failed")
    jobs.run_job(app, "scan-stock", holder="test:1:a")

    def broken():
        raise RuntimeError("boom")

    real = jobs.resolve
    monkeypatch.setattr(jobs, "resolve", lambda job_id: broken if job_id == "roll-up-sales" else real(job_id))
    jobs.run_job(app, "roll-up-sales", holder="test:1:a")
    samples = scrape()
    assert _value(samples, "groupbuy_job_runs_total", job="scan-stock", outcome="ok") == ok_before + 1
    assert _value(samples, "groupbuy_job_runs_total", job="roll-up-sales", outcome="failed") == failed_before + 1
    assert _value(samples, "groupbuy_job_duration_seconds_count", job="scan-stock") >= 1
    # The deployment-wide view from job_runs, whichever process ran them.
    assert _value(samples, "groupbuy_jobs_recorded_runs_total", job="scan-stock") == 1
    assert _value(samples, "groupbuy_jobs_last_run_failed", job="scan-stock") == 0
    assert _value(samples, "groupbuy_jobs_last_run_failed", job="roll-up-sales") == 1
    assert _value(samples, "groupbuy_jobs_last_finished_timestamp_seconds", job="scan-stock") > 0


def test_a_window_close_is_timed(app, scrape, make_window):
    window = make_window(
        opens_at=datetime.now(UTC) - timedelta(hours=2), closes_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    before = _value(scrape(), "groupbuy_window_close_duration_seconds_count")
    assert closing.close_window(window.id) is not None
    assert closing.close_window(window.id) is None  # nothing closed: nothing timed
    assert _value(scrape(), "groupbuy_window_close_duration_seconds_count") == before + 1


def test_outbox_backlog_is_reported(app, scrape, frozen_clock):
    due = frozen_clock.now - timedelta(seconds=90)
    db.session.add_all(
        [
            OutboxMessage(kind="t", payload={}, status="pending", next_attempt_at=due),
            OutboxMessage(
                kind="t", payload={}, status="pending", next_attempt_at=frozen_clock.now + timedelta(hours=1)
            ),
            OutboxMessage(kind="t", payload={}, status="failed", next_attempt_at=due),
        ]
    )
    db.session.commit()
    samples = scrape()
    assert _value(samples, "groupbuy_outbox_pending_messages") == 2
    assert _value(samples, "groupbuy_outbox_failed_messages") == 1
    assert _value(samples, "groupbuy_outbox_oldest_due_seconds") == 90
    assert _value(samples, "groupbuy_channel_deliveries_pending") == 0
    assert _value(samples, "groupbuy_database_up") == 1


@pytest.mark.sqlite_only
def test_a_standalone_scheduler_serves_its_own_job_metrics(app, tmp_path):
    """`flask scheduler --metrics-port`: where the jobs run in their own processes."""
    port = free_port()
    env = {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": SECRET,
        "INSTANCE_PATH": str(tmp_path),
        "FLASK_APP": "app",
        "SCHEDULER_INTERVAL_SECONDS": "1",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "flask", "scheduler", "--metrics-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        text, deadline = "", time.monotonic() + 60
        while 'groupbuy_job_runs_total{job="scan-stock",outcome="ok"}' not in text and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except requests.ConnectionError:
                assert proc.poll() is None, "the scheduler exited"
    finally:
        stop_process(proc)
    assert 'groupbuy_job_runs_total{job="scan-stock",outcome="ok"}' in text
    assert 'groupbuy_job_duration_seconds_count{job="scan-stock"}' in text


# ---- structured logs


def test_json_log_lines_carry_time_level_logger_message_request_id_and_endpoint(app):
    record = logging.LogRecord(
        "app.services.closing.closing", logging.INFO, __file__, 1, "window %s closed", (7,), None
    )
    with app.test_request_context("/api/v1/me", headers={"X-Request-Id": "req-1234abcd"}):
        app.preprocess_request()
        line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "INFO" and line["logger"] == "app.services.closing.closing"
    assert line["message"] == "window 7 closed"
    assert line["request_id"] == "req-1234abcd" and line["endpoint"] == "api.me"
    assert datetime.fromisoformat(line["time"]).tzinfo is not None


def test_json_log_lines_outside_a_request_and_with_an_exception(app):  # noqa: ARG001
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        record = logging.getLogger("app.jobs").makeRecord(
            "app.jobs", logging.ERROR, __file__, 1, "job failed", (), sys.exc_info()
        )
    text = JsonFormatter().format(record)
    assert "\n" not in text  # one line, whatever the message holds
    line = json.loads(text)
    assert "request_id" not in line and "ValueError: bad" in line["exception"]


def test_a_forged_request_id_is_replaced(app):
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "hello", (), None)
    with app.test_request_context("/", headers={"X-Request-Id": 'x", "level": "CRITICAL'}):
        line = json.loads(JsonFormatter().format(record))
    assert len(line["request_id"]) == 16 and line["level"] == "INFO"


def test_log_format_is_text_or_json(app):  # noqa: ARG001
    assert isinstance(formatter("json"), JsonFormatter)
    assert not isinstance(formatter("text"), JsonFormatter)
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        formatter("xml")
