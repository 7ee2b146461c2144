"""Platform admin: merchants, leaders and merchant staff."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import admin_required
from app.blueprints.admin import bp
from app.blueprints.admin.forms import ActiveForm, LeaderForm, MerchantForm, StaffForm
from app.services.accounts import accounts
from app.services.core.audit import actor_for
from app.services.core.errors import ValidationFailed


def _apply_field_errors(form, exc: ValidationFailed) -> None:
    """Put service field errors on the matching form fields; others go to the form's top."""
    form.form_errors = []
    for key, message in exc.fields.items():
        field = getattr(form, key, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)
    if not exc.fields:
        form.form_errors.append(exc.message)


def _index(merchant_form=None, leader_form=None, status=200):
    return render_template(
        "admin/index.html",
        merchants=accounts.list_merchants(),
        leaders=accounts.list_leaders(),
        merchant_form=merchant_form or MerchantForm(prefix="merchant", formdata=None),
        leader_form=leader_form or LeaderForm(prefix="leader", formdata=None),
    ), status


@bp.get("/")
@admin_required
def index():
    return _index()


@bp.post("/merchants")
@admin_required
def create_merchant():
    form = MerchantForm(prefix="merchant")
    if form.validate():
        try:
            merchant = accounts.create_merchant(
                form.merchant_name.data,
                form.name.data,
                form.password.data,
                owner_phone=form.phone.data,
                owner_email=form.email.data,
                actor=actor_for(current_user),
            )
        except ValidationFailed as exc:
            _apply_field_errors(form, exc)
        else:
            flash(_("Merchant %(name)s created.", name=merchant.name), "success")
            return redirect(url_for("admin.merchant", merchant_id=merchant.id))
    return _index(merchant_form=form, status=422)


@bp.post("/leaders")
@admin_required
def create_leader():
    form = LeaderForm(prefix="leader")
    if form.validate():
        try:
            leader = accounts.create_leader(
                form.community_name.data,
                form.name.data,
                form.password.data,
                phone=form.phone.data,
                email=form.email.data,
                actor=actor_for(current_user),
            )
        except ValidationFailed as exc:
            _apply_field_errors(form, exc)
        else:
            flash(_("Leader of %(community)s created.", community=leader.community_name), "success")
            return redirect(url_for("admin.index"))
    return _index(leader_form=form, status=422)


@bp.post("/leaders/<int:leader_id>/active")
@admin_required
def set_leader_active(leader_id: int):
    form = ActiveForm()
    if not form.validate():
        raise ValidationFailed(fields={"active": _("Choose 0 or 1.")})
    accounts.set_leader_active(leader_id, form.active.data == "1", actor=actor_for(current_user))
    flash(_("Saved."), "success")
    return redirect(url_for("admin.index"))


def _merchant_page(merchant, staff_form=None, status=200):
    return render_template(
        "admin/merchant.html",
        merchant=merchant,
        staff_form=staff_form or StaffForm(prefix="staff", formdata=None),
    ), status


@bp.get("/merchants/<int:merchant_id>")
@admin_required
def merchant(merchant_id: int):
    return _merchant_page(accounts.get_merchant(merchant_id))


@bp.post("/merchants/<int:merchant_id>/staff")
@admin_required
def add_staff(merchant_id: int):
    target = accounts.get_merchant(merchant_id)
    form = StaffForm(prefix="staff")
    if form.validate():
        try:
            accounts.add_merchant_staff(
                merchant_id,
                form.name.data,
                form.password.data,
                phone=form.phone.data,
                email=form.email.data,
                actor=actor_for(current_user),
            )
        except ValidationFailed as exc:
            _apply_field_errors(form, exc)
        else:
            flash(_("Staff member added."), "success")
            return redirect(url_for("admin.merchant", merchant_id=merchant_id))
    return _merchant_page(target, staff_form=form, status=422)


@bp.post("/merchants/<int:merchant_id>/active")
@admin_required
def set_merchant_active(merchant_id: int):
    form = ActiveForm()
    if not form.validate():
        raise ValidationFailed(fields={"active": _("Choose 0 or 1.")})
    accounts.set_merchant_active(merchant_id, form.active.data == "1", actor=actor_for(current_user))
    flash(_("Saved."), "success")
    return redirect(url_for("admin.merchant", merchant_id=merchant_id))


@bp.post("/users/<int:user_id>/active")
@admin_required
def set_user_active(user_id: int):
    """Deactivate or reactivate an account; deactivating signs it out everywhere at once."""
    form = ActiveForm()
    if not form.validate():
        raise ValidationFailed(fields={"active": _("Choose 0 or 1.")})
    active = form.active.data == "1"
    accounts.set_user_active(user_id, active, by=current_user)
    flash(_("Account reactivated.") if active else _("Account deactivated and signed out everywhere."), "success")
    merchant_id = request.form.get("merchant_id", "")
    if merchant_id.isdigit():
        return redirect(url_for("admin.merchant", merchant_id=int(merchant_id)))
    return redirect(url_for("admin.index"))
