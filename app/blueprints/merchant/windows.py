"""Merchant windows: list, create and edit (with item rows that work without JavaScript),
detail, and the schedule / unschedule / open-now actions."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import merchant_area_required
from app.blueprints.merchant import bp
from app.blueprints.merchant.forms import MAX_ITEM_ROWS, OpenWindowForm, WindowForm, apply_errors
from app.models.windows import WINDOW_STATUSES
from app.services.catalog import catalog
from app.services.core import audit, clock
from app.services.core.errors import DomainError, ValidationFailed
from app.services.core.text import format_yuan
from app.services.windows import window_editing as editing
from app.services.windows import windows as window_service

BLANK_ROWS = 3


def _page_arg() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and len(value) <= 6 else 1


def _local_naive(value):
    return clock.to_local(value).replace(tzinfo=None)


@bp.get("/windows")
@merchant_area_required("windows")
def windows():
    status = request.args.get("status", "")
    status = status if status in WINDOW_STATUSES else ""
    page = window_service.list_windows(g.merchant.id, status=status or None, page=_page_arg())
    return render_template("merchant/windows/list.html", page=page, status=status, statuses=WINDOW_STATUSES)


def _product_groups(window=None) -> list[tuple[str, list[tuple[int, str]]]]:
    """Listed products by category for the item rows (plus unlisted ones already in the window)."""
    products = catalog.listed_products(g.merchant.id)
    if window is not None:
        products += [item.product for item in window.items if not item.product.listed]
    groups: dict[str, list[tuple[int, str]]] = {}
    for product in products:
        label = f"{product.name} {product.spec} · {format_yuan(product.price_fen)}".replace("  ", " ")
        if not product.listed:
            label = _("%(label)s (unlisted)", label=label)
        groups.setdefault(product.category or _("Other"), []).append((product.id, label))
    return list(groups.items())


def _prepare(form: WindowForm, *, blank_rows: int = 0) -> None:
    form.leader_ids.choices = [(leader.id, leader.community_name) for leader in window_service.active_leaders()]
    for _i in range(blank_rows):
        if len(form.items.entries) >= MAX_ITEM_ROWS:
            break
        form.items.append_entry()
    for row in form.items:
        row.product_id.choices = []


def _window_input(form: WindowForm) -> editing.WindowInput:
    items = [
        editing.ItemInput(
            product_id=row.product_id.data,
            group_price_fen=row.group_price.data,
            per_customer_limit=row.per_customer_limit.data,
            quota=row.quota.data,
            min_group_size=row.min_group_size.data or 1,
            row=index,
        )
        for index, row in enumerate(form.items.entries)
        if not row.form.is_blank()
    ]
    return editing.WindowInput(
        title=form.title.data,
        opens_at=clock.from_local_naive(form.opens_at.data),
        closes_at=clock.from_local_naive(form.closes_at.data),
        pickup_date=form.pickup_date.data,
        all_leaders=form.leader_mode.data != "chosen",
        leader_ids=list(form.leader_ids.data or []) if form.leader_mode.data == "chosen" else [],
        items=items,
    )


def _save(form: WindowForm, save):
    """Validate, call the service, and turn its refusal into form errors. Returns (window, status)."""
    if form.add_rows.data:
        _prepare(form, blank_rows=BLANK_ROWS)
        return None, 200
    _prepare(form)
    if not form.validate_on_submit():
        return None, 422
    try:
        return save(_window_input(form)), 200
    except ValidationFailed as exc:
        form.form_errors.extend(apply_errors(form, exc.fields) or [exc.message])
        return None, 422
    except DomainError as exc:
        form.form_errors.append(exc.message)
        return None, exc.status


@bp.route("/windows/new", methods=["GET", "POST"])
@merchant_area_required("windows")
def window_new():
    if request.method == "GET":
        form = WindowForm(formdata=None)
        _prepare(form, blank_rows=BLANK_ROWS - 1)
        return render_template("merchant/windows/form.html", form=form, window=None, groups=_product_groups())
    form = WindowForm()
    actor = audit.actor_for(current_user)
    window, status = _save(form, lambda data: editing.create_window(g.merchant, data, actor=actor))
    if window is not None:
        flash(_("Group buy saved as a draft."), "success")
        return redirect(url_for("merchant.window_detail", window_id=window.id))
    return render_template("merchant/windows/form.html", form=form, window=None, groups=_product_groups()), status


@bp.get("/windows/<int:window_id>")
@merchant_area_required("windows")
def window_detail(window_id: int):
    window = window_service.get_window(g.merchant.id, window_id)
    return render_template(
        "merchant/windows/detail.html", window=window, detail=window_service.window_detail(window), now=clock.now()
    )


def _filled_form(window) -> WindowForm:
    form = WindowForm(
        formdata=None,
        title=window.title,
        opens_at=_local_naive(window.opens_at),
        closes_at=_local_naive(window.closes_at),
        pickup_date=window.pickup_date,
        leader_mode="all" if window.all_leaders else "chosen",
        leader_ids=window_service.chosen_leader_ids(window),
        items=[
            {
                "product_id": item.product_id,
                "group_price": item.group_price_fen,
                "per_customer_limit": item.per_customer_limit,
                "quota": item.quota,
                "min_group_size": item.min_group_size,
            }
            for item in window.items
        ],
    )
    _prepare(form, blank_rows=BLANK_ROWS)
    return form


@bp.route("/windows/<int:window_id>/edit", methods=["GET", "POST"])
@merchant_area_required("windows")
def window_edit(window_id: int):
    window = window_service.get_window(g.merchant.id, window_id)
    if window.status == "open":
        return _amend_open(window)
    if window.status not in window_service.EDITABLE:
        flash(_("Only draft or scheduled group buys can be edited."), "error")
        return redirect(url_for("merchant.window_detail", window_id=window.id))
    groups = _product_groups(window)
    if request.method == "GET":
        return render_template("merchant/windows/form.html", form=_filled_form(window), window=window, groups=groups)
    form = WindowForm()
    actor = audit.actor_for(current_user)
    saved, status = _save(form, lambda data: editing.update_window(window, data, actor=actor))
    if saved is not None:
        flash(_("Group buy saved."), "success")
        return redirect(url_for("merchant.window_detail", window_id=window.id))
    return render_template("merchant/windows/form.html", form=form, window=window, groups=groups), status


def _amend_open(window):
    if request.method == "GET":
        form = OpenWindowForm(formdata=None, title=window.title, closes_at=_local_naive(window.closes_at))
        return render_template("merchant/windows/amend.html", form=form, window=window)
    form = OpenWindowForm()
    status = 422
    if form.validate_on_submit():
        try:
            editing.amend_open_window(
                window,
                title=form.title.data,
                closes_at=clock.from_local_naive(form.closes_at.data),
                actor=audit.actor_for(current_user),
            )
        except ValidationFailed as exc:
            form.form_errors.extend(apply_errors(form, exc.fields))
        except DomainError as exc:
            form.form_errors.append(exc.message)
            status = exc.status
        else:
            flash(_("Group buy saved."), "success")
            return redirect(url_for("merchant.window_detail", window_id=window.id))
    return render_template("merchant/windows/amend.html", form=form, window=window), status


def _action(window_id: int, action, done_message: str):
    window = window_service.get_window(g.merchant.id, window_id)
    try:
        action(window, actor=audit.actor_for(current_user))
    except DomainError as exc:
        detail = "; ".join(exc.fields.values()) if exc.fields else ""
        flash(f"{exc.message} {detail}".strip(), "error")
    else:
        flash(done_message, "success")
    return redirect(url_for("merchant.window_detail", window_id=window_id))


@bp.post("/windows/<int:window_id>/schedule")
@merchant_area_required("windows")
def window_schedule(window_id: int):
    return _action(window_id, window_service.schedule_window, _("Scheduled: it opens at its opening time."))


@bp.post("/windows/<int:window_id>/unschedule")
@merchant_area_required("windows")
def window_unschedule(window_id: int):
    return _action(window_id, window_service.unschedule_window, _("Back to draft."))


@bp.post("/windows/<int:window_id>/open")
@merchant_area_required("windows")
def window_open(window_id: int):
    return _action(window_id, window_service.open_window_now, _("The group buy is open."))


@bp.post("/windows/<int:window_id>/copy")
@merchant_area_required("windows")
def window_copy(window_id: int):
    source = window_service.get_window(g.merchant.id, window_id)
    try:
        copy = editing.copy_window(source, actor=audit.actor_for(current_user))
    except ValidationFailed as exc:
        for message in exc.fields.values() or [exc.message]:
            flash(message, "error")
        return redirect(url_for("merchant.window_detail", window_id=window_id))
    flash(_("Copied as a draft: check the times and schedule it."), "success")
    return redirect(url_for("merchant.window_edit", window_id=copy.id), code=303)
