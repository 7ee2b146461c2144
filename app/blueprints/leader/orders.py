"""A leader's orders: tabs by status, filters, one order's story, and bulk actions on the
selected rows: mark paid offline, print labels or tickets, remind the uncollected."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import leader_required
from app.blueprints.leader import bp
from app.blueprints.leader.forms import PlainForm
from app.blueprints.leader.labels import ORDER_TAB_LABELS
from app.services.core.errors import DomainError, ValidationFailed
from app.services.deliveries import labels
from app.services.leader import leader_orders, uncollected
from app.services.orders import after_sales, payments

MAX_BULK = 200


def _int_arg(name: str, default: int | None = None) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) <= 9 else default


def _filters() -> tuple[str | None, int | None]:
    """The tab asked for (None: not asked, or not a tab) and the window filter."""
    tab = request.args.get("tab")
    return (tab if tab in leader_orders.TABS else None), _int_arg("window_id")


def _search_args() -> dict[str, str]:
    return {name: request.args.get(name, "") for name in ("q", "from", "to")}


@bp.get("/orders")
@leader_required
def orders():
    tab, window_id = _filters()
    search = _search_args()
    errors, status = {}, 200
    try:
        where = leader_orders.parse_filter(window_id, search["q"], search["from"], search["to"])
    except ValidationFailed as exc:  # shown beside the fields; the list is left unfiltered by them
        errors, status = exc.fields, 422
        where = leader_orders.OrderFilter(window_id=window_id)
    counts = leader_orders.tab_counts(g.leader, where=where)
    # Opened without a tab: the first one that has orders, not an empty "Paid" beside waiting bags.
    tab = tab or next((key for key in leader_orders.TABS if counts[key]), leader_orders.DEFAULT_TAB)
    page = leader_orders.list_orders(g.leader, where=where, tab=tab, page=_int_arg("page", 1))
    link_args = {"window_id": window_id, **{k: v for k, v in search.items() if v and k not in errors}}
    tabs_shown = [
        (key, str(ORDER_TAB_LABELS[key]), url_for("leader.orders", tab=key, **link_args), counts[key])
        for key in leader_orders.TABS
    ]
    return (
        render_template(
            "leader/orders/list.html",
            page=page,
            tab=tab,
            window_id=window_id,
            search=search,
            search_errors=errors,
            link_args=link_args,
            tabs_shown=tabs_shown,
            windows=leader_orders.order_windows(g.leader),
            bulk_form=PlainForm(),
            layouts=labels.LAYOUT_CHOICES,
        ),
        status,
    )


def order_detail_page(order, error: DomainError | None = None):
    """The order's story, its after-sales requests and the form to open one (with its errors)."""
    return (
        render_template(
            "leader/orders/detail.html",
            order=order,
            form=PlainForm(),
            error=error,
            fields=error.fields if error else {},
            values=request.form,
            after_sales_items=after_sales.eligible_items(order),
            after_sales_requests=after_sales.for_order(order.id),
        ),
        error.status if error else 200,
    )


@bp.get("/orders/<int:order_id>")
@leader_required
def order_detail(order_id: int):
    return order_detail_page(leader_orders.get_order(g.leader, order_id))


def _selected_ids() -> list[int]:
    raw = request.form.getlist("order_ids")
    if not raw:
        raise ValidationFailed(fields={"order_ids": _("Select at least one order.")})
    if len(raw) > MAX_BULK or not all(value.isdigit() and len(value) <= 9 for value in raw):
        raise ValidationFailed(fields={"order_ids": _("Select at most %(n)d orders from the list.", n=MAX_BULK)})
    return sorted({int(value) for value in raw})


def _back():
    tab, window_id = _filters()
    return redirect(url_for("leader.orders", tab=tab, window_id=window_id))


def _refused(exc: ValidationFailed):
    flash(next(iter(exc.fields.values()), exc.message), "error")
    return _back()


# CSRFProtect has checked the token of each bulk form; the services check that every selected
# order belongs to this leader and may take the action, or change nothing.


@bp.post("/orders/mark-paid")
@leader_required
def orders_mark_paid():
    try:
        order_ids = _selected_ids()
    except ValidationFailed as exc:
        return _refused(exc)
    result = payments.mark_paid_offline(order_ids, g.leader, current_user)
    flash(
        _(
            "Marked %(marked)d order(s) paid; %(skipped)d skipped (not awaiting offline payment).",
            marked=len(result["marked"]),
            skipped=len(result["skipped"]),
        ),
        "success",
    )
    return _back()


@bp.post("/orders/labels.pdf")
@leader_required
def orders_labels():
    try:
        pdf = labels.leader_orders_labels(g.leader.id, _selected_ids(), request.form.get("layout"))
    except ValidationFailed as exc:
        return _refused(exc)
    return labels.inline_pdf(pdf, "orders-labels.pdf")


@bp.post("/orders/remind")
@leader_required
def orders_remind():
    try:
        reminders = uncollected.remind_selected(g.leader, _selected_ids())
    except ValidationFailed as exc:
        return _refused(exc)
    tab, window_id = _filters()
    return render_template("leader/orders/reminders.html", reminders=reminders, tab=tab, window_id=window_id)
