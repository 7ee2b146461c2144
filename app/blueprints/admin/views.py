from flask import render_template

from app.blueprints.access import admin_required
from app.blueprints.admin import bp


@bp.get("/")
@admin_required
def index():
    return render_template("admin/index.html")
