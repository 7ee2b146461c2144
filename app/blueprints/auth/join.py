"""Joining a merchant's team from an invitation link: a new account sets its password here; a
number that already has an account signs in first and then accepts."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.auth import bp
from app.blueprints.auth.limits import failed
from app.blueprints.auth.signin import sign_in
from app.blueprints.leader.forms import PlainForm
from app.extensions import db, limiter
from app.models import User
from app.services.accounts import merchant_team
from app.services.core.errors import DomainError, ValidationFailed


def _page(invitation, *, error: DomainError | None = None, status: int = 200):
    has_account = db.session.scalar(db.select(User.id).where(User.phone == invitation.phone)) is not None
    response = render_template(
        "auth/join.html",
        invitation=invitation,
        merchant_name=merchant_team.merchant_name(invitation.merchant_id),
        areas=[merchant_team.AREAS[a] for a in invitation.areas if a in merchant_team.AREAS],
        has_account=has_account,
        form=PlainForm(),
        error=error,
        fields=error.fields if error else {},
    )
    return response, status


@bp.get("/join/<token>")
def join(token: str):
    try:
        invitation = merchant_team.open_invitation(token)
    except merchant_team.InvitationUnusable as exc:
        return render_template("errors/error.html", status=exc.status, message=exc.message), exc.status
    return _page(invitation)


@bp.post("/join/<token>")
# Refusals count against the address; joining (a sign-in) does not, like a successful login.
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], deduct_when=failed)
def join_accept(token: str):
    try:
        invitation = merchant_team.open_invitation(token)
    except merchant_team.InvitationUnusable as exc:
        return render_template("errors/error.html", status=exc.status, message=exc.message), exc.status
    password, again = request.form.get("password", ""), request.form.get("password_again", "")
    try:
        if password != again:
            raise ValidationFailed(fields={"password_again": _("The two passwords differ.")})
        user = merchant_team.accept(
            token, current=current_user if current_user.is_authenticated else None, password=password
        )
    except DomainError as exc:
        return _page(invitation, error=exc, status=exc.status)
    if not current_user.is_authenticated:
        sign_in(user)
    flash(
        _("Welcome to the team of %(merchant)s.", merchant=merchant_team.merchant_name(invitation.merchant_id)),
        "success",
    )
    return redirect(url_for("merchant.index"), code=303)
