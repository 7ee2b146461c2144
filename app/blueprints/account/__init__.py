from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")

from app.blueprints.account import channels, security, tokens, views  # noqa: E402,F401
