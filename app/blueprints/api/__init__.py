from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# CSRF is decided per request in api.tokens: a Bearer request carries no ambient credential
# a browser could replay, while a session-authenticated write must send X-CSRFToken.
csrf.exempt(bp)

# Domain modules register their views on `bp` when imported.
from app.blueprints.api import (  # noqa: E402,F401
    leader,
    merchant,
    merchant_reports,
    orders,
    pickup,
    pickup_offline,
    push,
    tokens,
    views,
)
