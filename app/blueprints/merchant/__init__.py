from flask import Blueprint

bp = Blueprint("merchant", __name__, url_prefix="/merchant")

from app.blueprints.merchant import after_sales, batches, products, views, windows  # noqa: E402,F401
