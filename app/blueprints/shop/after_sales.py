"""The customer's after-sales request, opened from their order page (the access token is the key)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from app.blueprints.shop import bp
from app.blueprints.shop.views import _render_order, order_rate_limit
from app.extensions import limiter
from app.services.core.errors import DomainError, NotFound
from app.services.orders import after_sales, order_links


@bp.post("/o/<token>/after-sales")
@limiter.limit(order_rate_limit)
def after_sales_open(token: str):
    order = order_links.get_order_by_token(token)
    try:
        after_sales.open_from_form(order, request.form, request.files, opened_by="customer")
    except NotFound:
        raise
    except DomainError as exc:
        return _render_order(order, exc, exc.status)
    flash(_("Your after-sales request was sent to the merchant."), "success")
    return redirect(url_for("shop.order_page", token=token), code=303)
