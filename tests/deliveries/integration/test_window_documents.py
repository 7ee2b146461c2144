"""Window documents: picking lists (per point and in total), packing lists and the route summary
as CSV, XLSX and PDF, built by the `build-documents` job with progress; totals equal the
confirmed orders; the PDF carries the Chinese text; scoped to the merchant; safe to re-run."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections import Counter

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.extensions import db
from app.models import DocumentJob, MerchantMember, Order, OrderItem, User
from app.services.deliveries import document_jobs, window_documents
from tests.support.engines import IN_CI
from tests.support.forms import csrf_from
from tests.support.threads import run_at_once

PDFTOTEXT = shutil.which("pdftotext")


@pytest.fixture
def window(make_merchant, make_product, make_window, make_leader, make_point, make_order):
    merchant = make_merchant("鲜果坊")
    oranges = make_product(merchant, name="赣南脐橙", stock=500)
    milk = make_product(merchant, name="鲜牛奶", stock=500)
    window = make_window(merchant, items=[{"product": oranges}, {"product": milk}], title="周末水果团")
    east = make_point(make_leader("阳光小区"), name="东门自提点")
    west = make_point(make_leader("翠湖花园"), name="西门自提点")
    orange_item, milk_item = window.items
    for point, lines in (
        (east, [(orange_item, 2), (milk_item, 1)]),
        (east, [(orange_item, 1)]),
        (west, [(milk_item, 3)]),
        (west, [(orange_item, 4), (milk_item, 2)]),
    ):
        make_order(window, point, lines, status="confirmed", name="王小明")
    make_order(window, east, [(orange_item, 9)], status="cancelled")  # never picked
    make_order(window, west, [(milk_item, 9)], status="pending_payment")  # never picked
    return window


def _owner(window) -> User:
    user_id = db.session.scalar(select(MerchantMember.user_id).where(MerchantMember.merchant_id == window.merchant_id))
    return db.session.get(User, user_id)


def _confirmed_totals(window_id) -> dict[str, int]:
    rows = db.session.execute(
        select(OrderItem.product_name, func.sum(OrderItem.quantity))
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.window_id == window_id, Order.status == "confirmed")
        .group_by(OrderItem.product_name)
    ).all()
    return {name: int(qty) for name, qty in rows}


def _build(merchant_id, user_id, window_id, kind, fmt) -> DocumentJob:
    job = document_jobs.request_document(merchant_id, user_id, window_id, kind, fmt)
    assert document_jobs.build_documents() >= 1
    db.session.expire_all()
    return db.session.get(DocumentJob, job.id)


def _rows(job) -> list[list[str]]:
    path = document_jobs.file_path(job)
    if job.format == "csv":
        return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))[1:]
    book = load_workbook(path, read_only=True)  # read-only keeps the file open until closed
    try:
        rows = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    return [["" if v is None else str(v) for v in row] for row in rows][2:]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_picking_totals_equal_the_confirmed_orders(window, fmt):
    job = _build(window.merchant_id, _owner(window).id, window.id, "picking", fmt)
    assert job.status == "done" and job.percent == 100
    rows = _rows(job)
    totals = {r[1]: int(r[3]) for r in rows if r[0] == "All pickup points"}
    assert totals == _confirmed_totals(window.id) == {"赣南脐橙": 7, "鲜牛奶": 6}
    per_point = Counter()
    for _point, name, _spec, qty, _short in (r for r in rows if r[0] != "All pickup points"):
        per_point[name] += int(qty)
    assert dict(per_point) == totals
    assert [r[0] for r in rows][:2] == ["东门自提点", "东门自提点"]


def test_packing_lists_have_one_row_per_line_of_each_bag_masked(window, monkeypatch):
    monkeypatch.setattr(window_documents, "PAGE", 1)  # one order per page: the keyset paging is walked
    job = _build(window.merchant_id, _owner(window).id, window.id, "packing", "csv")
    rows = _rows(job)
    assert len(rows) == 6 and {r[0] for r in rows} == {"东门自提点", "西门自提点"}
    assert all(r[3] == "王**" and "****" in r[4] for r in rows)
    assert sum(int(r[7]) for r in rows) == sum(_confirmed_totals(window.id).values())
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # grouped by point


def test_the_route_summary_counts_bags_and_items_per_point(window):
    rows = _rows(_build(window.merchant_id, _owner(window).id, window.id, "route", "xlsx"))
    assert [(r[0], int(r[4]), int(r[5])) for r in rows] == [("东门自提点", 2, 4), ("西门自提点", 2, 9)]


@pytest.mark.parametrize("kind", ["picking", "packing", "route"])
def test_pdfs_contain_the_chinese_text(window, kind, tmp_path):
    if PDFTOTEXT is None:
        if IN_CI:
            pytest.fail("pdftotext (poppler-utils) is required in CI")
        pytest.skip("poppler-utils not installed")
    job = _build(window.merchant_id, _owner(window).id, window.id, kind, "pdf")
    text = subprocess.run(
        [PDFTOTEXT, "-enc", "UTF-8", str(document_jobs.file_path(job)), "-"], check=True, capture_output=True
    ).stdout.decode()
    assert "周末水果团" in text and "东门自提点" in text and "西门自提点" in text
    if kind != "route":
        assert "赣南脐橙" in text and "鲜牛奶" in text


def test_the_page_queues_a_document_and_the_progress_endpoint_moves_to_done(app, client, login, window):
    login(_owner(window))
    page = client.get(f"/merchant/windows/{window.id}/documents").get_data(as_text=True)
    response = client.post(
        f"/merchant/windows/{window.id}/documents",
        data={"csrf_token": csrf_from(page), "kind": "picking", "format": "pdf"},
    )
    assert response.status_code == 303
    job = db.session.scalar(select(DocumentJob))
    progress = client.get(f"/merchant/documents/{job.id}/progress").get_json()
    assert progress["status"] == "queued" and progress["percent"] == 0 and "download_url" not in progress
    assert client.get(f"/merchant/documents/{job.id}/download").status_code == 404
    document_jobs.build_documents()
    progress = client.get(f"/merchant/documents/{job.id}/progress").get_json()
    assert progress["status"] == "done" and progress["percent"] == 100
    download = client.get(progress["download_url"])
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert document_jobs.build_documents() == 0  # a re-run builds nothing more


def test_progress_is_reported_while_the_rows_are_written(window, monkeypatch):
    monkeypatch.setattr(document_jobs, "PROGRESS_EVERY", 2)
    seen = []
    real = document_jobs._progress
    monkeypatch.setattr(
        document_jobs, "_progress", lambda job_id, **values: (seen.append(values), real(job_id, **values))
    )
    _build(window.merchant_id, _owner(window).id, window.id, "packing", "csv")
    done = [v["done_rows"] for v in seen if "done_rows" in v]
    assert done == [2, 4, 6, 6] and seen[0] == {"total_rows": 6}


@pytest.mark.parametrize(("kind", "fmt"), [("everything", "pdf"), ("picking", "docx"), ("", "")])
def test_bad_requests_queue_nothing(client, login, window, kind, fmt):
    login(_owner(window))
    page = client.get(f"/merchant/windows/{window.id}/documents").get_data(as_text=True)
    response = client.post(
        f"/merchant/windows/{window.id}/documents", data={"csrf_token": csrf_from(page), "kind": kind, "format": fmt}
    )
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(DocumentJob)) == 0


def test_another_merchant_sees_none_of_it(client, login, window, make_merchant, make_user):
    job = _build(window.merchant_id, _owner(window).id, window.id, "route", "csv")
    rival = make_user("对手")
    make_merchant("别家", owner=rival)
    login(rival)
    page = client.get("/merchant/").get_data(as_text=True)
    for url in (
        f"/merchant/windows/{window.id}/documents",
        f"/merchant/documents/{job.id}/progress",
        f"/merchant/documents/{job.id}/download",
    ):
        assert client.get(url).status_code == 404
    response = client.post(
        f"/merchant/windows/{window.id}/documents",
        data={"csrf_token": csrf_from(page), "kind": "route", "format": "csv"},
    )
    assert response.status_code == 404


def test_a_failed_build_is_retried_then_given_up_with_its_error(window, monkeypatch):
    def broken(*_args):
        raise OSError("disk full")

    monkeypatch.setitem(document_jobs.WRITERS, "csv", broken)
    job = document_jobs.request_document(window.merchant_id, _owner(window).id, window.id, "route", "csv")
    for _attempt in range(document_jobs.MAX_ATTEMPTS):
        assert document_jobs.build_documents() == 0
    db.session.expire_all()
    job = db.session.get(DocumentJob, job.id)
    assert (job.status, job.attempts) == ("failed", document_jobs.MAX_ATTEMPTS) and "disk full" in job.error
    assert list(document_jobs.folder(window.merchant_id).glob(".*.tmp")) == []


def test_a_builder_that_died_is_replaced_after_its_lease(window, frozen_clock):
    job = document_jobs.request_document(window.merchant_id, _owner(window).id, window.id, "route", "csv")
    assert document_jobs._claim(job.id)  # a builder claims it ... and dies
    assert document_jobs.build_documents() == 0  # its lease still holds
    frozen_clock.advance(minutes=11)
    assert document_jobs.build_documents() == 1
    db.session.expire_all()
    assert db.session.get(DocumentJob, job.id).status == "done"


def test_two_schedulers_at_once_build_a_document_once(app, window):
    document_jobs.request_document(window.merchant_id, _owner(window).id, window.id, "picking", "xlsx")
    assert sorted(run_at_once(app, document_jobs.build_documents)) == [0, 1]


def test_a_csv_download_names_its_charset_once(client, login, window):
    owner = _owner(window)
    job = _build(window.merchant_id, owner.id, window.id, "picking", "csv")
    login(owner)
    download = client.get(f"/merchant/documents/{job.id}/download")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert download.data.startswith("\ufeff".encode())  # the BOM Excel needs for the Chinese text
