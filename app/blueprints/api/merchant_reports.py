"""Merchant API: the sales overview, the same figures the dashboard's cards show.

For integrations (a BI sheet, a morning message) and a light client: one small JSON answer from
the summary tables (services/reports/sales_reports.py). Staff need the `reports` area.
"""

from __future__ import annotations

from datetime import date

from flask import g
from pydantic import BaseModel, ConfigDict, Field

from app.blueprints.api import bp
from app.blueprints.api.common import api_role, document, parse_query, respond
from app.services.reports import sales_reports, sales_rollup

_ISO_DAY = {"pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$"}


class ReportQuery(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    # Stated for clients; sales_reports.period_from_args checks them and names the wrong field.
    range: str = Field(
        default="7d",
        max_length=10,
        description="today, 7d, 30d or custom.",
        json_schema_extra={"enum": list(sales_reports.PRESETS) + ["custom"]},
    )
    start: str = Field(
        default="",
        max_length=10,
        description="With range=custom: the first day, YYYY-MM-DD (at most 366 days before `end`).",
        json_schema_extra=_ISO_DAY,
    )
    end: str = Field(
        default="",
        max_length=10,
        description="With range=custom: the last day, YYYY-MM-DD.",
        json_schema_extra=_ISO_DAY,
    )


class Figures(BaseModel):
    gmv_fen: int = Field(description="Money received for orders paid in the period (late payments excluded).")
    orders: int = Field(description="Orders paid in the period.")
    units: int
    customers: int = Field(description="Distinct customers (phone numbers) among them.")
    customers_estimated: bool = Field(description="True past 20,000 customer-days: a HyperLogLog estimate.")
    average_order_fen: int
    refunded_fen: int = Field(description="Money refunded in the period, of any order.")
    refunds: int
    refund_rate_bp: int | None = Field(description="Refunded ÷ GMV in basis points; null when nothing was sold.")


class PeriodOut(BaseModel):
    start: date
    end: date
    days: int


class OverviewOut(BaseModel):
    period: PeriodOut
    figures: Figures
    previous_period: PeriodOut
    previous: Figures
    pending_ledger_rows: int = Field(description="Recent payments and refunds not yet in these figures.")


def _figures(o: sales_reports.Overview) -> Figures:
    return Figures(
        gmv_fen=o.gmv_fen,
        orders=o.orders,
        units=o.units,
        customers=o.customers,
        customers_estimated=o.customers_estimated,
        average_order_fen=o.average_order_fen,
        refunded_fen=o.refunded_fen,
        refunds=o.refunds,
        refund_rate_bp=o.refund_rate_bp,
    )


def _period(p: sales_reports.Period) -> PeriodOut:
    return PeriodOut(start=p.start, end=p.end, days=p.days)


@bp.get("/merchant/reports/overview")
@document(
    summary="Sales overview for a period, beside the period before",
    query=ReportQuery,
    response=OverviewOut,
    tags=["merchant"],
    description="GMV, orders, customers, average order value and refund rate for today, 7 or 30 days "
    "(ending today in the deployment's zone) or a custom range of at most 366 days.",
)
@api_role("merchant:reports")
def merchant_reports_overview():
    query = parse_query(ReportQuery)
    period = sales_reports.period_from_args(query.range, query.start, query.end)
    overview = sales_reports.overview(g.merchant.id, period)
    return respond(
        OverviewOut(
            period=_period(period),
            figures=_figures(overview),
            previous_period=_period(period.previous()),
            previous=_figures(overview.previous),
            pending_ledger_rows=sales_rollup.pending_rows(g.merchant.id),
        )
    )
