"""Printable bag labels and receipt tickets as PDF (ReportLab).

Chinese text needs a CJK font embedded in the PDF. ReportLab embeds TrueType (glyf) fonts only,
not the CFF-based Noto CJK, so the font is WenQuanYi Zen Hei from Debian's fonts-wqy-zenhei
(a TrueType .ttc); LABEL_FONT_PATH points elsewhere. Output is deterministic (ReportLab's
invariant mode, fixed document info), so a batch regenerated from the same data is byte-identical.
"""

from __future__ import annotations

import io
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import DeliveryBatch, Order, PickupCode, User
from app.permissions import scoped_or_404, staff_point_ids
from app.services.core import files
from app.services.core.errors import ValidationFailed
from app.services.core.fonts import font_path
from app.services.core.text import mask_name, mask_phone
from app.services.deliveries import deliveries
from app.services.deliveries.label_layouts import (
    FONT,
    LAYOUTS,
    LabelData,
    Layout,
    Line,
    draw_label,
    draw_sheet,
    draw_ticket,
)
from app.services.pickup import codes

rl_config.invariant = 1
rl_config.useA85 = 0  # binary streams: smaller files, less time encoding

LABELLED_STATUSES = ("ready_for_pickup", "completed")
DEFAULT_LAYOUT = "50x30"
LAYOUT_CHOICES = (
    ("40x30", _l("Thermal label 40×30 mm")),
    ("50x30", _l("Thermal label 50×30 mm")),
    ("60x40", _l("Thermal label 60×40 mm")),
    ("a4", _l("A4 sheet, 3×8 labels")),
    ("ticket58", _l("58 mm receipt tickets")),
)


class UnknownLayout(ValidationFailed):
    code = "unknown_layout"
    default_message = _l("Unknown label layout.")


_registered: Path | None = None


def register_font() -> None:
    global _registered
    path = font_path()
    if _registered != path:
        pdfmetrics.registerFont(TTFont(FONT, str(path), subfontIndex=0))
        _registered = path


def layout_named(name: str | None) -> Layout:
    layout = LAYOUTS.get(name or DEFAULT_LAYOUT)
    if layout is None:
        raise UnknownLayout(fields={"layout": _l("Choose one of: %(names)s", names=", ".join(LAYOUTS))})
    return layout


# ---- data


def _label_data(order: Order, code: PickupCode | None) -> LabelData:
    lines = [
        Line(item.product_name + (f" {item.product_spec}" if item.product_spec else ""), qty, item.unit_price_fen)
        for item in order.items
        if item.status in ("confirmed", "redeemed") and (qty := item.quantity - item.shortage_qty) > 0
    ]
    return LabelData(
        point_name=order.pickup_point.name,
        slot=order.shelf_slot,
        number=order.number,
        customer=mask_name(order.customer_name),
        phone=mask_phone(order.customer_phone),
        pickup_date=order.window.pickup_date.isoformat(),
        qr_text=codes.qr_text(code) if code is not None else order.number,
        lines=lines,
        total_fen=sum(line.quantity * line.unit_price_fen for line in lines),
    )


def _codes_for(order_ids: list[int]) -> dict[int, PickupCode]:
    if not order_ids:
        return {}
    rows = db.session.scalars(select(PickupCode).where(PickupCode.order_id.in_(order_ids)))
    return {row.order_id: row for row in rows}


def batch_orders(batch: DeliveryBatch) -> list[Order]:
    """The batch's bags that carry a label, in shelf order."""
    orders = db.session.scalars(
        select(Order)
        .where(Order.batch_id == batch.id, Order.status.in_(LABELLED_STATUSES))
        .options(selectinload(Order.items), selectinload(Order.pickup_point), selectinload(Order.window))
        .order_by(Order.id)
    ).all()
    return sorted(orders, key=lambda o: (o.shelf_slot is None, o.shelf_slot or 0, o.id))


def batch_label_data(batch: DeliveryBatch) -> list[LabelData]:
    """What each of the batch's labels shows, in shelf order."""
    orders = batch_orders(batch)
    found = _codes_for([order.id for order in orders])
    return [_label_data(order, found.get(order.id)) for order in orders]


# ---- rendering


def render(labels: list[LabelData], layout: Layout) -> bytes:
    """The PDF bytes for these labels in this layout."""
    register_font()
    buffer = io.BytesIO()
    size = (layout.width, layout.height or layout.width)
    canvas = Canvas(buffer, pagesize=size, invariant=1, pageCompression=1)
    canvas.setTitle("labels")
    canvas.setAuthor("group-buy")
    canvas.setCreator("group-buy")
    canvas.setProducer("group-buy")
    canvas.setSubject("")
    if layout.height is None:
        for data in labels:
            draw_ticket(canvas, data, layout.width)
    elif layout.columns * layout.rows > 1:
        draw_sheet(canvas, labels, layout)
    else:
        for data in labels:
            draw_label(canvas, data, 0, 0, layout.width, layout.height)
            canvas.showPage()
    if not labels:
        canvas.showPage()  # an empty batch still gives a valid (blank) PDF
    canvas.save()
    return buffer.getvalue()


