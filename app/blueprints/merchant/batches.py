"""Merchant delivery batches: list by window and status, picking and packing lists, hand-off."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.blueprints.access import merchant_area_required
from app.blueprints.merchant import bp
from app.models.deliveries import BATCH_STATUSES
from app.services.core import clock
from app.services.core.errors import InvalidTransition, ValidationFailed
from app.services.deliveries import deliveries, picking_lists

BATCH_STATUS_LABELS = {
    "created": _l("Created"),
    "picking": _l("Picking"),
    "dispatched": _l("Dispatched"),
    "arrived": _l("Arrived"),
    "done": _l("Done"),
}
ORDER_STATUS_LABELS = {
    "confirmed": _l("Confirmed"),
    "ready_for_pickup": _l("Ready for pickup"),
    "completed": _l("Completed"),
    "refunded": _l("Refunded"),
}


@bp.get("/batches")
@merchant_area_required("batches")
def batches():
    window_id = request.args.get("window_id", type=int)
    status = request.args.get("status") if request.args.get("status") in BATCH_STATUSES else None
    rows = deliveries.batches_for_merchant(g.merchant.id, window_id=window_id, status=status)
    return render_template(
        "merchant/batches/list.html",
        rows=rows,
        windows=deliveries.batch_windows(g.merchant.id),
        statuses=BATCH_STATUSES,
        labels=BATCH_STATUS_LABELS,
        window_id=window_id,
        status=status,
    )


@bp.get("/batches/<int:batch_id>")
@merchant_area_required("batches")
def batch_detail(batch_id: int):
    return _render_detail(deliveries.get_batch_for_merchant(g.merchant.id, batch_id))


@bp.post("/batches/<int:batch_id>/start-picking")
@merchant_area_required("batches")
def batch_start_picking(batch_id: int):
    return _move(batch_id, deliveries.start_picking, _("Picking started."))


@bp.post("/batches/<int:batch_id>/dispatch")
@merchant_area_required("batches")
def batch_dispatch(batch_id: int):
    try:
        expected_at = clock.parse_local_input(request.form.get("expected_at"))
    except ValueError:
        batch = deliveries.get_batch_for_merchant(g.merchant.id, batch_id)
        flash(_("Enter the expected arrival as a date and time."), "error")
        return _render_detail(batch, status=422)
    note = request.form.get("note", "")

    def dispatch(batch, user):
        return deliveries.dispatch(batch, user, note=note, expected_at=expected_at)

    try:
        return _move(batch_id, dispatch, _("Batch dispatched; the leader has been told."))
    except ValidationFailed as exc:
        batch = deliveries.get_batch_for_merchant(g.merchant.id, batch_id)
        for message in exc.fields.values():
            flash(message, "error")
        return _render_detail(batch, status=422)


def _move(batch_id: int, action, done_message: str):
    batch = deliveries.get_batch_for_merchant(g.merchant.id, batch_id)
    try:
        action(batch, current_user)
    except InvalidTransition:
        label = BATCH_STATUS_LABELS.get(batch.status, batch.status)
        flash(_("This batch is already “%(status)s”; that step is not possible now.", status=label), "error")
        return _render_detail(batch, status=409)
    flash(done_message, "success")
    return redirect(url_for("merchant.batch_detail", batch_id=batch_id), code=303)


def _render_detail(batch, status: int = 200):
    page = render_template(
        "merchant/batches/detail.html",
        batch=batch,
        labels=BATCH_STATUS_LABELS,
        order_labels=ORDER_STATUS_LABELS,
        picking=picking_lists.picking_list(batch),
        packing=picking_lists.packing_list(batch),
    )
    return page, status
