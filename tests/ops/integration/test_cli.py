import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from app.extensions import db
from app.models import Leader, Merchant, User


def test_create_admin_command_makes_an_admin(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--name", "Ops", "--phone", "13600000001", "--password", "long-enough-1"]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.phone == "13600000001")).is_admin


def test_create_merchant_and_leader_commands(app):
    runner = app.test_cli_runner()
    r1 = runner.invoke(
        args=[
            "create-merchant",
            "--name",
            "鲜果坊",
            "--owner-name",
            "王",
            "--phone",
            "13600000002",
            "--password",
            "long-enough-1",
        ]
    )
    r2 = runner.invoke(
        args=[
            "create-leader",
            "--community",
            "阳光小区",
            "--name",
            "李",
            "--phone",
            "13600000003",
            "--password",
            "long-enough-1",
        ]
    )
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    assert db.session.scalar(select(Merchant.name)) == "鲜果坊"
    assert db.session.scalar(select(Leader.community_name)) == "阳光小区"


def test_cli_bad_input_fails_clearly_and_writes_nothing(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-merchant", "--name", "X", "--owner-name", "Y", "--phone", "123", "--password", "long-enough-1"]
    )
    assert result.exit_code != 0 and "phone" in result.output
    assert db.session.scalar(select(Merchant)) is None
    short = runner.invoke(args=["create-admin", "--name", "A", "--phone", "13600000004", "--password", "short"])
    assert short.exit_code != 0 and db.session.scalar(select(User)) is None


def test_every_job_has_a_run_once_command(app):
    from app.jobs import JOBS

    runner = app.test_cli_runner()
    for job_id in JOBS:
        result = runner.invoke(args=["jobs", job_id])
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"{job_id}: ")


def test_jobs_status_shows_who_holds_each_job_and_its_last_run(app, frozen_clock):
    from datetime import timedelta

    from app.services.ops import job_leases

    runner = app.test_cli_runner()
    assert "no scheduled job has run yet" in runner.invoke(args=["jobs", "status"]).output
    started = job_leases.claim("scan-stock", "host-a:11:ab", lease=timedelta(seconds=120))
    job_leases.finish("scan-stock", "host-a:11:ab", started, interval=timedelta(seconds=15), result=3)
    job_leases.claim("close-windows", "host-b:22:cd", lease=timedelta(seconds=120))
    out = runner.invoke(args=["jobs", "status"]).output
    close_line, scan_line = out.splitlines()
    assert close_line.startswith("close-windows") and "running on host-b:22:cd until 02:02:00" in close_line
    assert scan_line.startswith("scan-stock") and "idle" in scan_line and "on host-a:11:ab: 3" in scan_line


# `flask serve` for real up to the point of listening: waitress.serve() runs (and with it the
# logging.basicConfig() it calls), its server is a stand-in that logs one line of ours and returns.
SERVE_ONE_LINE = """
import logging, sys
import waitress

class Server:
    def __init__(self, app, **_kw):
        pass

    def print_listen(self, _fmt):
        pass

    def run(self):
        logging.getLogger("app.jobs").info("probe: a line of ours")

waitress.create_server = Server
from flask.cli import main
sys.argv = ["flask", "serve", "--no-scheduler"]
main()
"""


def test_flask_serve_logs_each_line_once(tmp_path):
    env = {
        **os.environ,
        "FLASK_APP": "app",
        "INSTANCE_PATH": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        "SECRET_KEY": "test-secret",
        "SCHEDULER_ENABLED": "0",
        "LOG_LEVEL": "INFO",
    }
    done = subprocess.run(
        [sys.executable, "-c", SERVE_ONE_LINE],
        cwd=Path(__file__).resolve().parents[3],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("probe: a line of ours") == 1, done.stderr
    assert "INFO app.jobs: probe: a line of ours" in done.stderr  # in our format, at LOG_LEVEL