def order_label_pdf(order: Order, layout: str) -> bytes:
    """One order's label (or ticket) as PDF bytes."""
    chosen = layout_named(layout)
    return render([_label_data(order, _codes_for([order.id]).get(order.id))], chosen)


def labels_path(batch: DeliveryBatch, layout: str) -> Path:
    base = Path(current_app.config["PICKUP_LABELS_DIR"])
    return base / str(batch.window_id) / str(batch.pickup_point_id) / f"batch-{batch.id}-{layout}.pdf"


def batch_labels_pdf(batch: DeliveryBatch, layout: str) -> Path:
    """Write the batch's labels (slot order) under PICKUP_LABELS_DIR and return the file's path.

    Written to a temporary file and renamed, so a phone downloading while a counter PC
    regenerates never gets half a file.
    """
    chosen = layout_named(layout)
    data = render(batch_label_data(batch), chosen)
    path = labels_path(batch, chosen.name)
    with files.replacing(path) as tmp:
        tmp.write_bytes(data)
    return path


# ---- entry points for the views, scoped to the actor


def leader_batch_labels(leader_id: int, batch_id: int, layout: str | None) -> Path:
    """The leader's batch (another leader's id is NotFound) as a label PDF on disk."""
    batch = deliveries.get_batch_for_leader(leader_id, batch_id)
    return batch_labels_pdf(batch, layout_named(layout).name)


def staff_batch_labels(user: User, batch_id: int, layout: str | None) -> Path:
    """A batch bound for one of the staff member's points as a label PDF on disk."""
    batch = scoped_or_404(
        select(DeliveryBatch).where(
            DeliveryBatch.id == batch_id, DeliveryBatch.pickup_point_id.in_(staff_point_ids(user) or [-1])
        )
    )
    return batch_labels_pdf(batch, layout_named(layout).name)


def staff_order_ticket(user: User, order_id: int, layout: str | None = "ticket58") -> bytes:
    """One waiting or collected order of the staff member's points as a ticket (or label) PDF."""
    order = scoped_or_404(
        select(Order).where(
            Order.id == order_id,
            Order.status.in_(LABELLED_STATUSES),
            Order.pickup_point_id.in_(staff_point_ids(user) or [-1]),
        )
    )
    return order_label_pdf(order, layout_named(layout).name)


def leader_orders_labels(leader_id: int, order_ids: list[int], layout: str | None) -> bytes:
    """Labels (or tickets) of orders picked from the leader's list, by point and shelf slot.

    Every id must be one of the leader's orders that has a bag (waiting or collected); otherwise
    nothing is printed and the error names the orders that have none.
    """
    chosen = layout_named(layout)
    wanted = set(order_ids)
    orders = db.session.scalars(
        select(Order)
        .where(Order.id.in_(wanted), Order.leader_id == leader_id, Order.status.in_(LABELLED_STATUSES))
        .options(selectinload(Order.items), selectinload(Order.pickup_point), selectinload(Order.window))
    ).all()
    if len(orders) != len(wanted):
        missing = db.session.scalars(
            select(Order.number).where(Order.id.in_(wanted - {o.id for o in orders}), Order.leader_id == leader_id)
        ).all()
        raise ValidationFailed(
            fields={
                "order_ids": _l(
                    "Only orders with a bag at the point have labels; not: %(numbers)s",
                    numbers=", ".join(sorted(missing)) or "—",
                )
            }
        )
    orders = sorted(
        orders, key=lambda o: (o.pickup_point.name, o.pickup_point_id, o.shelf_slot is None, o.shelf_slot or 0, o.id)
    )
    found = _codes_for([order.id for order in orders])
    return render([_label_data(order, found.get(order.id)) for order in orders], chosen)


def staff_label_batches(user: User) -> list[DeliveryBatch]:
    """Arrived and finished batches at the staff member's points, newest first (for reprints)."""
    return list(
        db.session.scalars(
            select(DeliveryBatch)
            .where(
                DeliveryBatch.pickup_point_id.in_(staff_point_ids(user) or [-1]),
                DeliveryBatch.status.in_(("arrived", "done")),
            )
            .options(selectinload(DeliveryBatch.window), selectinload(DeliveryBatch.pickup_point))
            .order_by(DeliveryBatch.arrived_at.desc(), DeliveryBatch.id.desc())
            .limit(50)
        )
    )


def inline_pdf(data: bytes, filename: str):
    """A response a phone opens in its PDF viewer (inline) rather than downloading silently."""
    response = current_app.response_class(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
