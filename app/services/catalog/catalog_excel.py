"""The catalogue in Excel (openpyxl): a template, an export that re-imports unchanged, and an
import that checks every row and applies all of them or none.

Columns (headers in Chinese or English, any order; unknown columns are ignored): ID, name, spec,
category, subcategory, price (yuan), stock, low-stock alert, listed. A row with an ID updates
that product of this merchant; a row without one adds a product. Stock is set to the sheet's
value, unless the row carries the stock as exported: then an unchanged stock is left alone (sales
since the export stand) and a changed one applies only if nothing was sold meanwhile. Any bad
row rejects the whole file, with an error report: the sheet as sent plus an
"errors" column, the bad cells marked.

The file is read as a stream (read_only) with limits on its size, its unpacked size and its rows,
so a crafted workbook (a zip bomb, a million rows) is refused rather than exhausting memory.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select, update

from app.extensions import db
from app.models import Merchant, Product
from app.services.catalog import catalog, import_reports
from app.services.catalog.stock import sync_stock_alerts
from app.services.core import audit, checks, clock, spreadsheets
from app.services.core.errors import ValidationFailed

MAX_ROWS = 5000
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
COLUMNS = (
    ("id", _l("ID")),
    ("name", _l("Name")),
    ("spec", _l("Spec / unit")),
    ("category", _l("Category")),
    ("subcategory", _l("Subcategory")),
    ("price", _l("Price (yuan)")),
    ("stock", _l("Stock")),
    ("low_stock_threshold", _l("Low-stock alert at")),
    ("listed", _l("Listed")),
    # The stock as exported: a row whose stock still equals it leaves the live stock alone, and
    # a changed stock only applies if nothing was sold since the export (compare-and-set).
    ("stock_seen", _l("Stock when exported")),
)
REQUIRED = {"name", "price"}
YES = {"1", "yes", "y", "true", "是", "上架", "✓"}
NO = {"0", "no", "n", "false", "否", "下架", ""}


@dataclass
class RowError:
    row: int  # the sheet's row number, as Excel shows it
    column: str | None  # the column key, None for the whole row
    message: str


class ImportRejected(ValidationFailed):
    """The file was refused; `errors` say why, `report` names the error report to download."""

    code = "import_rejected"

    def __init__(self, errors: list[RowError], report: str | None):
        super().__init__(_("Nothing was imported: %(n)d problem(s) in the file.", n=len(errors)))
        self.errors = errors
        self.report = report


def _headers(locale: str | None = None) -> list[str]:
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        return [str(label) for _key, label in COLUMNS]


def _known_headers() -> dict[str, str]:
    """Every accepted header text (Chinese and English, case and spaces ignored) → column key."""
    known = {}
    for locale in ("zh", "en"):
        for (key, _label), text in zip(COLUMNS, _headers(locale), strict=True):
            known[_norm(text)] = key
    known.update({_norm(key): key for key, _label in COLUMNS})
    return known


def _norm(text) -> str:
    return "".join(str(text or "").split()).lower()


def _yuan_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _workbook(rows: list[list], locale: str | None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "products"
    sheet.append(spreadsheets.xlsx_row(sheet, _headers(locale)))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    # A name typed as "=…" goes out as typed, marked with the quote prefix rather than given an
    # apostrophe (services/core/spreadsheets.py): the import reads it back with nothing to strip.
    for row in rows:
        sheet.append(spreadsheets.xlsx_row(sheet, row))
    for letter, width in zip("ABCDEFGHIJ", (8, 28, 12, 12, 12, 12, 10, 12, 8, 12), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template(locale: str | None = None) -> bytes:
    """An empty sheet with the headers, and a second sheet explaining each column."""
    data = _workbook([], locale)
    book = load_workbook(io.BytesIO(data))
    notes = book.create_sheet("notes")
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        notes.append([_("Column"), _("What to enter")])
        explanations = (
            _("Leave empty for a new product; keep it to update that product."),
            _("Required, at most 120 characters."),
            _("Optional, e.g. 500g."),
            _("Optional, e.g. 水果."),
            _("Optional, within the category, e.g. 柑橘."),
            _("Required, in yuan with at most 2 decimals, e.g. 12.50."),
            _("A whole number; the stock is set to it."),
            _("A whole number; a stock alert fires at or below it."),
            _("是/否 or yes/no; empty means no."),
            _("Filled in by the export; leave it as it is. Empty: the stock is set as typed."),
        )
        for header, text in zip(_headers(locale), explanations, strict=True):
            notes.append([header, str(text)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(merchant_id: int, locale: str | None = None) -> bytes:
    """Every product of the merchant, in the import's columns (so it re-imports unchanged)."""
    products = db.session.scalars(
        select(Product)
        .where(Product.merchant_id == merchant_id)
        .order_by(Product.category, Product.subcategory, Product.name, Product.id)
    )
    with force_locale(locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
        yes, no = _("yes"), _("no")
    rows = [
        [
            p.id,
            p.name,
            p.spec,
            p.category,
            p.subcategory,
            _yuan_text(p.price_fen),
            p.stock,
            p.low_stock_threshold,
            yes if p.listed else no,
            p.stock,
        ]
        for p in products
    ]
    return _workbook(rows, locale)


# ---- reading


def _open(data: bytes):
    if not data:
        raise ValidationFailed(fields={"file": _("Choose an .xlsx file.")})
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
                raise ValidationFailed(fields={"file": _("The file unpacks to more than 50 MB; split it.")})
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ValidationFailed:
        raise
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise ValidationFailed(fields={"file": _("This is not an Excel .xlsx file.")}) from None


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _whole(value, column: str, errors: list, row: int, *, default: int | None) -> int | None:
    text = _text(value)
    if not text:
        if default is None:
            errors.append(RowError(row, column, _("Enter a whole number.")))
        return default
    if not text.isdigit() or len(text) > 9:
        errors.append(RowError(row, column, _("Enter a whole number from 0 to %(n)d.", n=catalog.MAX_STOCK)))
        return None
    number = int(text)
    if number > catalog.MAX_STOCK:
        errors.append(RowError(row, column, _("Enter a whole number from 0 to %(n)d.", n=catalog.MAX_STOCK)))
        return None
    return number


def _price(value, errors: list, row: int) -> int | None:
    text = _text(value).lstrip("¥￥").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount < 0
        or amount != amount.quantize(Decimal("0.01"))
        or amount * 100 > catalog.MAX_PRICE_FEN
    ):
        errors.append(RowError(row, "price", _("Enter a price in yuan such as 12.50 (at most 2 decimals).")))
        return None
    return int(amount * 100)


