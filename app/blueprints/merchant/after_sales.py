"""The merchant's after-sales queue: open requests first, each decided with a refund or a reason."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import merchant_area_required
from app.blueprints.leader.forms import PlainForm
from app.blueprints.merchant import bp
from app.models.after_sales import AFTER_SALES_STATUSES
from app.services.core import audit, photos
from app.services.core.errors import DomainError, NotFound, ValidationFailed
from app.services.orders import after_sales


@bp.get("/after-sales")
@merchant_area_required("after_sales")
def after_sales_list():
    status = request.args.get("status", "open")
    if status not in AFTER_SALES_STATUSES:
        status = "open"
    return render_template(
        "merchant/after_sales/list.html",
        rows=after_sales.for_merchant(g.merchant.id, status),
        status=status,
        statuses=AFTER_SALES_STATUSES,
    )


def _detail(req, error: DomainError | None = None):
    return (
        render_template(
            "merchant/after_sales/detail.html",
            req=req,
            form=PlainForm(),
            error=error,
            fields=error.fields if error else {},
            values=request.form,
        ),
        error.status if error else 200,
    )


@bp.get("/after-sales/<int:request_id>")
@merchant_area_required("after_sales")
def after_sales_detail(request_id: int):
    return _detail(after_sales.merchant_request(g.merchant.id, request_id))


@bp.post("/after-sales/<int:request_id>/decide")
@merchant_area_required("after_sales")
def after_sales_decide(request_id: int):
    req = after_sales.merchant_request(g.merchant.id, request_id)
    try:
        approve, refund_fen, note = after_sales.parse_decision(
            request.form.get("action", ""), request.form.get("amount", ""), request.form.get("note", ""), req
        )
        after_sales.decide(audit.actor_for(current_user), req, approve=approve, refund_fen=refund_fen, note=note)
    except ValidationFailed as exc:
        return _detail(req, exc)
    except DomainError as exc:
        return _detail(after_sales.merchant_request(g.merchant.id, request_id), exc)
    flash(_("Refunded.") if approve else _("Request rejected."), "success")
    return redirect(url_for("merchant.after_sales_list"), code=303)


@bp.get("/after-sales/<int:request_id>/photo.jpg")
@merchant_area_required("after_sales")
def after_sales_photo(request_id: int):
    req = after_sales.merchant_request(g.merchant.id, request_id)
    if not req.photo_name:
        raise NotFound()
    return photos.photo_response(after_sales.PHOTO_KIND, req.photo_name)
