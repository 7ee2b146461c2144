"""Customer order endpoints: place an order through a share link, look it up or cancel it by token.

They are public: the share link slug and the order's access token are the only keys, and no
session or cookie is consulted, so there is no ambient credential a forged cross-site request
could ride on. That is why these views are exempt from CSRF.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from flask import url_for
from pydantic import BaseModel, Field, StrictInt

from app.blueprints.api import bp
from app.blueprints.api.common import document, parse, respond
from app.blueprints.api.schemas import ApiModel, OrderLineOut
from app.blueprints.shop.labels import status_label
from app.blueprints.shop.views import order_rate_limit
from app.extensions import csrf, limiter
from app.models import Order
from app.services.core.errors import ValidationFailed
from app.services.core.text import mask_phone
from app.services.orders import order_links, ordering, payments
from app.services.pickup import codes

_LINE_FIELD = re.compile(r"^line_(\d+)$")


class OrderLineIn(ApiModel):
    window_item_id: StrictInt = Field(ge=1, le=2**31 - 1)
    quantity: StrictInt = Field(ge=0, le=ordering.MAX_QTY)


class PlaceOrderIn(ApiModel):
    items: list[OrderLineIn] = Field(min_length=1, max_length=ordering.MAX_LINES)
    pickup_point_id: StrictInt = Field(ge=1, le=2**31 - 1)
    customer_name: str = Field(
        max_length=ordering.NAME_MAX,
        description=f"Required: 1 to {ordering.NAME_MAX} printable characters.",
        json_schema_extra={"minLength": 1},
    )
    customer_phone: str = Field(
        max_length=20,
        description="An 11-digit mainland mobile number (1[3-9] and 9 more digits); spaces, dashes, "
        "brackets and a +86 prefix are fine.",
        json_schema_extra={"pattern": r"^[0-9+\s()-]+$"},
    )
    payment_provider: str = Field(max_length=20, description='"simulator" (pay online) or "offline" (pay the leader).')


class OrderPlacedOut(BaseModel):
    number: str
    access_token: str = Field(description="The customer's only key to the order; keep it secret.")
    status: str
    total_fen: int
    pay_url: str | None = Field(description="Where to send the customer to pay; null: pay the leader in the chat.")
    order_url: str


class PointOut(BaseModel):
    id: int
    name: str
    address: str
    opening_hours: str


class WindowOut(BaseModel):
    id: int
    title: str
    closes_at: datetime
    pickup_date: date


class OrderOut(BaseModel):
    number: str
    status: str
    status_label: str
    payment_provider: str
    total_fen: int
    paid_fen: int
    refunded_fen: int
    customer_name: str
    customer_phone: str = Field(description="Masked, 138****5678.")
    created_at: datetime
    window: WindowOut
    pickup_point: PointOut
    items: list[OrderLineOut]
    can_cancel: bool
    pay_url: str | None
    code: str | None = Field(description='Pickup code as printed, "1234 5678"; only once confirmed.')
    qr_text: str | None = Field(description="The signed payload of the pickup QR; only once confirmed.")


def _order_out(order: Order) -> OrderOut:
    code = ordering.live_code(order)
    point, window = order.pickup_point, order.window
    return OrderOut(
        number=order.number,
        status=order.status,
        status_label=status_label(order.status),
        payment_provider=order.payment_provider,
        total_fen=order.total_fen,
        paid_fen=order.paid_fen,
        refunded_fen=order.refunded_fen,
        customer_name=order.customer_name,
        customer_phone=mask_phone(order.customer_phone),
        created_at=order.created_at,
        window=WindowOut(id=window.id, title=window.title, closes_at=window.closes_at, pickup_date=window.pickup_date),
        pickup_point=PointOut(id=point.id, name=point.name, address=point.address, opening_hours=point.opening_hours),
        items=[OrderLineOut.of(i) for i in order.items],
        can_cancel=ordering.can_cancel(order),
        pay_url=payments.start_payment(order) if order.status == "pending_payment" else None,
        code=codes.format_code(code.code) if code else None,
        qr_text=codes.qr_text(code) if code else None,
    )


def _api_fields(exc: ValidationFailed, data: PlaceOrderIn) -> ValidationFailed:
    """Name the service's fields as the request does: `lines` is `items`, a line is items.N.quantity."""
    index = {line.window_item_id: n for n, line in enumerate(data.items)}
    fields = {}
    for key, message in exc.fields.items():
        match = _LINE_FIELD.match(key)
        if match and int(match.group(1)) in index:
            fields[f"items.{index[int(match.group(1))]}.quantity"] = message
        else:
            fields["items" if key in ("lines",) or match else key] = message
    return ValidationFailed(exc.message, fields=fields)


@bp.post("/shop/<slug>/orders")
@document(
    summary="Place an order through a leader's share link",
    request=PlaceOrderIn,
    response=OrderPlacedOut,
    auth="public",
    tags=["shop"],
    status=201,
    errors=(404, 409, 429),
    description="Reserves stock, window quota, the leader's quota, the per-customer limit and a place at the "
    "pickup point atomically, or changes nothing: 409 out_of_stock, leader_quota_reached (with `remaining`), "
    "over_limit, capacity_full or window_closed. "
    "Lines with quantity 0 are ignored; the same item twice is summed.",
)
@csrf.exempt
@limiter.limit(order_rate_limit)
def place_order(slug: str):
    data = parse(PlaceOrderIn)
    lines: dict[int, int] = {}
    for line in data.items:
        lines[line.window_item_id] = lines.get(line.window_item_id, 0) + line.quantity
    try:
        order = ordering.place_order(
            slug,
            lines=lines,
            pickup_point_id=data.pickup_point_id,
            customer_name=data.customer_name,
            customer_phone=data.customer_phone,
            provider=data.payment_provider,
        )
    except ValidationFailed as exc:
        raise _api_fields(exc, data) from None
    out = OrderPlacedOut(
        number=order.number,
        access_token=order.access_token,
        status=order.status,
        total_fen=order.total_fen,
        pay_url=payments.start_payment(order),
        order_url=url_for("shop.order_page", token=order.access_token),
    )
    return respond(out, status=201)


@bp.get("/orders/<token>")
@document(
    summary="A customer's order by its access token",
    response=OrderOut,
    auth="public",
    tags=["shop"],
    errors=(404,),
    description="The pickup code and QR payload appear once the order is confirmed.",
)
def get_order(token: str):
    return respond(_order_out(order_links.get_order_by_token(token)))


@bp.post("/orders/<token>/cancel")
@document(
    summary="Cancel an order before cut-off (a paid order is refunded)",
    response=OrderOut,
    auth="public",
    tags=["shop"],
    errors=(404, 409, 429),
)
@csrf.exempt
@limiter.limit(order_rate_limit)
def cancel_order(token: str):
    return respond(_order_out(ordering.cancel_order(token, actor="customer", reason="cancelled by the customer")))
