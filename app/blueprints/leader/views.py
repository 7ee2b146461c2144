from flask import render_template

from app.blueprints.access import leader_required
from app.blueprints.leader import bp


@bp.get("/")
@leader_required
def index():
    return render_template("leader/index.html")
