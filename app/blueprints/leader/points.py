"""A leader's pickup points: list, create, edit, and the staff who may redeem there."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import leader_required
from app.blueprints.leader import bp
from app.blueprints.leader.forms import PlainForm, PointForm, StaffForm, apply_errors
from app.services.core import audit
from app.services.core.errors import ValidationFailed
from app.services.pickup import points


def _input(form: PointForm) -> points.PointInput:
    return points.PointInput(
        name=form.name.data or "",
        address=form.address.data or "",
        contact_phone=form.contact_phone.data or "",
        opening_hours=form.opening_hours.data or "",
        capacity=form.capacity.data,
        active=form.active.data,
    )


@bp.get("/points")
@leader_required
def point_list():
    return render_template("leader/points/list.html", points=points.list_points(g.leader))


@bp.route("/points/new", methods=["GET", "POST"])
@leader_required
def point_new():
    form = PointForm()
    if form.validate_on_submit():
        try:
            point = points.create_point(g.leader, _input(form), actor=audit.actor_for(current_user))
        except ValidationFailed as exc:
            form.form_errors.extend(apply_errors(form, exc.fields))
        else:
            flash(_("Pickup point %(name)s created.", name=point.name), "success")
            return redirect(url_for("leader.point_edit", point_id=point.id))
    status = 422 if form.is_submitted() else 200
    return render_template("leader/points/form.html", form=form, point=None), status


def _edit_page(point, form, staff_form, status=200):
    return render_template(
        "leader/points/form.html",
        form=form,
        point=point,
        staff=points.staff_of(point),
        staff_form=staff_form,
        remove_form=PlainForm(),
    ), status


@bp.route("/points/<int:point_id>", methods=["GET", "POST"])
@leader_required
def point_edit(point_id: int):
    point = points.get_point(g.leader, point_id)
    form = PointForm() if request.method == "POST" else PointForm(obj=point)
    if form.validate_on_submit():
        try:
            points.update_point(g.leader, point.id, _input(form), actor=audit.actor_for(current_user))
        except ValidationFailed as exc:
            form.form_errors.extend(apply_errors(form, exc.fields))
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("leader.point_edit", point_id=point.id))
    status = 422 if form.is_submitted() else 200
    return _edit_page(point, form, StaffForm(formdata=None), status)


@bp.post("/points/<int:point_id>/staff")
@leader_required
def staff_add(point_id: int):
    point = points.get_point(g.leader, point_id)
    form = StaffForm()
    if form.validate():
        try:
            user = points.assign_staff(g.leader, point.id, form.phone.data, actor=audit.actor_for(current_user))
        except ValidationFailed as exc:
            form.form_errors.extend(apply_errors(form, exc.fields))
        else:
            flash(_("%(name)s can now redeem codes here.", name=user.name), "success")
            return redirect(url_for("leader.point_edit", point_id=point.id))
    return _edit_page(point, PointForm(obj=point, formdata=None), form, 422)


@bp.post("/points/<int:point_id>/staff/<int:user_id>/remove")
@leader_required
def staff_remove(point_id: int, user_id: int):
    # CSRFProtect has already checked the token of this bodiless form.
    points.unassign_staff(g.leader, point_id, user_id, actor=audit.actor_for(current_user))
    flash(_("Removed."), "success")
    return redirect(url_for("leader.point_edit", point_id=point_id))
