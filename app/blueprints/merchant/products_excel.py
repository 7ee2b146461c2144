"""The catalogue in Excel: download the template or the whole catalogue, upload an import, and
download the error report of a refused one."""

from __future__ import annotations

from flask import current_app, g, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from app.blueprints.access import merchant_area_required
from app.blueprints.leader.forms import PlainForm
from app.blueprints.merchant import bp
from app.services.catalog import catalog_excel, import_reports
from app.services.core import audit
from app.services.core.errors import NotFound, ValidationFailed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(data: bytes, filename: str):
    response = current_app.response_class(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(*, result=None, error: ValidationFailed | None = None, status: int = 200):
    return (
        render_template(
            "merchant/products/excel.html",
            form=PlainForm(),
            result=result,
            error=error,
            row_errors=getattr(error, "errors", None) or [],
            report=getattr(error, "report", None),
            columns=dict(catalog_excel.COLUMNS),
            max_rows=catalog_excel.MAX_ROWS,
        ),
        status,
    )


@bp.get("/products/excel")
@merchant_area_required("products")
def products_excel():
    return _page()


@bp.get("/products/template.xlsx")
@merchant_area_required("products")
def products_template():
    return xlsx_download(catalog_excel.template(str(get_locale())), "products-template.xlsx")


@bp.get("/products/export.xlsx")
@merchant_area_required("products")
def products_export():
    return xlsx_download(catalog_excel.export(g.merchant.id, str(get_locale())), "products.xlsx")


@bp.post("/products/import")
@merchant_area_required("products")
def products_import():
    upload = request.files.get("file")
    data = upload.stream.read() if upload is not None else b""
    try:
        result = catalog_excel.import_catalogue(g.merchant, data, actor=audit.actor_for(current_user))
    except ValidationFailed as exc:
        return _page(error=exc, status=422)
    return _page(result=result)


@bp.get("/products/import-reports/<name>")
@merchant_area_required("products")
def products_import_report(name: str):
    path = import_reports.report_path(g.merchant.id, name)
    if path is None:
        raise NotFound()
    return xlsx_download(path.read_bytes(), name)
