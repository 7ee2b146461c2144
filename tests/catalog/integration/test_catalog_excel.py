"""The catalogue in Excel: the export re-imports unchanged; an import with any bad row changes
nothing and reports each bad row (on the page and in a downloadable report); files that are not
workbooks, too big or too long are refused."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import AuditRecord, MerchantMember, Product, StockAlert, User
from app.services.catalog import catalog_excel
from tests.support.forms import csrf_from

EN = ["ID", "Name", "Spec / unit", "Category", "Subcategory", "Price (yuan)", "Stock", "Low-stock alert at", "Listed"]


@pytest.fixture
def shop(make_merchant, make_product, client, login):
    merchant = make_merchant("鲜果坊")
    oranges = make_product(merchant, name="赣南脐橙", price_fen=2990, stock=60)
    oranges.category, oranges.subcategory, oranges.spec = "水果", "柑橘", "2.5kg"
    milk = make_product(merchant, name="鲜牛奶", price_fen=1590, stock=7, threshold=3)
    milk.category, milk.listed = "蛋奶", False
    db.session.commit()
    owner = db.session.get(
        User, db.session.scalar(select(MerchantMember.user_id).where(MerchantMember.merchant_id == merchant.id))
    )
    login(owner)
    return merchant, [oranges, milk]


def _snapshot(merchant_id):
    db.session.expire_all()
    return [
        (p.id, p.name, p.spec, p.category, p.subcategory, p.price_fen, p.stock, p.low_stock_threshold, p.listed)
        for p in db.session.scalars(select(Product).where(Product.merchant_id == merchant_id).order_by(Product.id))
    ]


def _xlsx(rows, header=EN) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(client, data: bytes, name="products.xlsx"):
    token = csrf_from(client.get("/merchant/products/excel").get_data(as_text=True))
    return client.post(
        "/merchant/products/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_the_export_re_imports_unchanged(client, shop):
    merchant, _products = shop
    before = _snapshot(merchant.id)
    exported = client.get("/merchant/products/export.xlsx")
    assert exported.status_code == 200 and exported.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(exported.data)).active.iter_rows(values_only=True))
    assert len(rows) == 3 and "赣南脐橙" in rows[1] + rows[2]
    response = _upload(client, exported.data)
    assert response.status_code == 200
    assert "0 added, 0 updated, 2 unchanged" in response.get_data(as_text=True)
    assert _snapshot(merchant.id) == before


def test_a_filled_template_adds_and_updates_products(client, shop):
    merchant, (oranges, milk) = shop
    template = client.get("/merchant/products/template.xlsx")
    book = load_workbook(io.BytesIO(template.data))
    assert [c.value for c in book.active[1]] == [*EN, "Stock when exported"] and "notes" in book.sheetnames
    data = _xlsx(
        [
            [None, "阳光玫瑰葡萄", "500g", "水果", "葡萄", "19.9", 40, 5, "yes"],
            [oranges.id, "赣南脐橙", "2.5kg", "水果", "柑橘", 27.5, 2, 5, "是"],
            [None, None, None, None, None, None, None, None, None],  # blank rows are skipped
        ]
    )
    response = _upload(client, data)
    assert "1 added, 1 updated, 0 unchanged" in response.get_data(as_text=True)
    db.session.expire_all()
    grapes = db.session.scalar(select(Product).where(Product.name == "阳光玫瑰葡萄"))
    assert (grapes.price_fen, grapes.stock, grapes.subcategory, grapes.listed) == (1990, 40, "葡萄", True)
    oranges = db.session.get(Product, oranges.id)
    assert (oranges.price_fen, oranges.stock) == (2750, 2)
    assert db.session.scalar(select(StockAlert).where(StockAlert.product_id == oranges.id)) is not None  # 2 <= 5
    assert db.session.scalar(select(AuditRecord).where(AuditRecord.action == "catalogue.imported")).detail == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
    }


def test_chinese_headers_in_any_order_are_understood(client, shop):
    merchant, _products = shop
    data = _xlsx([["否", "12.50", "老酸奶", "蛋奶"]], header=["上架", "价格（元）", "名称", "分类"])
    response = _upload(client, data)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    yogurt = db.session.scalar(select(Product).where(Product.name == "老酸奶"))
    assert (yogurt.price_fen, yogurt.listed, yogurt.category, yogurt.stock) == (1250, False, "蛋奶", 0)


def test_an_import_with_bad_rows_changes_nothing_and_reports_each_one(client, shop, make_merchant, make_product):
    merchant, (oranges, _milk) = shop
    stranger = make_product(make_merchant("别家"), name="别家的货")
    before = _snapshot(merchant.id)
    data = _xlsx(
        [
            [None, "好商品", "", "水果", "", "9.90", 10, 0, "是"],  # row 2: fine
            [None, "", "", "", "", "1", 1, 0, "是"],  # row 3: no name
            [None, "贵", "", "", "", "12.345", 1, 0, "是"],  # row 4: 3 decimals
            [stranger.id, "偷改", "", "", "", "1", 1, 0, "是"],  # row 5: another merchant's id
            [None, "脐橙", "", "", "柑橘", "1", -3, 0, "maybe"],  # row 6: subcategory alone, stock, listed
            [oranges.id, "脐橙", "", "水果", "", "1", 1, 0, "是"],  # row 7: fine itself...
            [oranges.id, "脐橙", "", "水果", "", "1", 1, 0, "是"],  # row 8: ...but the ID repeats
            [None, "注入\u200b", "", "", "", "1", 1, 0, "是"],  # row 9: an invisible format character
        ]
    )
    response = _upload(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Nothing was imported" in html
    assert _snapshot(merchant.id) == before
    rows = [int(cell.split("<td>")[1].split("</td>")[0]) for cell in html.split('data-testid="row-error">')[1:]]
    assert sorted(set(rows)) == [3, 4, 5, 6, 8, 9]
    report_link = html.split('data-testid="error-report"')[0].rsplit('href="', 1)[1].split('"')[0]
    report = client.get(report_link)
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(report.data)).active
    assert sheet.cell(row=1, column=10).value == "Errors"
    assert sheet.cell(row=2, column=10).value in (None, "")
    assert "2 decimals" in sheet.cell(row=4, column=10).value
    assert sheet.cell(row=4, column=6).fill.fgColor.rgb.endswith("FFC7CE")


@pytest.mark.parametrize(
    "data",
    [b"", b"not a spreadsheet at all", b"%PDF-1.4\n", "名称,价格\n苹果,1\n".encode(), b"PK\x03\x04garbage"],
    ids=["empty", "text", "pdf", "csv", "broken-zip"],
)
def test_files_that_are_not_workbooks_are_refused(client, shop, data):
    merchant, _products = shop
    before = _snapshot(merchant.id)
    response = _upload(client, data)
    assert response.status_code == 422 and "xlsx" in response.get_data(as_text=True).lower()
    assert _snapshot(merchant.id) == before


def test_a_workbook_that_unpacks_huge_is_refused_unread(client, shop):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (catalog_excel.MAX_UNPACKED_BYTES + 1))
    assert len(out.getvalue()) < 1024 * 1024
    response = _upload(client, out.getvalue())
    assert response.status_code == 422 and "50 MB" in response.get_data(as_text=True)


def test_missing_required_columns_and_too_many_rows_are_reported(client, shop, monkeypatch):
    response = _upload(client, _xlsx([["x"]], header=["Colour"]))
    assert response.status_code == 422 and "missing" in response.get_data(as_text=True)
    monkeypatch.setattr(catalog_excel, "MAX_ROWS", 3)
    response = _upload(client, _xlsx([[None, f"商品{i}", "", "", "", "1", 1, 0, "是"] for i in range(4)]))
    assert response.status_code == 422 and "At most 3 products" in response.get_data(as_text=True)
    assert db.session.scalar(select(Product).where(Product.name == "商品0")) is None


def test_an_oversized_upload_is_refused_before_it_is_read(app, client, shop, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 10_000)
    response = _upload(client, b"PK" + b"\0" * 400_000)
    assert response.status_code == 413


def test_reports_belong_to_their_merchant(app, client, shop, login, make_merchant, make_user):
    response = _upload(client, _xlsx([[None, "", "", "", "", "1", 1, 0, "是"]]))
    link = response.get_data(as_text=True).split('data-testid="error-report"')[0].rsplit('href="', 1)[1].split('"')[0]
    rival = make_user("对手")
    make_merchant("别家", owner=rival)
    login(rival)
    assert client.get(link).status_code == 404
    assert client.get("/merchant/products/import-reports/..%2F..%2Fsecret_key").status_code == 404


def test_the_chinese_export_re_imports_unchanged_too(client, shop):
    merchant, _products = shop
    before = _snapshot(merchant.id)
    exported = client.get("/merchant/products/export.xlsx?lang=zh")
    header = [c.value for c in load_workbook(io.BytesIO(exported.data)).active[1]]
    assert header[:2] == ["编号", "名称"] and "子分类" in header
    assert "0 added, 0 updated, 2 unchanged" in _upload(client, exported.data).get_data(as_text=True)
    assert _snapshot(merchant.id) == before


def test_re_importing_an_old_export_keeps_the_sales_made_since(client, shop):
    merchant, (oranges, milk) = shop
    exported = client.get("/merchant/products/export.xlsx").data
    db.session.get(Product, oranges.id).stock = 55  # five sold after the export
    db.session.commit()
    assert "0 added, 0 updated, 2 unchanged" in _upload(client, exported).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Product, oranges.id).stock == 55
    book = load_workbook(io.BytesIO(exported))
    sheet = book.active
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == oranges.id:
            row[6].value = 100  # the merchant raises the stock typed against the old figure
    out = io.BytesIO()
    book.save(out)
    response = _upload(client, out.getvalue())
    assert response.status_code == 422 and "changed to 55" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Product, oranges.id).stock == 55
