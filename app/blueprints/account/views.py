from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.access import login_required
from app.blueprints.account import bp
from app.services.core.errors import ValidationFailed
from app.services.notify import channels as channel_service
from app.services.notify import notification_prefs
from app.services.notify import notifications as notification_service


def _page(status: int = 200, error: str | None = None):
    items = notification_service.list_for(current_user.id)
    return (
        render_template(
            "account/notifications.html",
            items=items,
            kinds=channel_service.EVENTS,
            shown=set(notification_prefs.shown_kinds(current_user)),
            preferences_error=error,
        ),
        status,
    )


@bp.get("/notifications")
@login_required
def notifications():
    return _page()


@bp.post("/notifications/read")
@login_required
def mark_read():
    notification_service.mark_all_read(current_user.id)
    return redirect(url_for("account.notifications"))


@bp.post("/notifications/preferences")
@login_required
def notification_preferences():

    try:
        notification_prefs.set_shown_kinds(current_user, request.form.getlist("kinds"))
    except ValidationFailed as exc:
        return _page(422, next(iter(exc.fields.values()), exc.message))
    flash(_("Saved: the list shows the kinds you chose."), "success")
    return redirect(url_for("account.notifications"))
