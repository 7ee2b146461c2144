"""Merchant home: counts, open stock alerts, and the way into products and windows."""

from flask import g, render_template

from app.blueprints.access import merchant_required
from app.blueprints.merchant import bp
from app.services.catalog import catalog, stock
from app.services.windows import windows as window_service


@bp.get("/")
@merchant_required
def index():
    return render_template(
        "merchant/index.html",
        summary=catalog.merchant_summary(g.merchant.id),
        alerts=stock.open_alerts_for_merchant(g.merchant.id)[:50],
        recent=window_service.list_windows(g.merchant.id).items[:10],
    )
