from flask import Blueprint

# Probes and metrics for operators, at the site root where load balancers and Prometheus look.
bp = Blueprint("ops", __name__)

from app.blueprints.ops import views  # noqa: E402,F401
