"""Customer pages behind a share link: the window page with its order form, and the order page.

No account: the share link's slug opens the shop, the order's access token opens the order.
"""

from __future__ import annotations

import re

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.blueprints.shop import bp
from app.blueprints.shop.forms import ActionForm, OrderForm
from app.blueprints.shop.labels import order_steps, provider_label, status_label
from app.extensions import limiter
from app.services.catalog import product_images
from app.services.core.errors import DomainError, NotFound, ValidationFailed
from app.services.orders import after_sales, order_links, ordering, payments
from app.services.pickup import codes
from app.services.windows import share_poster

_QTY_FIELD = re.compile(r"^qty-(\d{1,12})$")
_WHOLE = re.compile(r"^-?\d{1,9}$")
# Pages that carry the access token: keep them out of caches, referrers and search engines.
PRIVATE_ENDPOINTS = {"shop.order_page", "shop.order_qr", "shop.cancel", "shop.after_sales_open"}


def order_rate_limit() -> str:
    return current_app.config.get("ORDER_RATE_LIMIT", "30 per minute")


# Drawing a poster costs tens of milliseconds: a chat app fetches it once per paste, nobody needs
# it faster than this from one address.
POSTER_RATE_LIMIT = "20 per minute"


def poster_rate_limit() -> str:
    return POSTER_RATE_LIMIT


def parse_quantities(formdata) -> tuple[dict[int, int], dict[str, str]]:
    """`qty-<id>` inputs to {window item id: quantity}; blanks are 0, non-numbers are field errors."""
    lines: dict[int, int] = {}
    errors: dict[str, str] = {}
    for key, raw in formdata.items():
        match = _QTY_FIELD.match(key)
        if not match:
            continue
        item_id, text = int(match.group(1)), (raw or "").strip()
        if not text:
            continue
        if not _WHOLE.match(text):
            errors[f"line_{item_id}"] = _("Enter a whole number.")
            continue
        lines[item_id] = int(text)
    return lines, errors


def _render_shop(page, form, error: DomainError | None = None, status: int = 200):
    fields = error.fields if error else {}
    response = render_template(
        "shop/window.html",
        page=page,
        form=form,
        error=error,
        fields=fields,
        values=request.form,
        provider_label=provider_label,
    )
    return response, status


@bp.route("/s/<slug>", methods=["GET", "POST"])
@limiter.limit(order_rate_limit, methods=["POST"])
def window(slug: str):
    page = ordering.shop_page(slug)
    form = OrderForm()
    if request.method == "GET":
        return _render_shop(page, form)
    if page.state != "open" or not form.validate_on_submit():
        return _render_shop(page, form, status=409 if page.state != "open" else 422)
    lines, errors = parse_quantities(request.form)
    if errors:
        return _render_shop(page, form, ValidationFailed(fields=errors), 422)
    point_text = (form.pickup_point_id.data or "").strip()
    try:
        order = ordering.place_order(
            slug,
            lines=lines,
            pickup_point_id=int(point_text) if point_text.isdigit() else None,
            customer_name=form.customer_name.data or "",
            customer_phone=form.customer_phone.data or "",
            provider=(form.payment_provider.data or "").strip(),
        )
    except NotFound:
        raise
    except DomainError as exc:
        return _render_shop(ordering.shop_page(slug), form, exc, exc.status)
    target = payments.start_payment(order) or url_for("shop.order_page", token=order.access_token)
    return redirect(target, code=303)


def _render_order(order, error: DomainError | None = None, status: int = 200):
    return render_template(
        "shop/order.html",
        order=order,
        code=ordering.live_code(order),
        can_cancel=ordering.can_cancel(order),
        can_pay=order.status == "pending_payment" and order.payment_provider == "simulator",
        status_label=status_label,
        provider_label=provider_label,
        order_steps=order_steps,
        format_code=codes.format_code,
        action_form=ActionForm(),
        error=error,
        fields=error.fields if error else {},
        values=request.form,
        after_sales_items=after_sales.eligible_items(order),
        after_sales_requests=after_sales.for_order(order.id),
    ), status


@bp.get("/s/<slug>/poster.png")
@limiter.limit(poster_rate_limit)
def poster(slug: str):
    """The share link's poster, public like the link itself: the picture a chat app shows
    (og:image) when the link is pasted into a group."""
    link = ordering.share_link(slug)
    png = share_poster.poster_png(link.window, link.leader, link)
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=600"
    return response


@bp.get("/media/products/<name>")
def product_image(name: str):

    return product_images.image_response(name)


@bp.get("/o/<token>")
def order_page(token: str):
    return _render_order(order_links.get_order_by_token(token))


@bp.get("/o/<token>/qr.png")
def order_qr(token: str):
    code = ordering.live_code(order_links.get_order_by_token(token))
    if code is None:
        raise NotFound()
    return Response(codes.qr_png(codes.qr_text(code)), mimetype="image/png")


@bp.post("/o/<token>/cancel")
@limiter.limit(order_rate_limit)
def cancel(token: str):
    try:
        ordering.cancel_order(token, actor="customer", reason="cancelled by the customer")
    except NotFound:
        raise
    except DomainError as exc:
        return _render_order(order_links.get_order_by_token(token), exc, exc.status)
    flash(_("Your order was cancelled."), "success")
    return redirect(url_for("shop.order_page", token=token), code=303)


@bp.after_request
def keep_order_pages_private(response):
    if request.endpoint in PRIVATE_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
