"""Every table of the sales dashboard as an XLSX workbook (openpyxl, write-only mode).

Money goes into cells as exact Decimal yuan with a two-decimal format, so Excel sums it as
numbers without a float ever holding it; rates go in as Decimal fractions shown as percentages.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from decimal import Decimal

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from app.services.core import clock, spreadsheets
from app.services.reports import sales_reports
from app.services.reports.sales_reports import EXPORT_ROWS, Period

TABLES = ("overview", "trend", "products", "leaders", "points", "windows")
MONEY = "#,##0.00"
RATE = "0.0%"


def _yuan(fen: int) -> tuple[Decimal, str]:
    return Decimal(fen) / 100, MONEY


def _rate(bp: int | None) -> tuple[Decimal, str] | None:
    return None if bp is None else (Decimal(bp) / 10_000, RATE)


def _overview(merchant_id: int, period: Period) -> tuple[list[str], Iterable[list]]:
    o = sales_reports.overview(merchant_id, period)
    p = o.previous
    rows = [
        [_("GMV"), _yuan(o.gmv_fen), _yuan(p.gmv_fen)],
        [_("Orders"), o.orders, p.orders],
        [_("Customers"), o.customers, p.customers],
        [_("Average order value"), _yuan(o.average_order_fen), _yuan(p.average_order_fen)],
        [_("Units"), o.units, p.units],
        [_("Refunded"), _yuan(o.refunded_fen), _yuan(p.refunded_fen)],
        [_("Refund rate"), _rate(o.refund_rate_bp), _rate(p.refund_rate_bp)],
    ]
    previous = period.previous()
    header = [_("Figure"), f"{period.start} – {period.end}", f"{previous.start} – {previous.end}"]
    return header, rows


def _trend(merchant_id: int, period: Period):
    header = [_("Day"), _("GMV"), _("Orders"), _("Refunded")]
    return header, (
        [d.day.isoformat(), _yuan(d.gmv_fen), d.orders, _yuan(d.refunded_fen)]
        for d in sales_reports.trend(merchant_id, period)
    )


def _products(merchant_id: int, period: Period):
    header = [_("Rank"), _("Product"), _("Spec"), _("Units"), _("Orders"), _("Sales")]
    rows = sales_reports.product_ranking(merchant_id, period, limit=EXPORT_ROWS)
    return header, (
        [n, r["name"], r["spec"], r["units"], r["orders"], _yuan(r["sales_fen"])] for n, r in enumerate(rows, 1)
    )


def _money_columns(r: dict) -> list:
    return [r["orders"], r["units"], _yuan(r["gmv_fen"]), _yuan(r["refunded_fen"])]


def _leaders(merchant_id: int, period: Period):
    header = [_("Rank"), _("Community"), _("Leader"), _("Orders"), _("Units"), _("GMV"), _("Refunded")]
    rows = sales_reports.leader_ranking(merchant_id, period, limit=EXPORT_ROWS)
    return header, ([n, r["community"], r["leader_name"], *_money_columns(r)] for n, r in enumerate(rows, 1))


def _points(merchant_id: int, period: Period):
    header = [_("Rank"), _("Pickup point"), _("Community"), _("Orders"), _("Units"), _("GMV"), _("Refunded")]
    rows = sales_reports.point_ranking(merchant_id, period, limit=EXPORT_ROWS)
    return header, ([n, r["point"], r["community"], *_money_columns(r)] for n, r in enumerate(rows, 1))


def _windows(merchant_id: int, period: Period):
    header = [
        _("Group buy"),
        _("Closed at"),
        _("Items"),
        _("Groups formed"),
        _("Group success"),
        _("Units sold"),
        _("Units offered"),
        _("Sell-through"),
        _("Short units"),
        _("Shortage rate"),
        _("GMV"),
        _("Refunded"),
    ]
    rows = sales_reports.window_figures(merchant_id, period, limit=EXPORT_ROWS)
    return header, (
        [
            r["title"],
            clock.to_local(r["closes_at"]).strftime("%Y-%m-%d %H:%M"),
            r["item_count"],
            r["formed"],
            _rate(r["formed_bp"]),
            r["units_sold"],
            r["units_offered"],
            _rate(r["sell_through_bp"]),
            r["shortage_units"],
            _rate(r["shortage_bp"]),
            _yuan(r["gmv_fen"]),
            _yuan(r["refunded_fen"]),
        ]
        for r in rows
    )


BUILDERS: dict[str, Callable] = {
    "overview": _overview,
    "trend": _trend,
    "products": _products,
    "leaders": _leaders,
    "points": _points,
    "windows": _windows,
}


def export(table: str, merchant_id: int, period: Period) -> bytes:
    """The named dashboard table over the period as an .xlsx file's bytes."""
    header, rows = BUILDERS[table](merchant_id, period)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(table)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    heading = []
    for text in header:
        cell = spreadsheets.xlsx_cell(sheet, text)
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(sheet, value):
    if isinstance(value, tuple):  # (number, format)
        cell = WriteOnlyCell(sheet, value=value[0])
        cell.number_format = value[1]
        return cell
    return spreadsheets.xlsx_value(sheet, value)


def filename(table: str, period: Period) -> str:
    return f"sales-{table}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
