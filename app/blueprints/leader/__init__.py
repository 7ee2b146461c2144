from flask import Blueprint

from app.blueprints.leader.labels import labels
from app.blueprints.leader.tabs import leader_tabs

bp = Blueprint("leader", __name__, url_prefix="/leader")
bp.context_processor(labels)
bp.add_app_template_global(leader_tabs)

import app.blueprints.leader.pickup_overview  # noqa: E402,F401
from app.blueprints.leader import batches, customers, exceptions, label_pdfs, orders, points, share, views  # noqa: E402,F401
