from flask import Blueprint, g

from app.services.accounts import merchant_team

bp = Blueprint("merchant", __name__, url_prefix="/merchant")


@bp.context_processor
def merchant_areas():
    # Which sections this member may open: the navigation and the home page show only those.
    member = g.get("membership")
    return {
        "merchant_areas": merchant_team.allowed_areas(member),
        "merchant_is_owner": bool(member and member.role == "owner"),
    }


from app.blueprints.merchant import (  # noqa: E402,F401,I001
    after_sales,
    batches,
    documents,
    finance,
    products,
    products_excel,
    reports,
    team,
    views,
    window_quotas,
    windows,
)
