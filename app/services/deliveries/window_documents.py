"""The rows of a window's documents, streamed: picking lists (per pickup point and in total),
per-customer packing lists, and the route summary (per point: bags, items, contact, address).

Rows come from the database in pages (keyset on order id), never as one list, so a window with
50,000 orders costs the memory of one page. Quantities are the confirmed lines of orders still
being delivered (confirmed, waiting or collected); shortages are shown beside them, not taken off.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OrderItem, PickupPoint
from app.services.core.text import mask_name, mask_phone

DELIVERED = ("confirmed", "ready_for_pickup", "completed")
LINE_STATUSES = ("confirmed", "redeemed")
PAGE = 2000


@dataclass(frozen=True)
class Document:
    header: list[str]
    total_rows: int
    rows: Iterator[list]
    # Index of the column that starts a new section (the pickup point), for the PDF's headings.
    section_column: int = 0


def _end_read() -> None:
    # Each page is read in its own short transaction, ended before its rows are written out: a
    # transaction held while a big file is written would hold SQLite's write lock all along.
    db.session.commit()


def _lines(window_id: int):
    return (
        select(OrderItem)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.window_id == window_id, Order.status.in_(DELIVERED), OrderItem.status.in_(LINE_STATUSES))
    )


def _picking(window_id: int) -> Document:
    per_point = db.session.execute(
        select(
            PickupPoint.name,
            OrderItem.product_id,
            func.min(OrderItem.product_name),
            func.min(OrderItem.product_spec),
            func.sum(OrderItem.quantity),
            func.sum(OrderItem.shortage_qty),
        )
        .join(Order, Order.id == OrderItem.order_id)
        .join(PickupPoint, PickupPoint.id == Order.pickup_point_id)
        .where(Order.window_id == window_id, Order.status.in_(DELIVERED), OrderItem.status.in_(LINE_STATUSES))
        .group_by(PickupPoint.name, Order.pickup_point_id, OrderItem.product_id)
        .order_by(PickupPoint.name, Order.pickup_point_id, func.min(OrderItem.product_name), OrderItem.product_id)
    ).all()
    _end_read()
    totals: dict[int, list] = {}
    for _point, product_id, name, spec, qty, short in per_point:
        entry = totals.setdefault(product_id, [name, spec, 0, 0])
        entry[2] += int(qty)
        entry[3] += int(short or 0)
    everything = _("All pickup points")

    def rows():
        for point, _pid, name, spec, qty, short in per_point:
            yield [point, name, spec, int(qty), int(short or 0)]
        for name, spec, qty, short in sorted(totals.values(), key=lambda t: (t[0], t[1])):
            yield [everything, name, spec, qty, short]

    header = [_("Pickup point"), _("Product"), _("Spec"), _("Quantity"), _("Shortage")]
    return Document(header, len(per_point) + len(totals), rows())


def _packing(window_id: int) -> Document:
    total = db.session.scalar(select(func.count()).select_from(_lines(window_id).subquery())) or 0
    _end_read()
    header = [
        _("Pickup point"),
        _("Slot"),
        _("Order"),
        _("Customer"),
        _("Phone"),
        _("Product"),
        _("Spec"),
        _("Quantity"),
    ]

    def rows():
        points = db.session.execute(
            select(PickupPoint.id, PickupPoint.name)
            .where(PickupPoint.id.in_(select(Order.pickup_point_id).where(Order.window_id == window_id)))
            .order_by(PickupPoint.name, PickupPoint.id)
        ).all()
        _end_read()
        for point_id, point in points:
            after = 0
            while True:
                # Keyset pages of the point's orders (packed in order of purchase, the shelf
                # slot shown once arrival gave one); each page brings its lines in one query.
                orders = db.session.execute(
                    select(Order.id, Order.number, Order.customer_name, Order.customer_phone, Order.shelf_slot)
                    .where(
                        Order.window_id == window_id,
                        Order.pickup_point_id == point_id,
                        Order.status.in_(DELIVERED),
                        Order.id > after,
                    )
                    .order_by(Order.id)
                    .limit(PAGE)
                ).all()
                if not orders:
                    _end_read()
                    break
                after = orders[-1][0]
                lines: dict[int, list] = {}
                for order_id, name, spec, qty in db.session.execute(
                    select(OrderItem.order_id, OrderItem.product_name, OrderItem.product_spec, OrderItem.quantity)
                    .where(OrderItem.order_id.in_([o[0] for o in orders]), OrderItem.status.in_(LINE_STATUSES))
                    .order_by(OrderItem.order_id, OrderItem.id)
                ):
                    lines.setdefault(order_id, []).append((name, spec, qty))
                _end_read()
                for order_id, number, customer, phone, slot in orders:
                    for name, spec, qty in lines.get(order_id, []):
                        yield [
                            point,
                            slot if slot is not None else "",
                            number,
                            mask_name(customer),
                            mask_phone(phone),
                            name,
                            spec,
                            qty,
                        ]

    return Document(header, total, rows())


def _route(window_id: int) -> Document:
    stats = db.session.execute(
        select(
            PickupPoint.name,
            PickupPoint.address,
            PickupPoint.contact_phone,
            PickupPoint.opening_hours,
            func.count(func.distinct(Order.id)),
            func.coalesce(func.sum(OrderItem.quantity), 0),
        )
        .join(Order, Order.pickup_point_id == PickupPoint.id)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.window_id == window_id, Order.status.in_(DELIVERED), OrderItem.status.in_(LINE_STATUSES))
        .group_by(
            PickupPoint.id, PickupPoint.name, PickupPoint.address, PickupPoint.contact_phone, PickupPoint.opening_hours
        )
        .order_by(PickupPoint.name, PickupPoint.id)
    ).all()
    _end_read()
    header = [_("Pickup point"), _("Address"), _("Contact phone"), _("Opening hours"), _("Bags"), _("Items")]
    return Document(header, len(stats), iter([[n, a, c, h, int(b), int(i)] for n, a, c, h, b, i in stats]))


BUILDERS = {"picking": _picking, "packing": _packing, "route": _route}


def document(kind: str, window_id: int) -> Document:
    return BUILDERS[kind](window_id)
