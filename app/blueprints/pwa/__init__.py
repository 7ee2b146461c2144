from flask import Blueprint

# At the site root: a service worker controls only the paths under its own URL, and the one
# worker serves the scanner and the leader's pages alike.
bp = Blueprint("pwa", __name__)

from app.blueprints.pwa import views  # noqa: E402,F401
