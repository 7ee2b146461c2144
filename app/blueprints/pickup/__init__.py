from flask import Blueprint

bp = Blueprint("pickup", __name__, url_prefix="/pickup")

from app.blueprints.pickup import views  # noqa: E402,F401
