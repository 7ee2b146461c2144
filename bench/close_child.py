"""The processes bench/close.py times; only the standard library at import, so the baseline runs bare.

- `close`: creates the app (its RSS then is the "idle app process" figure), runs the real
  `closing.close_window` once and reports seconds, what it returned and the process's VmHWM.
- `raw`: the floor on the same data — one bulk UPDATE paid → confirmed, then one executemany INSERT
  of a pickup code per confirmed order (codes drawn in Python, unique per pickup point), one
  transaction, through the bare driver (sqlite3, or psycopg for a PostgreSQL URL).

Both read a JSON spec on stdin and print one JSON object on stdout (the app may log to stderr).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from datetime import UTC, datetime

from bench.documents_child import peak_self_mib, rss_now_mib


def close(spec: dict) -> dict:
    os.environ["INSTANCE_PATH"] = spec["instance"]
    from app import create_app
    from app.extensions import db
    from app.services.closing import closing

    app = create_app(spec["config"])
    with app.app_context():
        db.session.execute(db.text("SELECT 1")).all()  # connect: the idle figure includes the driver
        db.session.rollback()
        idle = rss_now_mib()
        started = time.perf_counter()
        result = closing.close_window(spec["window_id"])
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return {"seconds": seconds, "result": result, "idle_rss_mib": idle, "peak_rss_mib": peak_self_mib()}


def _codes(rows: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    taken: dict[int, set[str]] = {}
    out = []
    for order_id, point_id in rows:
        used = taken.setdefault(point_id, set())
        code = f"{secrets.randbelow(10**8):08d}"
        while code in used:
            code = f"{secrets.randbelow(10**8):08d}"
        used.add(code)
        out.append((order_id, point_id, code))
    return out


def raw(spec: dict) -> dict:
    now = datetime.now(UTC).replace(tzinfo=None)
    window_id = spec["window_id"]
    started = time.perf_counter()
    if spec.get("sqlite"):
        import sqlite3

        conn = sqlite3.connect(spec["sqlite"], isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        mark = "?"
        stamp = now.isoformat(sep=" ")
    else:
        import psycopg

        conn = psycopg.connect(spec["pg"])
        mark = "%s"
        stamp = now
    paid = conn.execute(
        f"SELECT id, pickup_point_id FROM orders WHERE window_id = {mark} AND status = 'paid'",  # noqa: S608
        (window_id,),
    ).fetchall()
    conn.execute(
        f"UPDATE orders SET status = 'confirmed', confirmed_at = {mark}"  # noqa: S608
        f" WHERE window_id = {mark} AND status = 'paid'",
        (stamp, window_id),
    )
    rows = [(order_id, point_id, code, code, "issued", stamp) for order_id, point_id, code in _codes(paid)]
    # The marks are the driver's paramstyle; the values are bound.
    insert = f"INSERT INTO pickup_codes (order_id, pickup_point_id, code, live_code, status, issued_at) VALUES ({', '.join([mark] * 6)})"  # noqa: E501, S608
    conn.cursor().executemany(insert, rows)
    conn.commit() if not spec.get("sqlite") else conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return {"seconds": seconds, "orders": len(paid), "peak_rss_mib": peak_self_mib(), "idle_rss_mib": rss_now_mib()}


def main(argv: list[str]) -> None:
    spec = json.loads(sys.stdin.read())
    result = {"close": close, "raw": raw}[argv[0]](spec)
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
