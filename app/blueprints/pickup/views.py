"""The pickup counter: type or scan a code, check the bag against the preview, confirm the hand-over.

Built for a USB/Bluetooth scanner that "types" the code or the QR text and presses Enter: the
code form submits on Enter, and every result page carries a fresh, focused code input.
"""

from __future__ import annotations

import secrets

from flask import current_app, make_response, render_template, request, session
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import staff_required
from app.blueprints.pickup import bp
from app.blueprints.pickup.forms import CodeForm, RedeemForm
from app.blueprints.pickup.limits import code_entry_limit
from app.engine import writes_late
from app.services.core.errors import CodeEntryLocked, DomainError, ValidationFailed
from app.services.counter import counter_lock, redemption

SESSION_POINT = "pickup_point_id"
DEVICE = "counter-web"
DEVICE_COOKIE = "counter_device"
_QTY_PREFIX = "qty-"


def counter_device_id() -> str:
    """The counter's random device id (set once by the counter page), or the API-style header."""
    return request.headers.get("X-Device-Id") or request.cookies.get(DEVICE_COOKIE, "")


def _posted_lines() -> dict[int, int] | None:
    """Per-line quantities from the preview's "only some items" inputs; None when none were sent."""
    raw = {key[len(_QTY_PREFIX) :]: value for key, value in request.form.items() if key.startswith(_QTY_PREFIX)}
    if not raw:
        return None
    lines = {}
    for key, value in raw.items():
        value = (value or "").strip()
        if not key.isdigit() or not value.isdigit() or len(value) > 6:
            raise ValidationFailed(fields={"lines": _("Enter a whole number of units, 0 or more.")})
        lines[int(key)] = int(value)
    return lines


def _code_form(points, *, submitted: bool = True) -> CodeForm:
    form = CodeForm() if submitted else CodeForm(formdata=None)
    form.point_id.choices = [(point.id, point.name) for point in points]
    if not submitted:
        remembered = session.get(SESSION_POINT)
        ids = [point.id for point in points]
        form.point_id.data = remembered if remembered in ids else (ids[0] if ids else None)
    return form


def _lift_point(error: DomainError | None, point_id: int | None) -> int | None:
    """The point whose lock the page offers to lift: a lock on everyone, shown to the point's leader."""
    if isinstance(error, CodeEntryLocked) and error.context.get("scope") in ("device", "point"):
        if counter_lock.can_lift(current_user, point_id):
            return point_id
    return None


def _counter(form: CodeForm, points, *, error: DomainError | None = None, status: int = 200):
    lift_point = _lift_point(error, form.point_id.data)
    return render_template("pickup/counter.html", form=form, points=points, error=error, lift_point=lift_point), status


def fresh_counter_form(points) -> CodeForm:
    return _code_form(points, submitted=False)


@bp.get("/")
@staff_required
def counter():
    points = redemption.counter_points(current_user)
    body, status = _counter(fresh_counter_form(points), points)
    response = make_response(body, status)
    if not counter_lock.clean_device_id(request.cookies.get(DEVICE_COOKIE)):
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_urlsafe(16),
            max_age=5 * 365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        )
    return response


@bp.post("/preview")
@code_entry_limit
@staff_required
def preview():
    points = redemption.counter_points(current_user)
    form = _code_form(points)
    if not form.validate():
        return _counter(form, points, status=422)
    session[SESSION_POINT] = form.point_id.data
    try:
        data = redemption.preview(current_user, form.point_id.data, form.code.data, counter_device_id())
    except ValidationFailed as exc:
        form.code.errors = [*form.code.errors, *exc.fields.values()] or [exc.message]
        return _counter(form, points, status=exc.status)
    except DomainError as exc:
        form.code.data = ""
        return _counter(form, points, error=exc, status=exc.status)
    confirm = RedeemForm(
        formdata=None,
        data={
            "point_id": form.point_id.data,
            "code_id": data["code_id"],
            "idempotency_key": data["idempotency_key"],
            "redeem_token": data["redeem_token"],
        },
    )
    return render_template("pickup/preview.html", preview=data, form=confirm)


@bp.post("/redeem")
@writes_late
@code_entry_limit
@staff_required
def redeem():
    points = redemption.counter_points(current_user)
    form = RedeemForm()
    next_form = fresh_counter_form(points)
    if not form.validate():
        error = ValidationFailed()
        return render_template("pickup/result.html", result=None, error=error, form=next_form, points=points), 422
    try:
        result = redemption.redeem(
            current_user,
            form.point_id.data,
            form.code_id.data,
            form.idempotency_key.data,
            device=DEVICE,
            lines=_posted_lines() if request.form.get("take") == "some" else None,
            redeem_token=form.redeem_token.data,
            device_id=counter_device_id(),
        )
    except DomainError as exc:
        lift_point = _lift_point(exc, form.point_id.data)
        page = render_template(
            "pickup/result.html", result=None, error=exc, form=next_form, points=points, lift_point=lift_point
        )
        return page, exc.status
    return render_template("pickup/result.html", result=result, error=None, form=next_form, points=points)
