from flask import Blueprint

bp = Blueprint("leader", __name__, url_prefix="/leader")

from app.blueprints.leader import views  # noqa: E402,F401