@dataclass
class ParsedRow:
    row: int
    product_id: int | None
    values: dict
    stock_seen: int | None = None


def _parse(sheet, merchant_id: int) -> tuple[list[ParsedRow], list[RowError], list[str], list[list]]:
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None) or ()
    known = _known_headers()
    keys = [known.get(_norm(h)) for h in header]
    errors: list[RowError] = []
    missing = REQUIRED - set(keys)
    if missing:
        labels = dict(COLUMNS)
        names = ", ".join(str(labels[k]) for k in sorted(missing))
        errors.append(RowError(1, None, _("The first row must name the columns; missing: %(names)s.", names=names)))
        return [], errors, [str(h or "") for h in header], []
    mine = set(db.session.scalars(select(Product.id).where(Product.merchant_id == merchant_id)))
    parsed, raw_rows, seen_ids = [], [], {}
    for number, raw in enumerate(rows, start=2):
        if number - 1 > MAX_ROWS:
            errors.append(RowError(number, None, _("At most %(n)d products per file.", n=MAX_ROWS)))
            break
        cells = {key: raw[i] if i < len(raw) else None for i, key in enumerate(keys) if key}
        raw_rows.append(list(raw))
        if all(_text(v) == "" for v in cells.values()):
            continue  # blank rows are skipped
        before = len(errors)
        product_id = None
        id_text = _text(cells.get("id"))
        if id_text:
            if not id_text.isdigit() or len(id_text) > 12 or int(id_text) not in mine:
                errors.append(RowError(number, "id", _("No product of yours has this ID; leave it empty to add one.")))
            elif int(id_text) in seen_ids:
                errors.append(RowError(number, "id", _("This ID is also on row %(row)d.", row=seen_ids[int(id_text)])))
            else:
                product_id = int(id_text)
                seen_ids[product_id] = number
        values = {}
        for key, max_len, required in (
            ("name", 120, True),
            ("spec", 60, False),
            ("category", 40, False),
            ("subcategory", 40, False),
        ):
            values[key], error = checks.clean_line(_text(cells.get(key)), max_len=max_len, required=required)
            if error:
                errors.append(RowError(number, key, error))
        if values["subcategory"] and not values["category"]:
            errors.append(RowError(number, "subcategory", _("A subcategory needs its category.")))
        values["price_fen"] = _price(cells.get("price"), errors, number)
        values["stock"] = _whole(cells.get("stock"), "stock", errors, number, default=0)
        values["low_stock_threshold"] = _whole(
            cells.get("low_stock_threshold"), "low_stock_threshold", errors, number, default=0
        )
        listed = _norm(cells.get("listed"))
        if listed in YES:
            values["listed"] = True
        elif listed in NO:
            values["listed"] = False
        else:
            errors.append(RowError(number, "listed", _("Write 是 or 否 (yes or no).")))
        seen = _text(cells.get("stock_seen"))
        stock_seen = _whole(seen, "stock_seen", errors, number, default=None) if seen else None
        if len(errors) == before:
            parsed.append(ParsedRow(number, product_id, values, stock_seen))
    return parsed, errors, [str(h or "") for h in header], raw_rows


