"""Cells for every CSV and XLSX file the app writes, safe to open in a spreadsheet.

Product names, specs, categories, pickup points, addresses and titles are typed by merchants,
leaders and customers. A cell of text beginning with `=`, `+`, `-`, `@`, a tab or a carriage
return is read by Excel, WPS and LibreOffice as a formula ("CSV injection": `=HYPERLINK(...)`
or `=cmd|' /C calc'!A0` runs in whoever opens the export), so every writer sends its values
through this module:

- CSV: such text gets a leading apostrophe (OWASP's advice): spreadsheets show it as text.
- XLSX: such text is written as a string cell with the quote-prefix style. That flag is how
  Excel itself stores a cell typed as `'=…`: the text shows as typed, without an apostrophe, and
  editing the cell keeps it text. It also stops openpyxl, which turns any str starting with "="
  into a formula (and "#N/A" into an error value), from doing so. Nothing is added to the text,
  so an exported catalogue re-imports unchanged.

Numbers stay numbers: ints, Decimals and dates pass through as they are, and so does text that is
just a number ("-3", "-12.50"), which no spreadsheet reads as a formula.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def starts_like_a_formula(value: object) -> bool:
    """Whether a spreadsheet could read this value as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS) and _PLAIN_NUMBER.fullmatch(value) is None


def csv_value(value: object) -> object:
    """The value for a CSV cell: text that could be read as a formula gets a leading apostrophe."""
    return "'" + value if starts_like_a_formula(value) else value


def csv_row(values: Iterable) -> list:
    return [csv_value(v) for v in values]


def xlsx_value(sheet, value: object) -> object:
    """The value (or Cell) to give openpyxl's `append` on `sheet`, in normal or write-only mode.

    Text keeps every character a workbook may hold (control characters it may not become "?");
    text that could be read as a formula, or that openpyxl would store as an error value, becomes
    a string cell with the quote prefix."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("?", value)
    if not starts_like_a_formula(value) and value not in ERROR_CODES:
        return value
    cell = Cell(sheet, row=1, column=1, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def xlsx_row(sheet, values: Iterable) -> list:
    return [xlsx_value(sheet, v) for v in values]


def xlsx_cell(sheet, value: object) -> Cell:
    """Like xlsx_value, always as a Cell, for a writer that styles it (a bold heading)."""
    value = xlsx_value(sheet, value)
    return value if isinstance(value, Cell) else Cell(sheet, row=1, column=1, value=value)
