from flask import Blueprint

from app.blueprints.leader.labels import labels

bp = Blueprint("leader", __name__, url_prefix="/leader")
bp.context_processor(labels)

import app.blueprints.leader.pickup_overview  # noqa: E402,F401
from app.blueprints.leader import batches, customers, exceptions, label_pdfs, orders, points, share, views  # noqa: E402,F401
