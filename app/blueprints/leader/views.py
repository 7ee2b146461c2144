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
