"""The processes bench/documents.py measures; only the standard library at import, so the raw SQL
baseline runs in a bare interpreter.

- `zygote`: imports and creates the app (its RSS then is the "app idle" figure) and forks one child
  per document. Each child queues its DocumentJob and runs the scheduler's `build-documents` job
  (`jobs.run_job`, as `flask jobs build-documents` does); the zygote samples the job's progress row
  from its own connection meanwhile and takes the child's high-water RSS from `wait4`. A build's
  need is that high-water mark less the child's RSS just after the fork, and its peak is idle +
  need: what a fresh worker process would show (a forked child does not count the zygote's
  file-backed pages until it touches them, so its raw figure reads low). Forking saves the app's
  ~3 s import per document.
- `raw`: the same rows by one SQL statement per document, streamed into csv.writer.
- `idle`: a bare interpreter with sqlite3 and csv imported.

Linux only: RSS and its high-water mark come from /proc/self (VmRSS, VmHWM), `ru_maxrss` is in KiB.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import sys
import time
import traceback

POLL_S = 0.25
ALL_POINTS = "ALL"  # the baseline's label of the picking list's totals (the app's is translated)

# The rows of each document (orders confirmed or later, lines confirmed or redeemed), one statement
# each, in the documents' order. Packing rows are not masked: the floor of reading and writing them.
RAW_SQL = {
    "picking": [
        "SELECT p.name, i.product_name, i.product_spec, SUM(i.quantity), SUM(i.shortage_qty)"
        " FROM order_items i JOIN orders o ON o.id = i.order_id JOIN pickup_points p ON p.id = o.pickup_point_id"
        " WHERE o.window_id = ? AND o.status IN ('confirmed', 'ready_for_pickup', 'completed')"
        " AND i.status IN ('confirmed', 'redeemed')"
        " GROUP BY p.name, p.id, i.product_id ORDER BY p.name, p.id, MIN(i.product_name), i.product_id",
        "SELECT 'ALL', MIN(i.product_name), MIN(i.product_spec), SUM(i.quantity), SUM(i.shortage_qty)"
        " FROM order_items i JOIN orders o ON o.id = i.order_id"
        " WHERE o.window_id = ? AND o.status IN ('confirmed', 'ready_for_pickup', 'completed')"
        " AND i.status IN ('confirmed', 'redeemed')"
        " GROUP BY i.product_id ORDER BY MIN(i.product_name), MIN(i.product_spec)",
    ],
    "packing": [
        "SELECT p.name, COALESCE(o.shelf_slot, ''), o.number, o.customer_name, o.customer_phone,"
        " i.product_name, i.product_spec, i.quantity"
        " FROM orders o JOIN order_items i ON i.order_id = o.id JOIN pickup_points p ON p.id = o.pickup_point_id"
        " WHERE o.window_id = ? AND o.status IN ('confirmed', 'ready_for_pickup', 'completed')"
        " AND i.status IN ('confirmed', 'redeemed')"
        " ORDER BY p.name, p.id, o.id, i.id",
    ],
    "route": [
        "SELECT p.name, p.address, p.contact_phone, p.opening_hours, COUNT(DISTINCT o.id), SUM(i.quantity)"
        " FROM pickup_points p JOIN orders o ON o.pickup_point_id = p.id JOIN order_items i ON i.order_id = o.id"
        " WHERE o.window_id = ? AND o.status IN ('confirmed', 'ready_for_pickup', 'completed')"
        " AND i.status IN ('confirmed', 'redeemed')"
        " GROUP BY p.id ORDER BY p.name, p.id",
    ],
}
HEADERS = {
    "picking": ["point", "product", "spec", "quantity", "shortage"],
    "packing": ["point", "slot", "order", "customer", "phone", "product", "spec", "quantity"],
    "route": ["point", "address", "contact", "hours", "bags", "items"],
}


def _mib(kib: int) -> float:
    return kib / 1024


def rss_now_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_self_mib() -> float:
    # VmHWM, not ru_maxrss: ru_maxrss keeps the high-water mark from before exec, which for a
    # child of the bench is the bench's own size.
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


# ---- raw SQL baseline and bare interpreter


def raw(database: str, window_id: int, kind: str, out: str) -> dict:
    started = time.perf_counter()
    rows = 0
    conn = sqlite3.connect(database)
    with open(out, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS[kind])
        for sql in RAW_SQL[kind]:
            for row in conn.execute(sql, (window_id,)):  # the cursor streams: one row at a time
                writer.writerow(row)
                rows += 1
    conn.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mib": peak_self_mib(), "rows": rows, "bytes": os.path.getsize(out)}


# ---- the app: one zygote, one forked child per document


def _child(app, job: dict, write_fd: int) -> None:
    """In the forked child: queue the document, run the job, report; never returns."""
    status = 1
    start_rss = rss_now_mib()
    try:
        from sqlalchemy import update

        from app import jobs
        from app.extensions import db
        from app.models import DocumentJob
        from app.services.deliveries import document_jobs

        with app.app_context():
            job_id = document_jobs.request_document(
                job["merchant_id"], job["user_id"], job["window_id"], job["kind"], job["format"]
            ).id
            db.session.remove()
        started = time.perf_counter()
        jobs.run_job(app, "build-documents")  # what the scheduler and `flask jobs build-documents` run
        seconds = time.perf_counter() - started
        with app.app_context():
            row = db.session.get(DocumentJob, job_id)
            path = document_jobs.file_path(row)
            result = {
                "start_rss_mib": start_rss,
                "seconds": seconds,
                "status": row.status,
                "total_rows": row.total_rows,
                "done_rows": row.done_rows,
                "error": row.error,
                "file": str(path) if path else None,
                "bytes": path.stat().st_size if path else 0,
            }
            if row.status != "done":  # not to be retried by the next child's run of the job
                db.session.execute(update(DocumentJob).where(DocumentJob.id == job_id).values(status="failed"))
                db.session.commit()
            db.session.remove()
            db.engine.dispose()
        status = 0
    except BaseException:  # noqa: BLE001 - reported to the zygote, which goes on with the next document
        result = {"start_rss_mib": start_rss, "status": "crashed", "error": traceback.format_exc()[-2000:]}
    finally:
        try:
            os.write(write_fd, json.dumps(result).encode())
        finally:
            os._exit(status)


def _progress_sample(database: str) -> int | None:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1)
    try:
        row = conn.execute(
            "SELECT done_rows, total_rows FROM document_jobs WHERE status = 'running' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    if not row or not row[1]:
        return None
    return min(99, row[0] * 100 // row[1])


def _measure(app, job: dict, database: str, idle_mib: float) -> dict:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(app, job, write_fd)
    os.close(write_fd)
    seen: list[int] = []
    while True:
        done, wait_status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        percent = _progress_sample(database)
        if percent is not None and (not seen or percent != seen[-1]):
            seen.append(percent)
        time.sleep(POLL_S)
    with os.fdopen(read_fd, "rb") as fh:
        text = fh.read().decode()
    result = json.loads(text) if text else {"status": "crashed", "error": f"exit status {wait_status}"}
    # Slightly over, if anything: file pages the zygote holds and the child touches count again.
    need = _mib(usage.ru_maxrss) - result.get("start_rss_mib", 0)
    return {**job, **result, "build_mib": need, "peak_rss_mib": idle_mib + need, "progress_seen": seen}


def zygote(spec: dict) -> dict:
    started = time.perf_counter()
    os.environ["INSTANCE_PATH"] = spec["instance"]
    from app import create_app

    app = create_app(spec["config"])
    idle = {"start_s": time.perf_counter() - started, "rss_mib": rss_now_mib(), "hwm_mib": peak_self_mib()}
    return {"idle": idle, "builds": [_measure(app, job, spec["database"], idle["rss_mib"]) for job in spec["plan"]]}


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "zygote":  # the app may log to stdout: the result goes to a file
        spec = json.loads(sys.stdin.read())
        with open(spec["out"], "w") as fh:
            json.dump(zygote(spec), fh)
        return
    elif command == "raw":
        database, window_id, kind, out = argv[1:5]
        result = raw(database, int(window_id), kind, out)
    elif command == "idle":
        result = {"rss_mib": rss_now_mib(), "peak_rss_mib": peak_self_mib()}
    else:
        raise SystemExit(f"unknown command {command}")
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
