"""Four `flask jobs close-windows` processes start at once against one due window: the close
must happen exactly once in effect (DESIGN.md §4.2), on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    DeliveryBatch,
    Order,
    OrderEvent,
    OrderItem,
    OutboxMessage,
    PickupCode,
    Product,
    Refund,
    Window,
    WindowItem,
)
from tests.conftest import SECRET
from tests.support.batches import mixed_lines, place

ROOT = Path(__file__).resolve().parents[3]
PROCESSES = 4
ORDERS = 60
INITIAL_STOCK = 1000


def _expected(plan, items):
    """What one correct close leaves, from the rules: per order status, refunds, units kept."""
    paid_orders = Counter()
    for lines, paid in plan:
        if paid:
            for item, _qty in lines:
                paid_orders[item.id] += 1
    failed = {item.id for item in items if paid_orders[item.id] < item.min_group_size}
    statuses, refund_fen, kept = [], 0, Counter()
    for lines, paid in plan:
        if not paid:
            statuses.append("cancelled")
            continue
        surviving = [(item, qty) for item, qty in lines if item.id not in failed]
        statuses.append("confirmed" if surviving else "failed")
        refund_fen += sum(item.group_price_fen * qty for item, qty in lines if item.id in failed)
        for item, qty in surviving:
            kept[item.product_id] += qty
    return statuses, refund_fen, kept, failed


def _spawn(url: str, tmp_path: Path) -> list[subprocess.Popen]:
    procs = []
    for n in range(PROCESSES):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url,
            INSTANCE_PATH=str(tmp_path / f"instance-{n}"),
            SECRET_KEY=SECRET,
            FLASK_APP="app",
            SCHEDULER_ENABLED="0",
            RATELIMIT_ENABLED="0",
            PYTHONUNBUFFERED="1",
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "flask", "jobs", "close-windows"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return procs


def test_four_close_jobs_at_once_close_the_window_exactly_once(
    app, tmp_path, make_merchant, make_product, make_window, make_point, make_order
):
    merchant = make_merchant()
    products = [make_product(merchant, price_fen=price, stock=INITIAL_STOCK) for price in (990, 450, 1280)]
    now = datetime.now(UTC)
    window = make_window(
        merchant,
        items=[
            {"product": products[0], "min_group": 1},
            {"product": products[1], "min_group": 5},
            {"product": products[2], "min_group": 40},
        ],
        opens_at=now - timedelta(hours=3),
        closes_at=now - timedelta(minutes=1),
    )
    a, b, c = window.items
    points = [make_point() for _ in range(3)]
    plan, orders = [], []
    for i in range(ORDERS):
        lines, paid = mixed_lines(i, a, b, c), i % 4 != 0
        plan.append((lines, paid))
        orders.append(place(make_order, window, points[i % 3], lines, status="paid" if paid else "pending_payment"))
    statuses, refund_fen, kept, failed_items = _expected(plan, window.items)
    assert {"confirmed", "cancelled", "failed"} <= set(statuses) and failed_items == {c.id}
    order_ids = [o.id for o in orders]
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.commit()  # and touch no row until the jobs end: on SQLite a read takes the write lock

    procs = _spawn(url, tmp_path)  # every process starts before any is waited on
    results = [proc.communicate(timeout=180) for proc in procs]

    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
    closed = [int(out.strip().rsplit(":", 1)[1]) for out, _err in results]
    assert sorted(closed) == [0] * (PROCESSES - 1) + [1]

    db.session.expire_all()
    assert db.session.get(Window, window.id).status == "closed"
    assert [db.session.get(Order, oid).status for oid in order_ids] == statuses

    close_events = Counter(db.session.scalars(select(OrderEvent.order_id).where(OrderEvent.actor == "system:close")))
    assert close_events == Counter(order_ids)  # each order moved exactly once

    confirmed = [oid for oid, status in zip(order_ids, statuses, strict=True) if status == "confirmed"]
    batches = db.session.scalars(select(DeliveryBatch).where(DeliveryBatch.window_id == window.id)).all()
    assert sorted(b.pickup_point_id for b in batches) == sorted(p.id for p in points)
    batch_of_point = {b.pickup_point_id: b.id for b in batches}
    for oid in order_ids:
        order = db.session.get(Order, oid)
        assert order.batch_id == (batch_of_point[order.pickup_point_id] if oid in confirmed else None)

    codes = db.session.scalars(select(PickupCode)).all()
    assert sorted(code.order_id for code in codes) == sorted(confirmed)
    assert len({(code.pickup_point_id, code.code) for code in codes}) == len(codes)

    refunds = db.session.execute(select(Refund.order_id, Refund.reason, Refund.amount_fen)).all()
    assert {reason for _oid, reason, _amount in refunds} == {"group_failed"}
    assert max(Counter(oid for oid, _r, _a in refunds).values()) == 1
    assert sum(amount for _oid, _r, amount in refunds) == refund_fen

    for product in products:
        assert db.session.get(Product, product.id).stock == INITIAL_STOCK - kept[product.id]
    sold = dict(db.session.execute(select(WindowItem.id, WindowItem.sold)).all())
    confirmed_units = db.session.execute(
        select(OrderItem.window_item_id, func.sum(OrderItem.quantity))
        .where(OrderItem.status == "confirmed")
        .group_by(OrderItem.window_item_id)
    ).all()
    assert {item_id: units for item_id, units in confirmed_units} == {k: v for k, v in sold.items() if v}

    merchant_told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "window_closed")).all()
    owner_ids = [m.user_id for m in merchant.members]
    assert sum(1 for m in merchant_told if m.payload["user_ids"] == owner_ids) == 1


def test_payment_committing_while_close_runs_is_honoured(
    app, frozen_clock, make_merchant, make_product, make_window, make_point, make_order
):
    """The payment holds its row (PostgreSQL) or the write lock (SQLite) when the close starts;
    the close must settle the order by the status the database ends up with: paid, confirmed."""
    import threading
    import time

    from app.services.closing import closing
    from app.services.orders import payments

    merchant = make_merchant()
    product = make_product(merchant, stock=10)
    window = make_window(
        merchant,
        items=[{"product": product}],
        opens_at=frozen_clock.now - timedelta(hours=2),
        closes_at=frozen_clock.now - timedelta(minutes=1),
    )
    order = place(make_order, window, make_point(), [(window.items[0], 2)], status="pending_payment")
    order_id, window_id, total = order.id, window.id, order.total_fen
    db.session.commit()
    holding, failures = threading.Event(), []

    def pay():
        with app.app_context():
            try:
                row = db.session.get(Order, order_id)
                payments.record_payment(row, "simulator", "sim_race_1", total, "webhook")
                db.session.flush()
                holding.set()
                time.sleep(0.3)  # keep the lock while the close reaches this order
                db.session.commit()
            except Exception as exc:  # surfaced below; a thread's exception is otherwise lost
                failures.append(exc)
                holding.set()
            finally:
                db.session.remove()

    payer = threading.Thread(target=pay)
    payer.start()
    holding.wait(timeout=10)
    result = closing.close_window(window_id)
    payer.join(timeout=30)
    assert failures == []
    assert result == {"confirmed": 1, "cancelled": 0, "failed": 0, "batches": 1}
    db.session.expire_all()
    assert db.session.get(Order, order_id).status == "confirmed"
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0
    assert db.session.get(Product, product.id).stock == 8
