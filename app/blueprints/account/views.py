from flask import redirect, render_template, url_for
from flask_login import current_user

from app.blueprints.access import login_required
from app.blueprints.account import bp
from app.services import notifications as notification_service


@bp.get("/notifications")
@login_required
def notifications():
    items = notification_service.list_for(current_user.id)
    return render_template("account/notifications.html", items=items)


@bp.post("/notifications/read")
@login_required
def mark_read():
    notification_service.mark_all_read(current_user.id)
    return redirect(url_for("account.notifications"))
