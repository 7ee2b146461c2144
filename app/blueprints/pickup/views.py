from flask import render_template

from app.blueprints.access import staff_required
from app.blueprints.pickup import bp


@bp.get("/")
@staff_required
def counter():
    return render_template("pickup/counter.html")
