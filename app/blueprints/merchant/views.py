"""Merchant home: counts, open stock alerts, and the way into products and windows."""

from flask import g, render_template

from app.blueprints.access import merchant_required
from app.blueprints.merchant import bp
from app.services.accounts import merchant_team
from app.services.catalog import catalog, stock
from app.services.reports import sales_reports
from app.services.windows import windows as window_service


@bp.get("/")
@merchant_required
def index():
    areas = merchant_team.allowed_areas(g.membership)
    today = None
    if "reports" in areas:  # what sells today, from the summaries the reports read
        period = sales_reports.period_from_args("today", None, None)
        today = sales_reports.overview(g.merchant.id, period, compare=False)
    return render_template(
        "merchant/index.html",
        today=today,
        summary=catalog.merchant_summary(g.merchant.id),
        alerts=stock.open_alerts_for_merchant(g.merchant.id)[:50],
        recent=window_service.list_windows(g.merchant.id).items[:10],
    )
