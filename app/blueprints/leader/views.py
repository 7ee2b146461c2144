"""The leader's home: today's windows to share, deliveries coming or here, bags waiting."""

from flask import g, render_template
from flask_login import current_user

from app.blueprints.access import leader_required
from app.blueprints.leader import bp
from app.services.leader import leader_today
from app.services.notify import notifications


@bp.get("/")
@leader_required
def index():
    summary = leader_today.today_summary(g.leader, current_user.id)
    # The tab bar's counts are among the page's own figures: not read twice.
    g.leader_tab_badges = leader_today.badges(
        summary["waiting_pickup"], summary["open_after_sales"], summary["unread_alerts"]
    )
    return render_template("leader/index.html", summary=summary)


@bp.get("/me")
@leader_required
def me():
    """Everything that is not a daily tab: deliveries, exceptions, customers, points, alerts,
    the account, the language, and the other roles this user has."""
    g.leader_tab_badges = leader_today.tab_badges(g.leader, notifications.unread_count(current_user.id))
    return render_template("leader/me.html", badges=g.leader_tab_badges)
