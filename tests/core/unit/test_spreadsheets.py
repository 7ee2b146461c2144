"""The one helper every CSV and XLSX writer uses: text that a spreadsheet would read as a formula
is neutralised (CSV: a leading apostrophe; XLSX: a string cell with the quote prefix), numbers
stay numbers, and nothing else changes."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from app.services.core import spreadsheets

HOSTILE = [
    '=HYPERLINK("http://evil.example","点我")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "=",
]
HARMLESS = ["赣南脐橙", "500g", "幸福路1号", "", "a=b", "1+1", "'quoted"]
NUMBERS = [0, -3, 7, Decimal("-12.50"), -1.5, date(2026, 11, 22), None]


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_text_that_starts_like_a_formula_gets_an_apostrophe(text):
    assert spreadsheets.csv_value(text) == "'" + text


@pytest.mark.parametrize("value", [*HARMLESS, *NUMBERS, "-3", "-12.50"])
def test_csv_numbers_and_ordinary_text_are_unchanged(value):
    assert spreadsheets.csv_value(value) == value
    assert spreadsheets.csv_row([value, value]) == [value, value]


def _round_trip(write_only: bool, values: list) -> tuple[list, bytes]:
    book = Workbook(write_only=write_only)
    sheet = book.create_sheet("s") if write_only else book.active
    sheet.append(spreadsheets.xlsx_row(sheet, values))
    out = io.BytesIO()
    book.save(out)
    return list(load_workbook(io.BytesIO(out.getvalue())).worksheets[0][1]), out.getvalue()


@pytest.mark.parametrize("write_only", [False, True], ids=["normal", "write-only"])
def test_xlsx_hostile_text_is_a_quote_prefixed_string_never_a_formula(write_only):
    cells, data = _round_trip(write_only, [*HOSTILE, "#N/A"])
    assert [c.value for c in cells] == [*HOSTILE, "#N/A"]  # the text itself is kept as typed
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read(next(n for n in archive.namelist() if n.startswith("xl/worksheets/")))
    assert re.search(rb"<f[ >]", sheet_xml) is None


@pytest.mark.parametrize("write_only", [False, True], ids=["normal", "write-only"])
def test_xlsx_numbers_stay_numbers_and_plain_text_stays_plain(write_only):
    cells, _data = _round_trip(write_only, [-3, Decimal("-12.50"), -1.5, "赣南脐橙", "-3"])
    assert [c.data_type for c in cells] == ["n", "n", "n", "s", "s"]
    assert [c.value for c in cells] == [-3, -12.5, -1.5, "赣南脐橙", "-3"]
    assert not any(c.quotePrefix for c in cells)


def test_xlsx_control_characters_a_workbook_cannot_hold_become_question_marks():
    cells, _data = _round_trip(True, ["a\x01b", "=\x02"])
    assert [c.value for c in cells] == ["a?b", "=?"]
