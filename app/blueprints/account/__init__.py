from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from app.blueprints.account import tokens, views  # noqa: E402,F401
