"""`flask` commands for operators and tests: accounts, jobs run once, scheduler, server."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app

from app.services.errors import ValidationFailed

GIL_SWITCH_INTERVAL_S = 0.001


def _fail(exc: ValidationFailed) -> None:
    detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    raise click.ClickException(f"{exc.message} {detail}".strip())


def register(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--name", required=True)
    @click.option("--phone")
    @click.option("--email")
    @click.password_option()
    def create_admin(name, phone, email, password):
        """Create a platform admin."""
        from app.services.accounts import create_user

        try:
            user = create_user(name, password, phone=phone, email=email, is_admin=True)
        except ValidationFailed as exc:
            _fail(exc)
        click.echo(f"admin {user.id} created")

    @app.cli.command("create-merchant")
    @click.option("--name", required=True, help="Merchant name")
    @click.option("--owner-name", required=True)
    @click.option("--phone")
    @click.option("--email")
    @click.password_option()
    def create_merchant_cmd(name, owner_name, phone, email, password):
        """Create a merchant with its owner user."""
        from app.services.accounts import create_merchant

        try:
            merchant = create_merchant(name, owner_name, password, owner_phone=phone, owner_email=email)
        except ValidationFailed as exc:
            _fail(exc)
        click.echo(f"merchant {merchant.id} created")

    @app.cli.command("create-leader")
    @click.option("--community", required=True)
    @click.option("--name", required=True)
    @click.option("--phone")
    @click.option("--email")
    @click.password_option()
    def create_leader_cmd(community, name, phone, email, password):
        """Create a leader with their user."""
        from app.services.accounts import create_leader

        try:
            leader = create_leader(community, name, password, phone=phone, email=email)
        except ValidationFailed as exc:
            _fail(exc)
        click.echo(f"leader {leader.id} created")

    from app.jobs import JOBS

    @app.cli.group("jobs")
    def jobs_group():
        """Run one scheduled job once."""

    def make_job_command(job_id: str):
        @jobs_group.command(job_id)
        def run_once():
            from app.jobs import run_job

            count = run_job(current_app._get_current_object(), job_id)
            click.echo(f"{job_id}: {count}")

        run_once.__doc__ = f"Run the {job_id} job once."

    for job_id in JOBS:
        make_job_command(job_id)

    @app.cli.command("scheduler")
    def scheduler_cmd():
        """Run the scheduler as a standalone process (no web server)."""
        from app.jobs import build_scheduler

        click.echo("scheduler running; Ctrl-C to stop")
        build_scheduler(current_app._get_current_object(), blocking=True).start()

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    @click.option("--threads", default=8, type=int)
    @click.option("--scheduler/--no-scheduler", default=True)
    def serve_cmd(host, port, threads, scheduler):
        """Serve the app with waitress, with the scheduler inside the process."""
        from waitress import serve

        app_obj = current_app._get_current_object()
        if scheduler and "scheduler" not in app_obj.extensions:
            from app.jobs import start_scheduler

            start_scheduler(app_obj)
        # Shorter GIL slices (Python's default is 5 ms): a request that holds SQLite's write lock
        # then waits at most about a millisecond per other busy thread to run again, instead of
        # 5 ms, so the writers queued behind it move on sooner. Measured in bench/redeem.py.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
        click.echo(f"serving on http://{host}:{port}")
        serve(app_obj, host=host, port=port, threads=threads, ident="groupbuy")

    @app.cli.command("seed-demo")
    def seed_demo_cmd():
        """Seed demo data once and print the logins (re-running keeps existing data)."""
        from app.services.demo import seed_demo

        for line in seed_demo():
            click.echo(line)
