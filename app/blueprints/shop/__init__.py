from flask import Blueprint

bp = Blueprint("shop", __name__, url_prefix="")

from app.blueprints.shop import after_sales, views  # noqa: E402,F401
