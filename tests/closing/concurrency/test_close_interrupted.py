"""A `flask jobs close-windows` process killed with SIGKILL half-way through a sizeable window is
completed by the next run with nothing duplicated or lost (DESIGN.md §4.2, issue #6), on SQLite
and on PostgreSQL.

"Half-way" is made exact rather than timed: the child is the real command with one logging
handler added, which stops the process (SIGSTOP) when the close logs that half of the paid
orders are settled — its transaction open, events, refunds and codes of those orders written
but not committed. The test sees the progress line on stderr, checks that nothing of it is
visible yet, kills the process and runs the command again.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditRecord,
    CustomerItemUsage,
    DeliveryBatch,
    Order,
    OrderEvent,
    OrderItem,
    OutboxMessage,
    PickupCode,
    PointWindowUsage,
    Product,
    Refund,
    Window,
    WindowItem,
)
from tests.conftest import SECRET
from tests.support.batches import mixed_lines, place, snapshot

ROOT = Path(__file__).resolve().parents[3]
ORDERS = 240
CHUNK = 20  # orders per chunk in the child, so half-way is a dozen chunks in
INITIAL_STOCK = 5000
MARKER = "HALF-WAY"

# The real command, plus a handler that freezes the process at the first progress line saying
# at least half of the paid orders are settled.
CHILD = f"""
import logging, os, signal, sys

from app.services.core import bulk_rows

bulk_rows.CHUNK = {CHUNK}


class FreezeHalfWay(logging.Handler):
    def emit(self, record):
        if "paid orders settled" in record.msg and record.args[1] * 2 >= record.args[2]:
            sys.stderr.write("{MARKER} " + record.getMessage() + "\\n")
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGSTOP)


logging.basicConfig(level=logging.INFO)
logging.getLogger("app.services.closing.closing").addHandler(FreezeHalfWay())
from flask.cli import main

