"""The simulated online gateway (a stand-in page with Pay/Cancel) and its webhook endpoint."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.blueprints.payments import bp
from app.blueprints.shop.forms import ActionForm
from app.extensions import csrf
from app.services.core.errors import DomainError, NotFound
from app.services.orders import order_links, payments


@bp.get("/simulator/<token>")
def simulator(token: str):
    order = order_links.get_order_by_token(token)
    response = render_template("payments/simulator.html", order=order, form=ActionForm())
    return response, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


@bp.post("/simulator/<token>/pay")
def simulator_pay(token: str):
    if not ActionForm().validate_on_submit():  # pragma: no cover - CSRFProtect refuses first
        raise NotFound()
    try:
        payments.simulator_pay(token)
    except NotFound:
        raise
    except DomainError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Payment received. Thank you!"), "success")
    return redirect(url_for("shop.order_page", token=token), code=303)


@bp.post("/simulator/webhook")
@csrf.exempt  # called by the gateway, not a browser: the HMAC signature is its authentication
def simulator_webhook():
    try:
        result = payments.handle_simulator_webhook(
            request.get_data(cache=False), request.headers.get("X-Simulator-Signature")
        )
    except DomainError as exc:
        return jsonify(exc.to_dict()), exc.status
    return jsonify(result), 200
