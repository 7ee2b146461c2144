"""Reports: the sales dashboard (overview, trend, rankings, per-window figures) and its XLSX exports."""

from __future__ import annotations

from flask import abort, g, render_template, request

from app.blueprints.access import merchant_area_required
from app.blueprints.merchant import bp, charts
from app.blueprints.merchant.products_excel import xlsx_download
from app.services.core.errors import ValidationFailed
from app.services.reports import sales_report_export, sales_reports, sales_rollup


def _period() -> sales_reports.Period:
    args = request.args
    return sales_reports.period_from_args(args.get("range"), args.get("start"), args.get("end"))


def _range_args(period: sales_reports.Period) -> dict:
    if period.preset != "custom":
        return {"range": period.preset}
    return {"range": "custom", "start": period.start.isoformat(), "end": period.end.isoformat()}


@bp.get("/reports")
@merchant_area_required("reports")
def reports():
    try:
        period = _period()
    except ValidationFailed as exc:
        return render_template("merchant/reports/dashboard.html", error=exc, args=request.args), 400
    merchant_id = g.merchant.id
    trend = sales_reports.trend(merchant_id, period)
    products = sales_reports.product_ranking(merchant_id, period)
    leaders, points = sales_reports.community_rankings(merchant_id, period)
    return render_template(
        "merchant/reports/dashboard.html",
        error=None,
        args=request.args,
        period=period,
        range_args=_range_args(period),
        overview=sales_reports.overview(merchant_id, period),
        trend=trend,
        trend_chart=charts.trend_chart(trend),
        products=products,
        products_chart=charts.ranking_chart(products, "sales_fen", "name"),
        leaders=leaders,
        points=points,
        windows=sales_reports.window_figures(merchant_id, period),
        pending=sales_rollup.pending_rows(merchant_id),
    )


@bp.get("/reports/<table>.xlsx")
@merchant_area_required("reports")
def reports_export(table: str):
    if table not in sales_report_export.TABLES:
        abort(404)
    try:
        period = _period()
    except ValidationFailed as exc:
        return render_template("merchant/reports/dashboard.html", error=exc, args=request.args), 400
    data = sales_report_export.export(table, g.merchant.id, period)
    return xlsx_download(data, sales_report_export.filename(table, period))
