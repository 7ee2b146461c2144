"""Per-leader quotas of a merchant's window: each item's default cap per leader, and one
leader's own quota for an item (the rules live in app.services.windows.leader_quotas)."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import merchant_area_required
from app.blueprints.leader.forms import PlainForm
from app.blueprints.merchant import bp
from app.blueprints.merchant.forms import LeaderDefaultForm, LeaderQuotaForm, apply_errors
from app.services.core import audit
from app.services.core.errors import DomainError, NotFound, ValidationFailed
from app.services.windows import leader_quotas
from app.services.windows import windows as window_service


def _choices(form: LeaderQuotaForm, page: leader_quotas.QuotaPage) -> LeaderQuotaForm:
    form.leader_id.choices = [(leader.id, leader.community_name) for leader in page.leaders]
    form.window_item_id.choices = [(item.id, f"{item.product.name} {item.product.spec}".strip()) for item in page.items]
    return form


def _render(window, *, quota_form=None, default_form=None, default_item_id=None, status=200):
    page = leader_quotas.quota_page(window)
    quota_form = _choices(quota_form or LeaderQuotaForm(formdata=None), page)
    return render_template(
        "merchant/windows/quotas.html",
        window=window,
        page=page,
        quota_form=quota_form,
        default_form=default_form,
        default_item_id=default_item_id,
        button_form=PlainForm(),
    ), status


def _done(window, message: str):
    flash(message, "success")
    return redirect(url_for("merchant.window_quotas", window_id=window.id), code=303)


def _refusal(form, exc: DomainError) -> int:
    """Put the service's refusal on the form; returns the status to answer with."""
    if isinstance(exc, ValidationFailed):
        form.form_errors.extend(apply_errors(form, exc.fields) or ([] if exc.fields else [exc.message]))
        return 422
    form.form_errors.append(exc.message)
    return exc.status


@bp.get("/windows/<int:window_id>/quotas")
@merchant_area_required("windows")
def window_quotas(window_id: int):
    return _render(window_service.get_window(g.merchant.id, window_id))


@bp.post("/windows/<int:window_id>/quotas")
@merchant_area_required("windows")
def window_quota_set(window_id: int):
    window = window_service.get_window(g.merchant.id, window_id)
    form = _choices(LeaderQuotaForm(), leader_quotas.quota_page(window))
    if not form.validate_on_submit():
        return _render(window, quota_form=form, status=422)
    try:
        leader_quotas.set_leader_quota(
            window, form.window_item_id.data, form.leader_id.data, form.quota.data, actor=audit.actor_for(current_user)
        )
    except DomainError as exc:
        status = _refusal(form, exc)
        return _render(window, quota_form=form, status=status)
    return _done(window, _("Quota saved."))


@bp.post("/windows/<int:window_id>/quotas/default")
@merchant_area_required("windows")
def window_quota_default(window_id: int):
    window = window_service.get_window(g.merchant.id, window_id)
    form = LeaderDefaultForm()
    item_id = form.window_item_id.data if isinstance(form.window_item_id.data, int) else None
    status = 422
    if form.validate_on_submit():
        try:
            leader_quotas.set_item_default(
                window, form.window_item_id.data, form.per_leader_quota.data, actor=audit.actor_for(current_user)
            )
        except DomainError as exc:
            status = _refusal(form, exc)
        else:
            return _done(window, _("Cap per leader saved."))
    if form.window_item_id.errors:  # a hidden field: say it at the top of the section
        form.form_errors.append(_("Choose one of this group buy's products."))
    return _render(window, default_form=form, default_item_id=item_id, status=status)


@bp.post("/windows/<int:window_id>/quotas/<int:quota_id>/remove")
@merchant_area_required("windows")
def window_quota_remove(window_id: int, quota_id: int):
    window = window_service.get_window(g.merchant.id, window_id)
    try:
        leader_quotas.remove_leader_quota(window, quota_id, actor=audit.actor_for(current_user))
    except NotFound:
        raise
    except DomainError as exc:
        message = "; ".join(exc.fields.values()) if exc.fields else exc.message
        flash(message, "error")
        return redirect(url_for("merchant.window_quotas", window_id=window.id), code=303)
    return _done(window, _("Quota removed."))
