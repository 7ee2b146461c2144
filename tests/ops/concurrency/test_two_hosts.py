"""Two app hosts on different ports against one PostgreSQL, each running its own scheduler,
as a scaled-out deployment runs them: due windows close exactly once, pickup codes are unique,
and rate limits are counted once for both hosts through the shared Redis."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import DeliveryBatch, JobRun, Order, OrderEvent, OutboxMessage, PickupCode, Window
from tests.conftest import SECRET
from tests.support import engines
from tests.support.batches import place
from tests.support.forms import csrf_from
from tests.support.live_server import FromAddress, LiveServer

pytestmark = pytest.mark.postgresql_only

WINDOWS = 6
ORDERS_PER_WINDOW = 12
LOGIN_LIMIT = 3
ACCOUNT_LIMIT = 4


@pytest.fixture
def two_hosts(app, tmp_path):
    """Both hosts with a scheduler ticking every second, rate limits on, one Redis."""
    redis_url = engines.require_redis()
    env = {
        "REDIS_URL": redis_url,
        "RATELIMIT_ENABLED": "1",
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # nothing left from an earlier run counts
        "LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT} per 10 minutes",
        "LOGIN_ACCOUNT_RATE_LIMIT": f"{ACCOUNT_LIMIT} per 10 minutes",
        "SCHEDULER_INTERVAL_SECONDS": "1",
    }
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    hosts = []
    try:
        for n in range(2):
            (tmp_path / f"host-{n}").mkdir()
            hosts.append(LiveServer(url, SECRET, str(tmp_path / f"host-{n}"), threads=4, scheduler=True, env=env))
        yield hosts
    finally:
        for host in hosts:
            host.stop()


def _due_windows(make_merchant, make_product, make_window, make_point, make_order):
    merchant = make_merchant()
    product = make_product(merchant, stock=10_000)
    points = [make_point() for _ in range(3)]
    now = datetime.now(UTC)
    order_ids = {}
    for _window in range(WINDOWS):
        window = make_window(
            merchant,
            items=[{"product": product, "min_group": 1}],
            opens_at=now - timedelta(hours=2),
            closes_at=now + timedelta(days=1),
        )
        (item,) = window.items
        order_ids[window.id] = [
            place(make_order, window, points[i % 3], [(item, 1 + i % 2)]).id for i in range(ORDERS_PER_WINDOW)
        ]
    # Every window reaches its cut-off at once, while both schedulers tick.
    db.session.execute(update(Window).where(Window.id.in_(order_ids)).values(closes_at=datetime.now(UTC)))
    db.session.commit()
    return order_ids


def _wait_until_closed(window_ids, timeout=90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()
        if not db.session.scalar(select(func.count()).where(Window.id.in_(window_ids), Window.status != "closed")):
            return
        time.sleep(0.2)
    pytest.fail("the schedulers did not close every due window")


def test_two_hosts_with_schedulers_close_each_due_window_exactly_once(
    app, two_hosts, make_merchant, make_product, make_window, make_point, make_order
):
    order_ids = _due_windows(make_merchant, make_product, make_window, make_point, make_order)
    all_orders = [oid for ids in order_ids.values() for oid in ids]
    _wait_until_closed(list(order_ids))
    time.sleep(3)  # several more ticks of both schedulers: nothing may happen twice

    db.session.rollback()
    statuses = Counter(db.session.scalars(select(Order.status).where(Order.id.in_(all_orders))))
    assert statuses == Counter({"confirmed": len(all_orders)})
    moves = Counter(
        db.session.scalars(
            select(OrderEvent.order_id).where(OrderEvent.actor == "system:close", OrderEvent.to_status == "confirmed")
        )
    )
    assert moves == Counter(all_orders)  # each order confirmed by one close, once
    codes = list(db.session.scalars(select(PickupCode.code).where(PickupCode.order_id.in_(all_orders))))
    assert len(codes) == len(all_orders) and len(set(codes)) == len(codes)
    batches = db.session.execute(select(DeliveryBatch.window_id, func.count()).group_by(DeliveryBatch.window_id)).all()
    assert dict(batches) == {window_id: 3 for window_id in order_ids}  # one per pickup point
    closed_notices = db.session.scalar(select(func.count()).where(OutboxMessage.kind == "window_closed"))
    assert closed_notices == WINDOWS * (1 + 3)  # the merchant and each point's leader, once a window
    job = db.session.get(JobRun, "close-windows")
    assert job is not None and job.runs >= 1 and job.last_holder is not None
    for host in two_hosts:
        assert "Traceback" not in host.log_path.read_text()


def _failed_login(host: LiveServer, account: str = "13800000000", address: str = "127.0.0.1") -> int:
    with requests.Session() as session:
        session.trust_env = False
        session.mount("http://", FromAddress(address))
        token = csrf_from(session.get(host.url + "/login", timeout=10).text)
        answer = session.post(
            host.url + "/login",
            data={"login": account, "password": "wrong-password-1", "csrf_token": token},
            timeout=10,
        )
        return answer.status_code


def test_rate_limits_count_attempts_at_both_hosts_together(app, two_hosts):
    first, second = two_hosts
    assert [_failed_login(first) for _ in range(LOGIN_LIMIT - 1)] == [422] * (LOGIN_LIMIT - 1)
    assert _failed_login(second) == 422  # the limit's last attempt, made at the other host
    # Counted per host, each would allow three: shared, the fourth is refused everywhere.
    assert _failed_login(first) == 429
    assert _failed_login(second) == 429


def test_guesses_at_one_account_are_counted_at_both_hosts_together(app, two_hosts):
    # Each guess from its own address (no address limit is reached), alternating hosts.
    hosts = two_hosts * ACCOUNT_LIMIT
    tries = [_failed_login(hosts[n], "13800000001", f"127.0.0.{10 + n}") for n in range(ACCOUNT_LIMIT)]
    assert tries == [422] * ACCOUNT_LIMIT
    assert _failed_login(two_hosts[0], "13800000001", "127.0.0.30") == 429
    assert _failed_login(two_hosts[1], "13800000001", "127.0.0.31") == 429
    assert _failed_login(two_hosts[1], "13800000002", "127.0.0.32") == 422  # another account
