"""The owner's team page: invite staff with the areas they may use, change areas, remove."""

from __future__ import annotations

from flask import flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import merchant_owner_required
from app.blueprints.leader.forms import PlainForm
from app.blueprints.merchant import bp
from app.services.accounts import merchant_team
from app.services.core.errors import DomainError, ValidationFailed


def _page(*, invite_link: str | None = None, error: DomainError | None = None, status: int = 200):
    response = make_response(
        render_template(
            "merchant/team.html",
            members=merchant_team.members(g.merchant.id),
            invitations=merchant_team.pending_invitations(g.merchant.id),
            areas=merchant_team.AREAS,
            form=PlainForm(),
            invite_link=invite_link,
            error=error,
            fields=error.fields if error else {},
            values=request.form if error else {},
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"  # an invitation link is shown once
    return response


@bp.get("/team")
@merchant_owner_required
def team():
    return _page()


@bp.post("/team/invite")
@merchant_owner_required
def team_invite():
    try:
        _invitation, token = merchant_team.invite(
            g.membership,
            current_user,
            name=request.form.get("name", ""),
            phone=request.form.get("phone", ""),
            areas=request.form.getlist("areas"),
        )
    except DomainError as exc:
        return _page(error=exc, status=exc.status)
    return _page(invite_link=url_for("auth.join", token=token, _external=True))


@bp.post("/team/members/<int:member_id>/areas")
@merchant_owner_required
def team_member_areas(member_id: int):
    try:
        merchant_team.set_areas(g.membership, current_user, member_id, request.form.getlist("areas"))
    except ValidationFailed as exc:
        flash(next(iter(exc.fields.values()), exc.message), "error")
        return redirect(url_for("merchant.team"))
    flash(_("Saved."), "success")
    return redirect(url_for("merchant.team"))


@bp.post("/team/members/<int:member_id>/remove")
@merchant_owner_required
def team_member_remove(member_id: int):
    try:
        merchant_team.remove(g.membership, current_user, member_id)
    except ValidationFailed as exc:
        flash(exc.message, "error")
        return redirect(url_for("merchant.team"))
    flash(_("Removed from the team."), "success")
    return redirect(url_for("merchant.team"))


@bp.post("/team/invitations/<int:invitation_id>/revoke")
@merchant_owner_required
def team_invitation_revoke(invitation_id: int):
    merchant_team.revoke(g.membership, current_user, invitation_id)
    flash(_("Invitation withdrawn."), "success")
    return redirect(url_for("merchant.team"))
