"""Figure (c): issue #5's large window. Every document (picking, packing, route × CSV, XLSX, PDF)
of a window of 50,000 confirmed orders, built by the real `build-documents` job, with its time
and peak memory, beside the same documents of a window a fifth the size (memory must not grow
with the window) and beside raw SQL of the same rows.

One SQLite database holds both windows (bench/bulk.py: bulk inserts, seconds). Each document is
queued as a DocumentJob and built by `jobs.run_job(app, "build-documents")` in its own process,
forked from an interpreter that has imported and created the app and done nothing else (its RSS is
the "app idle" figure); a build's peak is that idle RSS plus what the build itself needed (see
bench/documents_child.py), as a fresh worker process would show it. The job's progress row is sampled
while it builds and the stored file is read back: CSV always, XLSX up to READ_BACK_XLSX_ROWS rows
(reading more costs more than the figure), PDF never (tests/deliveries/integration/test_window_documents.py
reads its text). The baseline runs one SQL statement per document in a bare interpreter and
streams the rows into csv.writer (bench/documents_child.py).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from app.extensions import db
from bench import bulk, data
from bench.servers import ROOT

KINDS = ("picking", "packing", "route")
FORMATS = ("csv", "xlsx", "pdf")
POINTS = 200
PRODUCTS = 30
SMALL_SHARE = 5  # the smaller window has a fifth of the orders
READ_BACK_XLSX_ROWS = 20_000


def _child(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.documents_child", *args], cwd=ROOT, check=True, **kwargs
    )


def _zygote(instance: Path, plan: list[dict]) -> dict:
    spec = {
        "instance": str(instance),
        "database": str(instance / "bench.sqlite3"),
        "out": str(instance / "zygote.json"),
        "config": {
            "DATABASE_URL": data.database_url(instance),
            "SECRET_KEY": data.SECRET,
            "SCHEDULER_ENABLED": False,
            "PICKUP_LABELS_DIR": str(instance / "labels"),
        },
        "plan": plan,
    }
    with open(instance / "zygote.log", "w") as log:
        _child(["zygote"], input=json.dumps(spec), text=True, stdout=log, stderr=subprocess.STDOUT)
    return json.loads((instance / "zygote.json").read_text())


def _rows(fmt: str, path: Path):
    if fmt == "csv":
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            next(reader, None)  # the header
            yield from reader
    else:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        for n, row in enumerate(book.worksheets[0].iter_rows(values_only=True)):
            if n >= 2:  # after the title and the header
                yield ["" if v is None else v for v in row]
        book.close()


def read_back(kind: str, fmt: str, path: Path, point_names: set[str]) -> dict:
    """What a document's file adds up to, in the terms `expected` gives."""
    rows = units = bags = per_point = total = 0
    for row in _rows(fmt, path):
        rows += 1
        if kind == "picking":
            if row[0] in point_names:
                per_point += int(row[3])
            else:  # the "all pickup points" rows
                total += int(row[3])
        elif kind == "packing":
            units += int(row[7])
        else:
            bags += int(row[4])
            units += int(row[5])
    if kind == "picking":
        return {"units_per_point": per_point, "units_all_points": total}
    if kind == "packing":
        return {"rows": rows, "units": units}
    return {"rows": rows, "bags": bags, "units": units}


def expected(kind: str, window: bulk.BulkWindow) -> dict:
    """What the inserted orders say each document must add up to."""
    if kind == "picking":
        return {"units_per_point": window.units, "units_all_points": window.units}
    if kind == "packing":
        return {"rows": window.lines, "units": window.units}
    return {"rows": window.points, "bags": window.orders, "units": window.units}


def _checked(build: dict, window: bulk.BulkWindow, point_names: set[str]) -> dict:
    kind, fmt = build["kind"], build["format"]
    path = Path(build["file"]) if build.get("file") else None
    read = None
    if path and (fmt == "csv" or (fmt == "xlsx" and build["total_rows"] <= READ_BACK_XLSX_ROWS)):
        read = read_back(kind, fmt, path, point_names)
    return {
        "seconds": build.get("seconds"),
        "peak_rss_mib": build["peak_rss_mib"],
        "build_mib": build["build_mib"],
        "status": build["status"],
        "rows": build.get("done_rows"),
        "total_rows": build.get("total_rows"),
        "bytes": build.get("bytes", 0),
        "progress_seen": build["progress_seen"],
        "read_back": read,
        "totals_ok": None if read is None else read == expected(kind, window),
        **({"error": build["error"]} if build.get("error") else {}),
    }


def _baseline(instance: Path, kind: str, window: bulk.BulkWindow, point_names: set[str]) -> dict:
    out = instance / f"raw-{window.window_id}-{kind}.csv"
    database = str(instance / "bench.sqlite3")
    result = json.loads(_child(["raw", database, str(window.window_id), kind, str(out)], capture_output=True).stdout)
    read = read_back(kind, "csv", out, point_names)
    return {**result, "read_back": read, "totals_ok": read == expected(kind, window)}


def run(work: Path, *, orders: int = 50_000) -> dict:
    """Two closed windows (orders/5 and orders); every document of each built by the job, measured."""
    started = time.perf_counter()
    instance = work / "documents-app"
    app = data.bench_app(instance)
    point_count = min(POINTS, max(2, orders // 25))
    sizes = {"small": max(1, orders // SMALL_SHARE), "full": orders}
    with app.app_context():
        shop = bulk.shop(point_count=point_count, product_count=PRODUCTS)
        windows = {
            size: bulk.closed_window(shop, count, title=f"周末大团 {count} 单", seed=n)
            for n, (size, count) in enumerate(sizes.items())
        }
        db.session.remove()
        db.engine.dispose()
    setup_s = time.perf_counter() - started
    names = set(shop.point_names.values())

    plan = [
        {
            "size": size,
            "kind": kind,
            "format": fmt,
            "window_id": windows[size].window_id,
            "merchant_id": shop.merchant_id,
            "user_id": shop.owner_user_id,
        }
        for kind in KINDS
        for fmt in FORMATS
        for size in sizes
    ]
    measured = _zygote(instance, plan)
    idle = measured["idle"]
    builds = {(b["kind"], b["format"], b["size"]): b for b in measured["builds"]}
    documents = []
    for kind in KINDS:
        for fmt in FORMATS:
            row = {size: _checked(builds[kind, fmt, size], windows[size], names) for size in sizes}
            documents.append({"kind": kind, "format": fmt, **row, "growth": _growth(row)})
    baseline = []
    for kind in KINDS:
        row = {size: _baseline(instance, kind, windows[size], names) for size in sizes}
        baseline.append({"kind": kind, "format": "csv", **row, "growth": _growth(row)})
    bare = json.loads(_child(["idle"], capture_output=True).stdout)
    return {
        "orders": orders,
        "small_orders": sizes["small"],
        "pickup_points": point_count,
        "products": PRODUCTS,
        "windows": {
            size: {k: v for k, v in asdict(w).items() if k != "units_by_product"} for size, w in windows.items()
        },
        "setup_s": setup_s,
        "total_s": time.perf_counter() - started,
        "app_idle": idle,
        "bare_python": bare,
        "documents": documents,
        "baseline_raw_sql": baseline,
    }


def _growth(row: dict) -> float:
    return row["full"]["peak_rss_mib"] / row["small"]["peak_rss_mib"]
