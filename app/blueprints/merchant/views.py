from flask import render_template

from app.blueprints.access import merchant_required
from app.blueprints.merchant import bp


@bp.get("/")
@merchant_required
def index():
    return render_template("merchant/index.html")
