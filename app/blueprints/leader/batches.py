"""Delivery batches for the leader's points: what is on the way, and confirming an arrival with shortages."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import leader_required
from app.blueprints.leader import bp
from app.blueprints.leader.forms import PlainForm
from app.services.core.errors import DomainError, ValidationFailed
from app.services.deliveries import deliveries, picking_lists

MAX_SHORTAGE = 1_000_000


@bp.get("/batches")
@leader_required
def batches():
    status = request.args.get("status") or None
    if status not in (None, "created", "picking", "dispatched", "arrived", "done"):
        status = None
    items = deliveries.batches_for_leader(g.leader.id, status=status)
    return render_template("leader/batches/list.html", batches=items, status=status)


def _batch_page(
    batch, *, errors: dict | None = None, values: dict | None = None, message: str | None = None, status: int = 200
):
    return render_template(
        "leader/batches/detail.html",
        batch=batch,
        picking=picking_lists.picking_list(batch),
        errors=errors or {},
        values=values or {},
        message=message,
        form=PlainForm(),
    ), status


@bp.get("/batches/<int:batch_id>")
@leader_required
def batch_detail(batch_id: int):
    return _batch_page(deliveries.get_batch_for_leader(g.leader.id, batch_id))


def parse_shortages(form) -> tuple[dict[int, int], dict[str, str], dict[str, str]]:
    """`shortage-<product id>` fields to {product_id: qty}; returns (shortages, field errors, raw values)."""
    shortages: dict[int, int] = {}
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    for key, raw in form.items():
        if not key.startswith("shortage-"):
            continue
        suffix = key.removeprefix("shortage-")
        text = (raw or "").strip()
        values[key] = text[:12]
        if not suffix.isdigit() or len(suffix) > 9:
            errors[key] = _("Unknown product.")
            continue
        if text == "":
            text = "0"
        if not text.isdigit() or len(text) > 7 or int(text) > MAX_SHORTAGE:
            errors[key] = _("Enter a whole number of missing units (0 if everything came).")
            continue
        shortages[int(suffix)] = int(text)
    return shortages, errors, values


@bp.post("/batches/<int:batch_id>/arrival")
@leader_required
def batch_arrival(batch_id: int):
    batch = deliveries.get_batch_for_leader(g.leader.id, batch_id)
    shortages, errors, values = parse_shortages(request.form)
    if errors:
        return _batch_page(batch, errors=errors, values=values, status=422)
    try:
        deliveries.confirm_arrival(batch.id, g.leader, current_user, shortages)
    except ValidationFailed as exc:
        fields = {key if key.startswith("shortage-") else f"shortage-{key}": msg for key, msg in exc.fields.items()}
        return _batch_page(batch, errors=fields, values=values, message=exc.message, status=422)
    except DomainError as exc:  # e.g. already confirmed by a co-leader a moment ago
        flash(exc.message, "error")
        return redirect(url_for("leader.batch_detail", batch_id=batch.id))
    flash(_("Arrival confirmed. Customers are told their goods are ready."), "success")
    return redirect(url_for("leader.batch_detail", batch_id=batch.id))
