"""Helpers for merchant tests: rows the merchant services never create themselves."""

from __future__ import annotations

import itertools
import secrets
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Order, OrderItem, PickupPoint, Window
from app.services.windows.window_editing import ItemInput, WindowInput

_seq = itertools.count(1)


def make_order_row(window, leader, *, status="paid", item=None, quantity=1) -> Order:
    """An order written straight to the database, as the order service would leave it."""
    point = PickupPoint(
        leader_id=leader.id, name=f"测试点{next(_seq)}", address="幸福路1号", contact_phone="13800138000"
    )
    db.session.add(point)
    db.session.flush()
    order = Order(
        number=f"T{next(_seq):010d}{secrets.token_hex(3)}",
        access_token=secrets.token_urlsafe(32),
        window_id=window.id,
        leader_id=leader.id,
        pickup_point_id=point.id,
        customer_name="王小明",
        customer_phone="13812345678",
        status=status,
        payment_provider="simulator",
        total_fen=(item.group_price_fen * quantity) if item else 0,
    )
    db.session.add(order)
    db.session.flush()
    if item is not None:
        db.session.add(
            OrderItem(
                order_id=order.id,
                window_item_id=item.id,
                product_id=item.product_id,
                product_name="x",
                unit_price_fen=item.group_price_fen,
                quantity=quantity,
            )
        )
    db.session.commit()
    return order


T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # the frozen_clock's start: 10:00 in Shanghai


def window_input(products=(), **overrides) -> WindowInput:
    """What the window form would give the service: opens in an hour, closes in a day."""
    values = {
        "title": "周末水果团",
        "opens_at": T0 + timedelta(hours=1),
        "closes_at": T0 + timedelta(days=1),
        "pickup_date": date(2026, 11, 24),
        "items": [ItemInput(product_id=p.id, group_price_fen=990) for p in products],
    }
    values.update(overrides)
    return WindowInput(**values)


def window_status(window_id):
    return db.session.scalar(select(Window.status).where(Window.id == window_id))


def window_at(make_window, merchant, product, *, status, opens, closes, leaders=None):
    """A window of one product in a given state and time span, written straight to the database."""
    return make_window(
        merchant, items=[{"product": product}], status=status, opens_at=opens, closes_at=closes, leaders=leaders
    )
