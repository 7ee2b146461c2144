"""`flask` commands for operators and tests: accounts, jobs run once, scheduler, server."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.jobs import JOBS, build_scheduler, run_job, start_scheduler
from app.services.accounts.accounts import create_leader, create_merchant, create_user
from app.services.core.errors import DomainError, ValidationFailed
from app.services.ops.backups import BackupRefused, check_restorable, restore_backup, sqlite_database, take_backup
from app.services.ops.demo import DemoRefused, seed_demo
from app.services.ops.job_leases import status

GIL_SWITCH_INTERVAL_S = 0.001


def _fail(exc: DomainError) -> None:
    detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    raise click.ClickException(f"{exc.message} {detail}".strip())


@click.command("create-admin")
@click.option("--name", required=True)
@click.option("--phone")
@click.option("--email")
@click.password_option()
@with_appcontext
def create_admin(name, phone, email, password):
    """Create a platform admin."""
    try:
        user = create_user(name, password, phone=phone, email=email, is_admin=True)
    except ValidationFailed as exc:
        _fail(exc)
    click.echo(f"admin {user.id} created")


@click.command("create-merchant")
@click.option("--name", required=True, help="Merchant name")
@click.option("--owner-name", required=True)
@click.option("--phone")
@click.option("--email")
@click.password_option()
@with_appcontext
def create_merchant_cmd(name, owner_name, phone, email, password):
    """Create a merchant with its owner user."""
    try:
        merchant = create_merchant(name, owner_name, password, owner_phone=phone, owner_email=email)
    except ValidationFailed as exc:
        _fail(exc)
    click.echo(f"merchant {merchant.id} created")


@click.command("create-leader")
@click.option("--community", required=True)
@click.option("--name", required=True)
@click.option("--phone")
@click.option("--email")
@click.password_option()
@with_appcontext
def create_leader_cmd(community, name, phone, email, password):
    """Create a leader with their user."""
    try:
        leader = create_leader(community, name, password, phone=phone, email=email)
    except ValidationFailed as exc:
        _fail(exc)
    click.echo(f"leader {leader.id} created")


@click.group("jobs", cls=AppGroup)
def jobs_group():
    """Run one scheduled job once."""


def _job_command(job_id: str) -> None:
    @jobs_group.command(job_id, help=f"Run the {job_id} job once.")
    def run_once():
        count = run_job(current_app._get_current_object(), job_id)
        click.echo(f"{job_id}: {count}")


for _job_id in JOBS:
    _job_command(_job_id)


@jobs_group.command("status")
def jobs_status():
    """Show each scheduled job's lease: who runs it now, when it is due, its last run."""
    rows = status()
    if not rows:
        click.echo("no scheduled job has run yet")
    for row in rows:
        running = f"running on {row['holder']} until {row['lease_until']:%H:%M:%S}" if row["holder"] else "idle"
        last = "never finished"
        if row["last_finished_at"]:
            last = f"last {row['last_finished_at']:%Y-%m-%d %H:%M:%S} on {row['last_holder']}: {row['last_result']}"
        error = f"  error: {row['last_error']}" if row["last_error"] else ""
        click.echo(
            f"{row['job_id']:<24} {running}; due {row['next_due_at']:%H:%M:%S}; runs {row['runs']}; {last}{error}"
        )


