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