# ---- applying


def import_catalogue(merchant: Merchant, data: bytes, *, actor: str) -> dict[str, int]:
    """Apply every row of the file or none; returns {"created", "updated", "unchanged"}."""
    book = _open(data)
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise ValidationFailed(fields={"file": _("The file has no sheet.")})
        parsed, errors, header, raw_rows = _parse(sheet, merchant.id)
    finally:
        book.close()
    if errors:
        raise ImportRejected(errors=errors, report=_write_report(merchant.id, header, raw_rows, errors))
    if not parsed:
        raise ValidationFailed(fields={"file": _("The file has no products in it.")})
    now = clock.now()
    existing = {
        p.id: p
        for p in db.session.scalars(
            select(Product).where(Product.id.in_([r.product_id for r in parsed if r.product_id]))
        )
    }
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    touched, created, stale = [], [], []
    for row in parsed:
        if row.product_id is None:
            product = Product(merchant_id=merchant.id, created_at=now, updated_at=now, **row.values)
            db.session.add(product)
            created.append(product)
            counts["created"] += 1
            continue
        current = existing[row.product_id]
        values = dict(row.values)
        if row.stock_seen is not None and values["stock"] == row.stock_seen:
            del values["stock"]  # untouched in the sheet: orders placed since the export stand
        changes = {k: v for k, v in values.items() if getattr(current, k) != v}
        if not changes:
            counts["unchanged"] += 1
            continue
        stmt = update(Product).where(Product.id == current.id, Product.merchant_id == merchant.id)
        if "stock" in changes and row.stock_seen is not None:
            stmt = stmt.where(Product.stock == row.stock_seen)
        if not db.session.execute(
            stmt.values(**changes, updated_at=now).execution_options(synchronize_session=False)
        ).rowcount:
            stale.append(
                RowError(row.row, "stock", _("Stock changed to %(n)d since the export; check it.", n=current.stock))
            )
            continue
        touched.append(current.id)
        counts["updated"] += 1
    if stale:
        db.session.rollback()
        raise ImportRejected(errors=stale, report=_write_report(merchant.id, header, raw_rows, stale))
    db.session.flush()
    sync_stock_alerts([*touched, *(product.id for product in created)])
    audit.record(actor, "catalogue.imported", "merchant", merchant.id, **counts)
    db.session.commit()
    return counts


def _write_report(merchant_id: int, header: list[str], raw_rows: list[list], errors: list[RowError]) -> str:
    """The refused sheet with its errors, saved for download (services/catalog/import_reports.py)."""
    keys = [_known_headers().get(_norm(h)) for h in header]
    rows = [[_text(v) for v in raw] for raw in raw_rows]
    return import_reports.write(merchant_id, header, keys, rows, errors)
