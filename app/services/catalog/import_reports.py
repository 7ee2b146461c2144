"""The error report of a refused catalogue import: the sheet as sent, an errors column, the bad
cells marked; kept in the merchant's exports folder for download."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import PatternFill

from app.services.core import files, spreadsheets

BAD_FILL = PatternFill("solid", fgColor="FFC7CE")
PREFIX = "import-errors-"


def write(merchant_id: int, header: list[str], keys: list[str | None], rows: list[list[str]], errors) -> str:
    """Save the report; `keys` name each header's column (None: unknown), `errors` have row,
    column and message. Returns the file name."""
    book = Workbook()
    sheet = book.active
    sheet.title = "errors"
    sheet.append(spreadsheets.xlsx_row(sheet, [*header, _("Errors")]))
    by_row: dict[int, list] = {}
    for error in errors:
        by_row.setdefault(error.row, []).append(error)
    for number, cells in enumerate(rows, start=2):
        messages = by_row.get(number, [])
        # As sent, except that nothing in it can run as a formula in the merchant's spreadsheet.
        sheet.append(spreadsheets.xlsx_row(sheet, [*cells, "; ".join(e.message for e in messages)]))
        for error in messages:
            if error.column in keys:
                sheet.cell(row=number, column=keys.index(error.column) + 1).fill = BAD_FILL
    for error in by_row.get(1, []):
        sheet.cell(row=1, column=len(header) + 1, value=error.message)
    name = f"{PREFIX}{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(8)}.xlsx"
    with files.replacing(files.merchant_exports(merchant_id) / name) as tmp:
        book.save(tmp)
    return name


def report_path(merchant_id: int, name: str) -> Path | None:
    """A report of this merchant by its name; None for anything else (names are ours)."""
    if not name.startswith(PREFIX) or not name.endswith(".xlsx") or "/" in name or ".." in name:
        return None
    path = files.merchant_exports(merchant_id) / name
    return path if path.is_file() else None