sys.argv = ["flask", "jobs", "close-windows"]
main()
"""


def _env(url: str, instance: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        INSTANCE_PATH=str(instance),
        SECRET_KEY=SECRET,
        FLASK_APP="app",
        SCHEDULER_ENABLED="0",
        RATELIMIT_ENABLED="0",
        PYTHONUNBUFFERED="1",
    )
    return env


class _Stderr:
    """A child's stderr read line by line on a thread, so a line already buffered is never
    waited for in vain."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put("")  # end of output

    def wait_for(self, prefix: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if not line:
                raise AssertionError("the close ended before half-way:\n" + "".join(self.seen))
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError("no half-way progress line in time:\n" + "".join(self.seen))


def test_close_killed_half_way_is_completed_by_the_next_run_with_nothing_duplicated_or_lost(
    app, tmp_path, make_merchant, make_product, make_window, make_point, make_order
):
    merchant = make_merchant()
    products = [make_product(merchant, price_fen=p, stock=INITIAL_STOCK) for p in (990, 450, 1280)]
    now = datetime.now(UTC)
    window = make_window(
        merchant,
        items=[
            {"product": products[0], "min_group": 1, "limit": 20},
            {"product": products[1], "min_group": 5},
            {"product": products[2], "min_group": ORDERS},  # misses its group: refunds
        ],
        opens_at=now - timedelta(hours=3),
        closes_at=now - timedelta(minutes=1),
    )
    a, b, c = window.items
    points = [make_point() for _ in range(4)]
    plan = []
    for i in range(ORDERS):
        lines, paid = mixed_lines(i, a, b, c), i % 6 != 0
        phone = f"1380000{i % 90:04d}"  # some customers order twice: limits summed per customer
        order = place(
            make_order, window, points[i % 4], lines, status="paid" if paid else "pending_payment", phone=phone
        )
        plan.append((order.id, order.pickup_point_id, order.leader_id, phone, lines, paid))
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    before = snapshot(window.id)
    db.session.commit()  # and hold no transaction while a child writes

    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env=_env(url, tmp_path / "instance-killed"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr = _Stderr(proc)
    try:
        line = stderr.wait_for(MARKER)
        _pid, status = os.waitpid(proc.pid, os.WUNTRACED)  # frozen mid-transaction
        assert os.WIFSTOPPED(status), line
        settled, total = (int(n) for n in line.split(": ")[1].split(" paid")[0].split(" of "))
        assert 0 < settled < total  # half-way, not at the end
        assert snapshot(window.id) == before  # nothing of the open transaction is visible
        db.session.rollback()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        stderr.thread.join(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    rerun = subprocess.run(
        [sys.executable, "-m", "flask", "jobs", "close-windows"],
        cwd=ROOT,
        env=_env(url, tmp_path / "instance-rerun"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr, rerun.stderr
    assert rerun.stdout.strip() == "close-windows: 1", rerun.stdout

    _assert_closed_exactly_once(window, merchant, plan, products)


def _assert_closed_exactly_once(window, merchant, plan, products):
    a, b, c = window.items
    db.session.expire_all()
    assert db.session.get(Window, window.id).status == "closed"
    paid_holders = Counter(item.id for *_x, lines, paid in plan if paid for item, _q in lines)
    failed_items = {item.id for item in (a, b, c) if paid_holders[item.id] < item.min_group_size}
    assert failed_items == {c.id}

    expected, refund_fen, kept, kept_per_phone, confirmed_at = {}, {}, Counter(), Counter(), Counter()
    for order_id, point_id, _leader, phone, lines, paid in plan:
        surviving = [(item, q) for item, q in lines if item.id not in failed_items]
        if not paid:
            expected[order_id] = "cancelled"
            continue
        expected[order_id] = "confirmed" if surviving else "failed"
        lost = sum(item.group_price_fen * q for item, q in lines if item.id in failed_items)
        if lost:
            refund_fen[order_id] = lost
        for item, q in surviving:
            kept[item.product_id] += q
            if item.id == a.id:
                kept_per_phone[phone] += q
        if surviving:
            confirmed_at[point_id] += 1
    statuses = dict(db.session.execute(select(Order.id, Order.status).where(Order.window_id == window.id)).all())
    assert statuses == expected
    confirmed = {oid for oid, status in expected.items() if status == "confirmed"}

    # Every order moved by the close exactly once.
    events = Counter(db.session.scalars(select(OrderEvent.order_id).where(OrderEvent.actor == "system:close")))
    assert events == Counter(list(expected))

    codes = db.session.execute(select(PickupCode.order_id, PickupCode.pickup_point_id, PickupCode.code)).all()
    assert sorted(order_id for order_id, _p, _c in codes) == sorted(confirmed)
    assert len({(point, code) for _o, point, code in codes}) == len(codes)

    batches = dict(
        db.session.execute(
            select(DeliveryBatch.pickup_point_id, DeliveryBatch.id).where(DeliveryBatch.window_id == window.id)
        ).all()
    )
    assert set(batches) == set(confirmed_at)
    for order_id, point_id, *_rest in plan:
        batch_id = db.session.scalar(select(Order.batch_id).where(Order.id == order_id))
        assert batch_id == (batches[point_id] if order_id in confirmed else None)

    refunds = db.session.execute(select(Refund.order_id, Refund.reason, Refund.amount_fen)).all()
    assert {order_id: amount for order_id, _r, amount in refunds} == refund_fen
    assert len(refunds) == len(refund_fen) and {reason for _o, reason, _a in refunds} == {"group_failed"}
    refunded = dict(db.session.execute(select(Order.id, Order.refunded_fen).where(Order.window_id == window.id)).all())
    assert {oid: fen for oid, fen in refunded.items() if fen} == refund_fen
    assert db.session.scalar(
        select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "refund")
    ) == len(refund_fen)

    for product in products:
        assert db.session.get(Product, product.id).stock == INITIAL_STOCK - kept[product.id]
    confirmed_units = dict(
        db.session.execute(
            select(OrderItem.window_item_id, func.sum(OrderItem.quantity))
            .where(OrderItem.status == "confirmed")
            .group_by(OrderItem.window_item_id)
        ).all()
    )
    sold = dict(db.session.execute(select(WindowItem.id, WindowItem.sold)).all())
    assert sold == {a.id: confirmed_units[a.id], b.id: confirmed_units[b.id], c.id: 0}
    usage = dict(
        db.session.execute(
            select(CustomerItemUsage.customer_phone, CustomerItemUsage.quantity).where(
                CustomerItemUsage.window_item_id == a.id
            )
        ).all()
    )
    assert {phone: q for phone, q in usage.items() if q} == dict(kept_per_phone)
    places = dict(
        db.session.execute(
            select(PointWindowUsage.pickup_point_id, PointWindowUsage.orders_count).where(
                PointWindowUsage.window_id == window.id
            )
        ).all()
    )
    assert places == dict(confirmed_at)

    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "window_closed")).all()
    owner_ids = [m.user_id for m in merchant.members]
    assert sum(1 for m in told if m.payload["user_ids"] == owner_ids) == 1
    assert len(told) == 1 + len({leader for _o, _p, leader, *_rest in plan})
