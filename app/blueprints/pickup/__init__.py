from flask import Blueprint

from app.blueprints.leader.labels import labels

bp = Blueprint("pickup", __name__, url_prefix="/pickup")
bp.context_processor(labels)

from app.blueprints.pickup import label_pdfs, phone, scan, views  # noqa: E402,F401
