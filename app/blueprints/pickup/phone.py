"""The counter for a customer who lost their code: find their waiting bags by the phone's last four
digits, then hand over the ones staff tick in one confirm, each bag through `redemption.redeem`
with its own request key and proof (a double click answers as a replay, bag by bag)."""

from __future__ import annotations

import re

from flask import render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import staff_required
from app.blueprints.pickup import bp
from app.blueprints.pickup.forms import PhoneTailForm
from app.blueprints.pickup.limits import code_entry_limit
from app.blueprints.pickup.views import DEVICE, counter_device_id, fresh_counter_form
from app.engine import writes_late
from app.services.core.errors import DomainError, ValidationFailed
from app.services.counter import phone_lookup, redemption

_BAG_RE = re.compile(r"^(\d{1,10}):([A-Za-z0-9_\-]{8,64})$")


def _bags_page(form: PhoneTailForm, *, bags=None, error: DomainError | None = None, status: int = 200):
    points = redemption.counter_points(current_user)
    return render_template("pickup/phone.html", form=form, bags=bags or [], error=error, points=points), status


@bp.post("/phone")
@code_entry_limit
@staff_required
def phone_bags():
    form = PhoneTailForm()
    if not form.validate():
        return _bags_page(form, status=422)
    try:
        bags = phone_lookup.bags_for_tail(current_user, form.point_id.data, form.tail.data, counter_device_id())
    except ValidationFailed as exc:
        form.tail.errors = [*form.tail.errors, *exc.fields.values()] or [exc.message]
        return _bags_page(form, status=exc.status)
    except DomainError as exc:
        return _bags_page(form, error=exc, status=exc.status)
    return _bags_page(form, bags=bags)


def _chosen() -> list[tuple[int, str, str]]:
    """(code id, request key, proof) of each ticked bag; ValidationFailed if any is malformed."""
    chosen = []
    for value in request.form.getlist("bag")[: phone_lookup.MAX_BAGS + 1]:
        match = _BAG_RE.match(value or "")
        if not match:
            raise ValidationFailed(fields={"bag": _("Choose the bags to hand over.")})
        code_id = int(match.group(1))
        chosen.append((code_id, match.group(2), request.form.get(f"token-{code_id}", "")[:400]))
    if not chosen or len(chosen) > phone_lookup.MAX_BAGS:
        raise ValidationFailed(fields={"bag": _("Choose the bags to hand over.")})
    return chosen


@bp.post("/redeem-many")
@writes_late
@code_entry_limit
@staff_required
def redeem_many():
    """Hand over the ticked bags of one customer: one confirm, one exactly-once hand-over per bag."""
    points = redemption.counter_points(current_user)
    point_text = request.form.get("point_id", "")
    try:
        point_id = int(point_text) if point_text.isdigit() and len(point_text) <= 10 else 0
        chosen = _chosen()
    except ValidationFailed as exc:
        page = render_template(
            "pickup/result_many.html", results=[], error=exc, form=fresh_counter_form(points), points=points
        )
        return page, exc.status
    results = []
    for code_id, key, token in chosen:
        try:
            done = redemption.redeem(
                current_user, point_id, code_id, key, device=DEVICE, redeem_token=token, device_id=counter_device_id()
            )
            results.append({"code_id": code_id, "ok": True, "result": done})
        except DomainError as exc:
            results.append({"code_id": code_id, "ok": False, "error": exc})
    status = 200 if any(r["ok"] for r in results) else max(r["error"].status for r in results)
    page = render_template(
        "pickup/result_many.html", results=results, error=None, form=fresh_counter_form(points), points=points
    )
    return page, status
