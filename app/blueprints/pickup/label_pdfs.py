"""Labels and tickets at the counter: reprint a batch's labels or one order's ticket."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from app.blueprints.access import staff_required
from app.blueprints.pickup import bp
from app.services.deliveries import labels


@bp.get("/labels")
@staff_required
def label_batches():
    return render_template(
        "pickup/labels.html", batches=labels.staff_label_batches(current_user), layouts=labels.LAYOUT_CHOICES
    )


@bp.get("/batches/<int:batch_id>/labels.pdf")
@staff_required
def batch_labels(batch_id: int):
    path = labels.staff_batch_labels(current_user, batch_id, request.args.get("layout"))
    return labels.inline_pdf(path.read_bytes(), path.name)


@bp.get("/orders/<int:order_id>/ticket.pdf")
@staff_required
def order_ticket(order_id: int):
    data = labels.staff_order_ticket(current_user, order_id, request.args.get("layout") or "ticket58")
    return labels.inline_pdf(data, f"ticket-{order_id}.pdf")
