"""Window documents as files, built by the `build-documents` job with visible progress.

A merchant asks for a document (kind × format) of a window: a queued DocumentJob. The job claims
it with a compare-and-set and a lease, streams the rows into a temporary file (CSV, XLSX in
openpyxl's write-only mode, or PDF with the labels' CJK font), reports progress every PROGRESS_EVERY
rows on its own short transaction, then renames the file into place and marks the job done. A
builder that dies leaves its lease, and the next run after it expires starts the file again; the
file is kept under instance/exports/merchant-<id>/documents/ for download.
"""

from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.extensions import db
from app.models import DocumentJob, Window
from app.models.documents import DOCUMENT_FORMATS, DOCUMENT_KINDS
from app.permissions import scoped_or_404
from app.services.core import clock, files, spreadsheets
from app.services.core.errors import ValidationFailed
from app.services.deliveries import labels, window_documents
from app.services.deliveries.label_layouts import FONT, fit

LEASE = timedelta(minutes=10)
PROGRESS_EVERY = 2000
MAX_ATTEMPTS = 3
KIND_LABELS = {"picking": _l("Picking list"), "packing": _l("Packing list"), "route": _l("Route summary")}
# Flask adds "; charset=utf-8" to a text/* mimetype itself (naming it here sent it twice).
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def folder(merchant_id: int) -> Path:
    return files.merchant_exports(merchant_id) / "documents"


def request_document(merchant_id: int, user_id: int, window_id: int, kind: str, fmt: str) -> DocumentJob:
    """Queue a document of one of the merchant's windows (another merchant's window: 404)."""
    scoped_or_404(select(Window).where(Window.id == window_id, Window.merchant_id == merchant_id))
    if kind not in DOCUMENT_KINDS or fmt not in DOCUMENT_FORMATS:
        raise ValidationFailed(fields={"kind": _("Choose a document and a format.")})
    job = DocumentJob(
        merchant_id=merchant_id,
        window_id=window_id,
        kind=kind,
        format=fmt,
        requested_by=user_id,
        created_at=clock.now(),
    )
    db.session.add(job)
    db.session.commit()
    _wake_scheduler()
    return job


def _wake_scheduler() -> None:
    """Run the job now in this process's scheduler, if it has one (else at the next tick)."""
    scheduler = current_app.extensions.get("scheduler")
    job = scheduler.get_job("build-documents") if scheduler else None
    if job is not None:
        job.modify(next_run_time=clock.now())


def get_job(merchant_id: int, job_id: int) -> DocumentJob:
    return scoped_or_404(select(DocumentJob).where(DocumentJob.id == job_id, DocumentJob.merchant_id == merchant_id))


def jobs_for_window(merchant_id: int, window_id: int, limit: int = 30) -> list[DocumentJob]:
    return list(
        db.session.scalars(
            select(DocumentJob)
            .where(DocumentJob.merchant_id == merchant_id, DocumentJob.window_id == window_id)
            .order_by(DocumentJob.id.desc())
            .limit(limit)
        )
    )


def file_path(job: DocumentJob) -> Path | None:
    if job.status != "done" or not job.file_name:
        return None
    path = folder(job.merchant_id) / job.file_name
    return path if path.is_file() else None


# ---- the job