@click.command("scheduler")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    envvar="SCHEDULER_METRICS_PORT",
    help="Serve this process's Prometheus metrics (job runs and durations, closes) on this port.",
)
@click.option(
    "--metrics-address",
    default="127.0.0.1",
    envvar="SCHEDULER_METRICS_ADDRESS",
    show_default=True,
    help="The address that port listens on: only who can reach it can read the metrics.",
)
@with_appcontext
def scheduler_cmd(metrics_port, metrics_address):
    """Run the scheduler as a standalone process (no web server)."""
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_address)
        click.echo(f"metrics on http://{metrics_address}:{metrics_port}/metrics")
    click.echo("scheduler running; Ctrl-C to stop")
    build_scheduler(current_app._get_current_object(), blocking=True).start()


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--threads", default=8, type=int)
@click.option("--scheduler/--no-scheduler", default=True)
@with_appcontext
def serve_cmd(host, port, threads, scheduler):
    """Serve the app with waitress, with the scheduler inside the process."""
    from waitress import serve

    app_obj = current_app._get_current_object()
    if scheduler and "scheduler" not in app_obj.extensions:
        start_scheduler(app_obj)
    # Shorter GIL slices (Python's default is 5 ms): a request that holds SQLite's write lock
    # then waits at most about a millisecond per other busy thread to run again, instead of
    # 5 ms, so the writers queued behind it move on sooner. Measured in bench/redeem.py.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    click.echo(f"serving on http://{host}:{port}")
    # waitress 3 drops X-Forwarded-* headers unless told which proxies to trust; the app's
    # own TRUSTED_PROXIES (werkzeug's ProxyFix, app/__init__.py) decides that instead, so
    # behind a proxy the headers must reach it, or every client looks like the proxy.
    trusting = app_obj.config["TRUSTED_PROXIES"] > 0
    serve(
        app_obj,
        host=host,
        port=port,
        threads=threads,
        ident="groupbuy",
        clear_untrusted_proxy_headers=not trusting,
    )


@click.command("seed-demo")
@with_appcontext
def seed_demo_cmd():
    """Seed demo data into an empty database, all or nothing, and print the logins
    (re-running keeps existing data)."""
    try:
        lines = seed_demo()
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    except DomainError as exc:  # a service refused something: the seed is wrong, not the data
        click.echo("The demo could not be seeded; nothing was written.", err=True)
        _fail(exc)
    for line in lines:
        click.echo(line)


@click.command("backup")
# A str, not a Path: a Path would drop the trailing slash that says "a folder".
@click.argument("path", required=False, type=click.Path(dir_okay=True))
@with_appcontext
def backup_cmd(path):
    """Copy the SQLite database while the app keeps running, then verify the copy.

    PATH: a new file, or a folder for a file named groupbuy-YYYYmmdd-HHMMSS.sqlite3 (UTC);
    a PATH ending in / is a folder, created if missing; default instance/backups/. An
    existing file is never replaced.
    """
    try:
        info = take_backup(path)
    except BackupRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backup written: {info.path}")
    _describe_backup(info)


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Really replace the database (the app and schedulers are stopped).")
@with_appcontext
def restore_cmd(path, yes):
    """Replace the SQLite database with a backup, keeping the current one beside it.

    Without --yes only checks the backup. Stop the app and every scheduler first.
    """
    try:
        database = sqlite_database()
        info = check_restorable(path)
        if not yes:
            click.echo(f"{path} is a valid backup:")
            _describe_backup(info)
            raise BackupRefused(
                f"Restoring replaces {database}. Stop the app and every scheduler first, "
                "then run the same command with --yes."
            )
        restored = restore_backup(path)
    except BackupRefused as exc:
        raise click.ClickException(str(exc)) from None
    if restored.kept:
        click.echo(f"the database as it was is kept as {restored.kept}")
    click.echo(f"restored {path} into {database}")
    _describe_backup(restored.database)


COMMANDS = (
    create_admin,
    create_merchant_cmd,
    create_leader_cmd,
    jobs_group,
    scheduler_cmd,
    serve_cmd,
    seed_demo_cmd,
    backup_cmd,
    restore_cmd,
)


def register(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)


def _describe_backup(info) -> None:
    click.echo(f"  size: {info.size:,} bytes")
    click.echo(f"  orders: {info.orders:,}")
    if info.schema == "older":
        click.echo(f"  revision: {info.revision} (older than this release: run `flask db upgrade` after restoring)")
    else:
        click.echo(f"  revision: {info.revision} ({info.schema})")
