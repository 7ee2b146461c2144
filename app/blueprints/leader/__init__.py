from flask import Blueprint

from app.blueprints.leader.labels import labels

bp = Blueprint("leader", __name__, url_prefix="/leader")
bp.context_processor(labels)

from app.blueprints.leader import batches, orders, points, share, views  # noqa: E402,F401
