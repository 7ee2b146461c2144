"""The leader's Exceptions page and the after-sales requests a leader opens for a customer."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import leader_required
from app.blueprints.leader import bp
from app.blueprints.leader.orders import order_detail_page
from app.services.core import audit, photos
from app.services.core.errors import DomainError, NotFound
from app.services.leader import leader_exceptions, leader_orders
from app.services.orders import after_sales


@bp.get("/exceptions")
@leader_required
def exceptions():
    return render_template("leader/exceptions.html", data=leader_exceptions.exceptions(g.leader))


@bp.post("/orders/<int:order_id>/after-sales")
@leader_required
def after_sales_open(order_id: int):
    order = leader_orders.get_order(g.leader, order_id)
    try:
        after_sales.open_from_form(order, request.form, request.files, opened_by=audit.actor_for(current_user))
    except DomainError as exc:
        return order_detail_page(order, exc)
    flash(_("The after-sales request was sent to the merchant."), "success")
    return redirect(url_for("leader.order_detail", order_id=order_id), code=303)


@bp.get("/after-sales/<int:request_id>/photo.jpg")
@leader_required
def after_sales_photo(request_id: int):
    req = after_sales.leader_request(g.leader.id, request_id)
    if not req.photo_name:
        raise NotFound()
    return photos.photo_response(after_sales.PHOTO_KIND, req.photo_name)
