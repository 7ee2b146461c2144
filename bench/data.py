"""Bench data made the way a real week makes it: through the app's own services.

A merchant, a leader with one pickup point, a window; customers order and pay through the
ordering and payment services on a clock moved back, the window closes (codes, batch), and the
leader confirms arrival (shelf slots, ready_for_pickup). Nothing here bypasses a service, so the
rows are the ones production would hold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import DeliveryBatch, Leader, PickupCode
from app.services.accounts import accounts
from app.services.catalog import catalog
from app.services.closing import closing
from app.services.core import clock
from app.services.deliveries import deliveries
from app.services.orders import ordering, payments
from app.services.pickup import points
from app.services.windows import sharing, windows

PASSWORD = "bench-password-42"  # noqa: S105 - a throwaway database's password
SECRET = "bench-secret-key-not-for-production"  # noqa: S105
# Product names of a real week's lengths, so text fitting does real work.
PRODUCTS = [
    ("海南香蕉", "1kg", 990),
    ("赣南脐橙", "2.5kg", 2990),
    ("阳光玫瑰葡萄", "500g", 1990),
    ("散养土鸡蛋", "30枚", 3290),
    ("五常大米", "5kg", 5990),
    ("精品五花肉", "500g", 2590),
]


def bench_app(instance: Path, **overrides) -> Flask:
    """A migrated app over a fresh SQLite file under `instance`, production settings otherwise."""
    instance.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("INSTANCE_PATH")
    os.environ["INSTANCE_PATH"] = str(instance)
    try:
        app = create_app(
            {
                "DATABASE_URL": database_url(instance),
                "SECRET_KEY": SECRET,
                "SCHEDULER_ENABLED": False,
                "PICKUP_LABELS_DIR": str(instance / "labels"),
                **overrides,
            }
        )
    finally:
        if previous is None:
            os.environ.pop("INSTANCE_PATH", None)
        else:
            os.environ["INSTANCE_PATH"] = previous
    with app.app_context():
        upgrade()
    return app


def database_url(instance: Path) -> str:
    return f"sqlite:///{instance / 'bench.sqlite3'}"


@dataclass(frozen=True)
class Shelf:
    """An arrived batch: every order ready_for_pickup with a live code and a shelf slot."""

    batch_id: int
    point_id: int
    leader_id: int
    code_ids: list[int]
    codes: list[str]  # the 8 digits of each code, in code_ids' order: a hand-over's proof


def _phone(n: int) -> str:
    return f"139{n:08d}"


def arrived_batch(orders: int) -> Shelf:
    """`orders` paid orders of 1–3 items at one pickup point, closed and arrived. Needs an app context."""
    now = clock.now()
    merchant = accounts.create_merchant("鲜果坊", "王店长", PASSWORD, owner_phone="13800000001")
    leader = accounts.create_leader("阳光小区", "李团长", PASSWORD, phone="13800000002")
    point = points.create_point(
        leader, points.PointInput("阳光小区 东门", "阳光路 88 号东门便利店", "13800000012", "08:00-21:00", orders)
    )
    products = [
        catalog.create_product(merchant, name=name, spec=spec, category="水果", price_fen=price, stock=orders * 3)
        for name, spec, price in PRODUCTS
    ]
    earlier = now - timedelta(hours=3)
    with clock.frozen_at(earlier):
        window = windows.create_window(
            merchant,
            windows.WindowInput(
                title="周末水果团",
                opens_at=earlier - timedelta(minutes=1),
                closes_at=now - timedelta(hours=1),
                pickup_date=clock.to_local(now).date(),
            ),
        )
        item_inputs = [windows.ItemInput(product_id=p.id, group_price_fen=p.price_fen * 9 // 10) for p in products]
        windows.update_window(
            window,
            windows.WindowInput(
                title=window.title,
                opens_at=window.opens_at,
                closes_at=window.closes_at,
                pickup_date=window.pickup_date,
                items=item_inputs,
            ),
        )
        windows.schedule_window(window)
        windows.open_due_windows()
        slug = sharing.get_or_create_share_link(window, leader).slug
        item_ids = [item.id for item in window.items]
        for n in range(orders):
            lines = {item_ids[(n + k) % len(item_ids)]: 1 + (n + k) % 2 for k in range(1 + n % 3)}
            order = ordering.place_order(
                slug,
                lines=lines,
                pickup_point_id=point.id,
                customer_name=f"顾客{n}",
                customer_phone=_phone(n),
                provider="simulator",
            )
            payments.simulator_pay(order.access_token)
    closing.close_window(window.id)
    batch_id = db.session.scalar(select(DeliveryBatch.id).where(DeliveryBatch.pickup_point_id == point.id))
    leader = db.session.get(Leader, leader.id)
    deliveries.confirm_arrival(batch_id, leader, leader.user, {})
    rows = db.session.execute(
        select(PickupCode.id, PickupCode.code).where(PickupCode.pickup_point_id == point.id).order_by(PickupCode.id)
    ).all()
    return Shelf(
        batch_id=batch_id,
        point_id=point.id,
        leader_id=leader.id,
        code_ids=[row.id for row in rows],
        codes=[row.code for row in rows],
    )
