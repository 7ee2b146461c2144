"""Leader API: the community's orders, and confirming a delivery's arrival with shortages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import g
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field

from app.blueprints.api import bp
from app.blueprints.api.common import api_role, document, parse, parse_query, respond
from app.blueprints.api.schemas import ApiModel, OrderLineOut
from app.models.orders import ORDER_STATUSES
from app.services.core.text import mask_phone
from app.services.deliveries import deliveries, picking_lists
from app.services.leader import leader_orders

_ID = Field(ge=1, le=2**31 - 1)
StatusFilter = Literal[(*ORDER_STATUSES, *leader_orders.TABS, "all")]


class OrdersQuery(BaseModel):
    """Query string of the list; unknown parameters (cache busters) are ignored."""

    model_config = ConfigDict(str_strip_whitespace=True)

    window_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    status: StatusFilter = Field(default="all", description='An order status, a tab ("closed") or "all".')
    page: int = Field(default=1, ge=1, le=100_000)


class LeaderOrderOut(BaseModel):
    id: int
    number: str
    window_id: int
    pickup_point_id: int
    customer_name: str
    customer_phone: str = Field(description="Masked, 138****5678.")
    status: str
    payment_provider: str
    total_fen: int
    paid_fen: int
    refunded_fen: int
    created_at: datetime
    items: list[OrderLineOut]


class OrdersPage(BaseModel):
    orders: list[LeaderOrderOut]
    page: int
    pages: int
    total: int


class ArrivalIn(ApiModel):
    shortages: dict[Annotated[int, _ID], Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=dict, max_length=500, description="product_id → units that did not arrive (0 if none)."
    )


class PickingLine(BaseModel):
    product_id: int
    name: str
    spec: str
    quantity: int
    shortage: int


class BatchOut(BaseModel):
    id: int
    window_id: int
    merchant_id: int
    pickup_point_id: int
    status: str
    arrived_at: datetime | None
    picking: list[PickingLine]


def _order_out(order) -> LeaderOrderOut:
    return LeaderOrderOut(
        id=order.id,
        number=order.number,
        window_id=order.window_id,
        pickup_point_id=order.pickup_point_id,
        customer_name=order.customer_name,
        customer_phone=mask_phone(order.customer_phone),
        status=order.status,
        payment_provider=order.payment_provider,
        total_fen=order.total_fen,
        paid_fen=order.paid_fen,
        refunded_fen=order.refunded_fen,
        created_at=order.created_at,
        items=[OrderLineOut.of(item) for item in order.items],
    )


@bp.get("/leader/orders")
@document(
    summary="The leader's orders, by window and status (50 per page)",
    query=OrdersQuery,
    response=OrdersPage,
    tags=["leader"],
)
@api_role("leader")
def leader_orders_list():
    query = parse_query(OrdersQuery)
    where = leader_orders.OrderFilter(window_id=query.window_id)
    page = leader_orders.list_orders(g.leader, where=where, tab=query.status, page=query.page)
    return respond(
        OrdersPage(orders=[_order_out(o) for o in page.items], page=page.page, pages=page.pages, total=page.total)
    )


@bp.post("/leader/batches/<int:batch_id>/arrival")
@document(
    summary="Confirm a delivery arrived at the leader's point, with shortages",
    request=ArrivalIn,
    response=BatchOut,
    tags=["leader"],
    errors=(404, 409),
    description="Short units are refunded and never handed over; field errors are keyed by product id.",
)
@api_role("leader")
def leader_batch_arrival(batch_id: int):
    data = parse(ArrivalIn)
    batch = deliveries.confirm_arrival(batch_id, g.leader, current_user, dict(data.shortages))
    return respond(
        BatchOut(
            id=batch.id,
            window_id=batch.window_id,
            merchant_id=batch.merchant_id,
            pickup_point_id=batch.pickup_point_id,
            status=batch.status,
            arrived_at=batch.arrived_at,
            picking=[PickingLine(**line) for line in picking_lists.picking_list(batch)],
        )
    )
