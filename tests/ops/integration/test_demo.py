"""`flask seed-demo`: the whole loop at any hour in any zone, all or nothing, an empty database only.

Seeding takes seconds, so real seeds run at the hours that used to fail (01:00-02:00 local, when
the history's last window straddles midnight) and on a daylight-saving change;
tests/ops/unit/test_demo_timeline.py walks every hour of the day on the times alone.
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.engine import _mutex_for, sqlite_begin_mode
from app.extensions import db
from app.models import (
    DeliveryBatch,
    Leader,
    Order,
    Payment,
    PickupCode,
    PickupPoint,
    Product,
    SalesDaily,
    User,
    Window,
)
from app.services.closing import closing
from app.services.core import clock
from app.services.core.errors import ValidationFailed
from app.services.ops.demo import seed_demo
from app.services.ops.demo_timeline import HISTORY_DAYS
from tests.support.forms import csrf_from


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _rows_in_every_table() -> dict[str, int]:
    counts = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
    return {name: n for name, n in counts.items() if n}


def _seed_at(app, zone: str, local: datetime) -> None:
    """Run the seed's clock at `local` wall time in `zone`, the deployment's zone."""
    moment = local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    app.config["TIMEZONE"] = zone
    app.config["CLOCK"] = lambda: moment


def _assert_whole_loop() -> None:
    assert _count(Product) == 20 and _count(Leader) == 2 and _count(PickupPoint) == 3
    # The open window, the one that closed an hour ago, and two weeks of daily group buys.
    assert _count(Window, Window.status == "open") == 1
    assert _count(Window, Window.status == "closed") == 1 + HISTORY_DAYS
    assert _count(Order, Order.status == "cancelled") == 1  # the unpaid order, cancelled at close
    assert _count(DeliveryBatch, DeliveryBatch.status == "arrived") == 1
    # The history was delivered and collected: every batch done, every order completed.
    history = select(Window.id).where(Window.title.like("每日鲜果团%"))
    assert _count(DeliveryBatch, DeliveryBatch.window_id.in_(history), DeliveryBatch.status != "done") == 0
    assert _count(Order, Order.window_id.in_(history), Order.status != "completed") == 0
    assert _count(Order, Order.window_id.in_(history)) >= 2 * HISTORY_DAYS
    # ...and the sales reports already show it.
    assert _count(Payment, Payment.summarized.is_(False)) == 0
    assert db.session.scalar(select(func.sum(SalesDaily.orders_count))) == _count(Payment, Payment.late.is_(False))
    assert _count(PickupCode, PickupCode.status == "issued") == _count(
        Order, Order.status.in_(["confirmed", "ready_for_pickup"])
    )
    for window in db.session.scalars(select(Window)):
        assert window.pickup_date >= clock.to_local(window.closes_at).date(), window.title


@pytest.mark.parametrize(
    ("zone", "local"),
    [
        ("UTC", datetime(2026, 11, 22, 1, 59)),
        # Fall back: the history's fortnight spans the change, and 01:30 happens twice.
        ("America/Los_Angeles", datetime(2026, 11, 1, 1, 30)),
    ],
)
def test_demo_seed_builds_the_whole_loop_once_at_the_hour_past_local_midnight(app, client, zone, local):
    _seed_at(app, zone, local)
    lines = seed_demo()
    assert "Demo data seeded." in lines and any("13800000004" in line for line in lines)
    _assert_whole_loop()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"login": "13800000004", "password": "groupbuy123", "csrf_token": token})
    assert response.headers["Location"].endswith("/pickup/")  # the printed logins work
    before = {m.__name__: _count(m) for m in (User, Product, Order, Window)}
    again = seed_demo()
    assert again[0].startswith("Demo data already present")
    assert {m.__name__: _count(m) for m in (User, Product, Order, Window)} == before


def test_demo_seed_failing_half_way_leaves_an_empty_database_and_the_next_run_seeds_it_whole(
    app, engine_name, monkeypatch
):
    # 01:00 in Shanghai, the first minute of the hour that used to fail, as the CLI begins
    # (BEGIN IMMEDIATE on SQLite, holding the writers' lock).
    _seed_at(app, "Asia/Shanghai", datetime(2026, 11, 22, 1, 0))
    token = sqlite_begin_mode.set("IMMEDIATE")
    real_close, closes = closing.close_window, []

    def close_then_fail(window_id):
        closes.append(window_id)
        if len(closes) == 7:  # half-way through the history: orders paid, batches collected
            raise ValidationFailed("The disk is full.")
        return real_close(window_id)

    monkeypatch.setattr(closing, "close_window", close_then_fail)
    try:
        failed = app.test_cli_runner().invoke(args=["seed-demo"])
        assert failed.exit_code != 0 and "nothing was written" in failed.output
        assert "The disk is full." in failed.output
        if engine_name == "sqlite":
            assert not _mutex_for(db.engine.url.database).locked()  # the failed seed let go of the lock
        assert _rows_in_every_table() == {}
        db.session.rollback()  # this test's own read holds the lock too (IMMEDIATE)
        monkeypatch.setattr(closing, "close_window", real_close)

        again = app.test_cli_runner().invoke(args=["seed-demo"])
    finally:
        sqlite_begin_mode.reset(token)
    assert again.exit_code == 0, again.output
    assert "Demo data seeded." in again.output
    _assert_whole_loop()


def test_demo_is_not_seeded_beside_other_accounts(app, make_user):
    make_user("店主", phone="13912345678")
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "seeded only into an empty one" in result.output and "groupbuy123" not in result.output
    assert _count(User) == 1 and _count(Window) == 0


def test_half_seeded_demo_from_an_earlier_release_says_how_to_start_again(app, make_user):
    # What a seed that failed at 01:00 left behind before seeds were all or nothing: the demo's
    # accounts and no group buy. Saying "already present" would keep it like that for good.
    make_user("平台管理员", phone="13800000000", is_admin=True)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "only part of the demo" in result.output and "empty database" in result.output
    assert _count(User) == 1 and _count(Window) == 0
