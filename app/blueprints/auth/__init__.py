from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.blueprints.auth import join, views  # noqa: E402,F401
