"""A window's documents: ask for one (picking, packing, route × CSV, XLSX, PDF), watch it build,
download it. The building happens in the `build-documents` job."""

from __future__ import annotations

from flask import current_app, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.blueprints.access import merchant_area_required
from app.blueprints.leader.forms import PlainForm
from app.blueprints.merchant import bp
from app.models import Window
from app.models.documents import DOCUMENT_FORMATS
from app.permissions import scoped_or_404
from app.services.core.errors import NotFound, ValidationFailed
from app.services.deliveries import document_jobs


def _window(window_id: int) -> Window:
    from sqlalchemy import select

    return scoped_or_404(select(Window).where(Window.id == window_id, Window.merchant_id == g.merchant.id))


@bp.get("/windows/<int:window_id>/documents")
@merchant_area_required("batches")
def window_documents(window_id: int, error: ValidationFailed | None = None, status: int = 200):
    window = _window(window_id)
    return (
        render_template(
            "merchant/documents.html",
            window=window,
            jobs=document_jobs.jobs_for_window(g.merchant.id, window.id),
            kinds=document_jobs.KIND_LABELS,
            formats=DOCUMENT_FORMATS,
            form=PlainForm(),
            error=error,
        ),
        status,
    )


@bp.post("/windows/<int:window_id>/documents")
@merchant_area_required("batches")
def window_documents_request(window_id: int):
    kind, fmt = request.form.get("kind", ""), request.form.get("format", "")
    try:
        document_jobs.request_document(g.merchant.id, current_user.id, window_id, kind, fmt)
    except ValidationFailed as exc:
        return window_documents(window_id, error=exc, status=422)
    return redirect(url_for("merchant.window_documents", window_id=window_id), code=303)


@bp.get("/documents/<int:job_id>/progress")
@merchant_area_required("batches")
def document_progress(job_id: int):
    job = document_jobs.get_job(g.merchant.id, job_id)
    body = {
        "id": job.id,
        "status": job.status,
        "percent": job.percent,
        "done_rows": job.done_rows,
        "total_rows": job.total_rows,
    }
    if job.status == "done":
        body["download_url"] = url_for("merchant.document_download", job_id=job.id)
    if job.status == "failed":
        body["error"] = job.error
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/documents/<int:job_id>/download")
@merchant_area_required("batches")
def document_download(job_id: int):
    job = document_jobs.get_job(g.merchant.id, job_id)
    path = document_jobs.file_path(job)
    if path is None:
        raise NotFound()
    response = current_app.response_class(path.read_bytes(), mimetype=document_jobs.MIMETYPES[job.format])
    response.headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response
