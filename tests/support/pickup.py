"""Builders for pickup tests: an order at a point with staff, a batch, and its code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.extensions import db
from app.models import DeliveryBatch, Leader, Order, OrderItem, PickupCode, PickupPoint, PickupStaff, User, Window
from tests.support.forms import csrf_from

_HIDDEN_RE = re.compile(r'name="(idempotency_key|redeem_token)" type="hidden" value="([^"]+)"')


@dataclass
class Bag:
    order: Order
    code: PickupCode
    point: PickupPoint
    staff: User
    leader: Leader
    window: Window
    batch: DeliveryBatch


class Bags:
    """`bags.make(...)`: an order with a live code at a point with one staff member.

    status "ready_for_pickup" puts it in an arrived batch; "confirmed" in a dispatched one.
    `quantities` gives one product per entry; `shortages` the units of each that did not arrive.
    """

    def __init__(self, make_user, make_product, make_window, make_point, make_order):
        self.make_user = make_user
        self.make_product = make_product
        self.make_window = make_window
        self.make_point = make_point
        self.make_order = make_order

    def make(
        self,
        *,
        point=None,
        staff=None,
        status="ready_for_pickup",
        quantities=(2,),
        shortages=None,
        window=None,
        name="张三丰",
        phone=None,
    ) -> Bag:
        if point is None:
            staff = staff or self.make_user("店员")
            point = self.make_point(staff=[staff])
        elif staff is None:
            staff = self.make_user("店员")
            db.session.add(PickupStaff(pickup_point_id=point.id, user_id=staff.id))
            db.session.commit()
        if window is None:
            first = self.make_product(stock=100)
            products = [first] + [self.make_product(first.merchant, stock=100) for _ in quantities[1:]]
            window = self.make_window(products[0].merchant, items=[{"product": p} for p in products])
        batch = DeliveryBatch(
            window_id=window.id,
            merchant_id=window.merchant_id,
            pickup_point_id=point.id,
            status="arrived" if status == "ready_for_pickup" else "dispatched",
        )
        existing = db.session.scalar(
            db.select(DeliveryBatch).where(
                DeliveryBatch.window_id == window.id, DeliveryBatch.pickup_point_id == point.id
            )
        )
        if existing is None:
            db.session.add(batch)
            db.session.commit()
        else:
            batch = existing
        lines = list(zip(window.items, quantities, strict=False))
        order = self.make_order(window, point, lines, status=status, batch=batch, name=name, phone=phone)
        for item, short in zip(order.items, shortages or (), strict=False):
            item.shortage_qty = short
        db.session.commit()
        code = db.session.scalar(db.select(PickupCode).where(PickupCode.order_id == order.id))
        return Bag(order=order, code=code, point=point, staff=staff, leader=point.leader, window=window, batch=batch)


def items_of(order: Order) -> list[OrderItem]:
    return list(
        db.session.scalars(
            db.select(OrderItem)
            .where(OrderItem.order_id == order.id)
            .order_by(OrderItem.id)
            .execution_options(populate_existing=True)
        )
    )


def confirm_fields(html: str) -> dict:
    """The hidden fields of a counter preview's confirm form: CSRF token, request key and the
    redeem token that proves the code."""
    fields = dict(_HIDDEN_RE.findall(html))
    assert "idempotency_key" in fields, "no confirm form in page"
    return {**fields, "csrf_token": csrf_from(html)}
