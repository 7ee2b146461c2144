"""The leader's pickup overview: waiting bags by slot, collected today, overdue with reminders,
recent hand-overs with an undo form, and a code-entry lock on the counter to lift."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from app.blueprints.access import leader_required
from app.blueprints.leader import bp
from app.blueprints.leader.forms import PlainForm, no_control_chars, strip
from app.services.core.errors import DomainError, ValidationFailed
from app.services.counter import counter_lock, redemption_undo
from app.services.leader import pickup_overview


class UndoForm(FlaskForm):
    reason = StringField(
        _l("Reason"), filters=[strip], validators=[InputRequired(), Length(min=1, max=200), no_control_chars]
    )


def _page(point_id: int, *, reminder: dict | None = None, undo_form=None, undo_id=None, error=None, status=200):
    data = pickup_overview.overview(g.leader, point_id)
    return (
        render_template(
            "leader/pickup/overview.html",
            data=data,
            points=pickup_overview.led_points(g.leader),
            reminder=reminder,
            plain=PlainForm(),
            undo_form=undo_form or UndoForm(formdata=None),
            undo_id=undo_id,
            error=error,
        ),
        status,
    )


@bp.get("/pickup")
@leader_required
def pickup_overview_index():
    points = pickup_overview.led_points(g.leader)
    if not points:
        return render_template("leader/pickup/overview.html", data=None, points=[], reminder=None)
    return redirect(url_for("leader.pickup_overview_point", point_id=points[0].id))


@bp.get("/pickup/<int:point_id>")
@leader_required
def pickup_overview_point(point_id: int):
    return _page(point_id)


@bp.post("/pickup/<int:point_id>/remind")
@leader_required
def pickup_remind(point_id: int):
    pickup_overview.led_point(g.leader, point_id)
    form = PlainForm()
    if not form.validate():
        return _page(point_id, error=ValidationFailed(), status=400)
    raw = request.form.get("order_id", "")
    if raw == "overdue":
        order_ids = None
    elif raw.isdigit() and len(raw) <= 9:
        order_ids = [int(raw)]
    else:
        return _page(point_id, error=ValidationFailed(), status=422)
    try:
        reminder = pickup_overview.remind(g.leader, point_id, order_ids)
    except DomainError as exc:
        return _page(point_id, error=exc, status=exc.status)
    return _page(point_id, reminder=reminder)


@bp.post("/pickup/<int:point_id>/redemptions/<int:redemption_id>/undo")
@leader_required
def pickup_undo(point_id: int, redemption_id: int):
    pickup_overview.led_point(g.leader, point_id)
    form = UndoForm()
    if not form.validate():
        return _page(point_id, undo_form=form, undo_id=redemption_id, status=422)
    try:
        redemption_undo.undo(current_user, redemption_id, form.reason.data)
    except ValidationFailed as exc:
        form.reason.errors = [*exc.fields.values()] or [exc.message]
        return _page(point_id, undo_form=form, undo_id=redemption_id, status=422)
    except DomainError as exc:
        return _page(point_id, error=exc, status=exc.status)
    flash(_("Hand-over undone: the bag is waiting again."), "success")
    return redirect(url_for("leader.pickup_overview_point", point_id=point_id))


@bp.post("/pickup/<int:point_id>/code-lock/lift")
@leader_required
def pickup_lift_lock(point_id: int):
    """Reopen code entry at the point's counter; back to the counter page when lifted from there."""
    pickup_overview.led_point(g.leader, point_id)
    back_to_counter = request.form.get("back") == "counter"
    form = PlainForm()
    if not form.validate():
        return _page(point_id, error=ValidationFailed(), status=400)
    try:
        counter_lock.lift(current_user, point_id)
    except DomainError as exc:
        if back_to_counter:
            flash(exc.message, "error")
            return redirect(url_for("pickup.counter"))
        return _page(point_id, error=exc, status=exc.status)
    flash(_("Code entry reopened at this pickup point."), "success")
    if back_to_counter:
        return redirect(url_for("pickup.counter"))
    return redirect(url_for("leader.pickup_overview_point", point_id=point_id))
