"""The leader's home: today's windows to share, deliveries coming or here, bags waiting."""

from flask import g, render_template
from flask_login import current_user

from app.blueprints.access import leader_required
from app.blueprints.leader import bp
from app.services.leader import leader_today


@bp.get("/")
@leader_required
def index():
    return render_template("leader/index.html", summary=leader_today.today_summary(g.leader, current_user.id))


@bp.get("/me")
@leader_required
def me():
    """Everything that is not a daily tab: deliveries, exceptions, customers, points, alerts,
    the account, the language, and the other roles this user has."""
    return render_template("leader/me.html", badges=leader_today.tab_badges(g.leader, current_user.id))