def _claim(job_id: int) -> bool:
    now = clock.now()
    claimed = db.session.execute(
        update(DocumentJob)
        .where(
            DocumentJob.id == job_id,
            (DocumentJob.status == "queued") | ((DocumentJob.status == "running") & (DocumentJob.lease_until < now)),
            DocumentJob.attempts < MAX_ATTEMPTS,
        )
        .values(status="running", attempts=DocumentJob.attempts + 1, lease_until=now + LEASE, done_rows=0)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def _progress(job_id: int, **values) -> None:
    # Its own short transaction on its own connection: the rows are still being read.
    with db.engine.begin() as conn:
        conn.execute(update(DocumentJob).where(DocumentJob.id == job_id).values(**values))


def build_documents(limit: int = 5) -> int:
    """Build queued documents (and ones whose builder died); safe to re-run and to run in several
    schedulers at once. Returns how many were finished."""
    now = clock.now()
    due = db.session.scalars(
        select(DocumentJob.id)
        .where(
            (DocumentJob.status == "queued") | ((DocumentJob.status == "running") & (DocumentJob.lease_until < now)),
            DocumentJob.attempts < MAX_ATTEMPTS,
        )
        .order_by(DocumentJob.id)
        .limit(limit)
    ).all()
    db.session.commit()
    finished = 0
    for job_id in due:
        if _claim(job_id):
            finished += _build(job_id)
    return finished


def _build(job_id: int) -> int:
    job = db.session.get(DocumentJob, job_id)
    merchant_id, window_id, kind, fmt, attempts = job.merchant_id, job.window_id, job.kind, job.format, job.attempts
    title = db.session.scalar(select(Window.title).where(Window.id == window_id))
    db.session.commit()  # no transaction is held while the file is written (see window_documents)
    name = f"window-{window_id}-{kind}-{job_id}.{fmt}"
    try:
        with (
            force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]),
            files.replacing(folder(merchant_id) / name) as tmp,
        ):
            doc = window_documents.document(kind, window_id)
            _progress(job_id, total_rows=doc.total_rows)
            title = f"{title} · {KIND_LABELS[kind]}"
            WRITERS[fmt](
                tmp, title, doc, lambda done: _progress(job_id, done_rows=done, lease_until=clock.now() + LEASE)
            )
    except Exception as exc:  # recorded on the job and shown to the merchant; retried by the next run
        db.session.rollback()
        _progress(
            job_id,
            status="queued" if attempts < MAX_ATTEMPTS else "failed",
            lease_until=None,
            error=f"{exc.__class__.__name__}: {exc}"[:300],
        )
        current_app.logger.exception("document job %s failed", job_id)
        return 0
    db.session.commit()  # whatever the writer last read ends here, before the job is marked done
    _progress(
        job_id,
        status="done",
        file_name=name,
        done_rows=doc.total_rows,
        finished_at=clock.now(),
        lease_until=None,
        error=None,
    )
    return 1


# ---- writers: (path, title, document, progress callback)


def _counted(doc, progress):
    for done, row in enumerate(doc.rows, start=1):
        yield row
        if done % PROGRESS_EVERY == 0:
            progress(done)


def _write_csv(path: Path, _title: str, doc, progress) -> None:
    # UTF-8 with a BOM: Excel on Windows then opens the Chinese text correctly.
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(spreadsheets.csv_row(doc.header))
        for row in _counted(doc, progress):
            writer.writerow(spreadsheets.csv_row(row))


def _write_xlsx(path: Path, title: str, doc, progress) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)  # rows go to disk as they come, not into memory
    sheet = book.create_sheet(title="document")
    sheet.append(spreadsheets.xlsx_row(sheet, [title]))
    sheet.append(spreadsheets.xlsx_row(sheet, doc.header))
    for row in _counted(doc, progress):
        sheet.append(spreadsheets.xlsx_row(sheet, row))
    book.save(path)


def _write_pdf(path: Path, title: str, doc, progress) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    labels.register_font()
    width, height = A4
    margin, line = 12 * mm, 5.2 * mm
    usable = width - 2 * margin
    widths = _column_widths(len(doc.header), usable)
    canvas = Canvas(str(path), pagesize=A4, invariant=1, pageCompression=1)
    canvas.setTitle(title)
    page = [1]

    def heading(y: float) -> float:
        canvas.setFont(FONT, 12)
        canvas.drawString(margin, y, fit(title, 12, usable - 20 * mm))
        canvas.setFont(FONT, 8)
        canvas.drawRightString(width - margin, y, str(page[0]))
        y -= line * 1.4
        canvas.setFont(FONT, 8.5)
        x = margin
        for text, w in zip(doc.header, widths, strict=True):
            canvas.drawString(x, y, fit(str(text), 8.5, w - 2))
            x += w
        canvas.line(margin, y - 1.5 * mm, width - margin, y - 1.5 * mm)
        return y - line

    y = heading(height - margin)
    section = None
    for row in _counted(doc, progress):
        if y < margin:
            canvas.showPage()
            page[0] += 1
            y = heading(height - margin)
            section = None
        if row[doc.section_column] != section and section is not None:
            canvas.line(margin, y + line * 0.6, width - margin, y + line * 0.6)
        section = row[doc.section_column]
        canvas.setFont(FONT, 8.5)
        x = margin
        for value, w in zip(row, widths, strict=True):
            canvas.drawString(x, y, fit(str(value), 8.5, w - 2))
            x += w
        y -= line
    canvas.save()


def _column_widths(count: int, usable: float) -> list[float]:
    # The first column (the pickup point) and the product get more room than the numbers.
    weights = {5: [3, 4, 2, 1.2, 1.2], 6: [2.6, 4, 2, 2, 1, 1], 8: [2.2, 0.8, 2.2, 1.2, 1.8, 2.6, 1.3, 0.9]}
    chosen = weights.get(count, [1] * count)
    total = sum(chosen)
    return [usable * w / total for w in chosen]


WRITERS = {"csv": _write_csv, "xlsx": _write_xlsx, "pdf": _write_pdf}
