"""Figure (d): the merchant's sales dashboard over a year of 1,000,000 orders, beside raw SQL.

Set-up writes the year straight into SQLite with executemany (orders, lines, payments, a few
percent refunded): going through the services would take hours, and the dashboard only reads.
The rollup job then folds every payment and refund into the summaries exactly as production
does, and is timed. Each dashboard request is the whole page (`GET /merchant/reports`: overview
with the previous period, trend, product/leader/point rankings, group buys closed) through the
Flask app in-process, for today, 7 and 30 days, and so is the overview alone as JSON
(`GET /api/v1/merchant/reports/overview`, the figures issue #5 sets the target for).
Baselines in the same run: the overview's own figures (GMV, orders, distinct customers,
refunds) as raw SQL over the orders table, which is what it would cost without summary tables,
and the same figures as raw SQL over the summaries (the floor under the page).
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from app.extensions import db
from app.services import accounts, clock, sales_rollup
from bench import data

YEAR_DAYS = 365
POINTS = 500
LEADERS = 250
PRODUCTS = 50
CUSTOMERS = 60_000
REFUND_EVERY = 33  # about 3% of orders get a refund


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def seed(con: sqlite3.Connection, merchant_id: int, orders: int, today: date, rng: random.Random) -> dict:
    """A year of one merchant's sales at 500 points of 250 leaders; returns what it wrote."""
    created = _stamp(datetime(2025, 1, 1, tzinfo=UTC))
    con.executemany(
        "INSERT INTO users (id, name, phone, password_hash, is_admin, active, locale, created_at)"
        " VALUES (?, ?, ?, 'x', 0, 1, 'zh', ?)",
        [(100_000 + n, f"团长{n}", f"170{n:08d}", created) for n in range(LEADERS)],
    )
    con.executemany(
        "INSERT INTO leaders (id, user_id, community_name, active, created_at) VALUES (?, ?, ?, 1, ?)",
        [(100_000 + n, 100_000 + n, f"小区{n}", created) for n in range(LEADERS)],
    )
    con.executemany(
        "INSERT INTO pickup_points (id, leader_id, name, address, contact_phone, opening_hours, capacity, active,"
        " created_at) VALUES (?, ?, ?, '幸福路1号', '13800138000', '', 100000, 1, ?)",
        [(100_000 + n, 100_000 + n % LEADERS, f"自提点{n}", created) for n in range(POINTS)],
    )
    con.executemany(
        "INSERT INTO products (id, merchant_id, name, spec, category, subcategory, price_fen, stock,"
        " low_stock_threshold, listed, stock_alert_open, created_at, updated_at)"
        " VALUES (?, ?, ?, '500g', '水果', '', ?, 1000000, 0, 1, 0, ?, ?)",
        [(100_000 + n, merchant_id, f"商品{n}", 500 + 97 * n, created, created) for n in range(PRODUCTS)],
    )
    zone = clock.local_zone()
    first_day = today - timedelta(days=YEAR_DAYS - 1)
    windows, items = [], []
    for d in range(YEAR_DAYS):
        day = first_day + timedelta(days=d)
        opens = datetime.combine(day, datetime.min.time(), tzinfo=zone)
        closes = opens + timedelta(hours=22)
        status = "open" if day == today else "closed"
        windows.append(
            (
                100_000 + d,
                merchant_id,
                f"{day} 鲜果团",
                _stamp(opens),
                _stamp(closes),
                day.isoformat(),
                status,
                _stamp(opens),
            )
        )
        for p in range(PRODUCTS):
            item_status = "open" if status == "open" else ("failed" if (d + p) % 17 == 0 else "succeeded")
            items.append((100_000 + d * PRODUCTS + p, 100_000 + d, 100_000 + p, 500 + 97 * p, 200, item_status))
    con.executemany(
        "INSERT INTO windows (id, merchant_id, title, opens_at, closes_at, pickup_date, status, all_leaders,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
        windows,
    )
    con.executemany(
        "INSERT INTO window_items (id, window_id, product_id, group_price_fen, quota, status, min_group_size, sold)"
        " VALUES (?, ?, ?, ?, ?, ?, 1, 150)",
        items,
    )
    per_day = orders // YEAR_DAYS + 1
    order_rows, line_rows, payment_rows, refund_rows = [], [], [], []
    line_id = 100_000
    for n in range(orders):
        d = min(n // per_day, YEAR_DAYS - 1)
        window_id = 100_000 + d
        point = rng.randrange(POINTS)
        paid = datetime.combine(first_day + timedelta(days=d), datetime.min.time(), tzinfo=zone) + timedelta(
            seconds=rng.randrange(6 * 3600, 21 * 3600)
        )
        total = 0
        for k in range(1 + n % 2):
            p = (n * 7 + k * 13) % PRODUCTS
            qty = 1 + (n + k) % 3
            price = 500 + 97 * p
            total += price * qty
            line_rows.append((line_id, 100_000 + n, 100_000 + d * PRODUCTS + p, 100_000 + p, f"商品{p}", price, qty))
            line_id += 1
        stamp = _stamp(paid)
        order_rows.append(
            (
                100_000 + n,
                f"B{n:012d}",
                f"t{n:042d}",
                window_id,
                100_000 + point % LEADERS,
                100_000 + point,
                f"顾客{n % CUSTOMERS}",
                f"139{rng.randrange(CUSTOMERS):08d}",
                "completed",
                total,
                total,
                total // 10 if n % REFUND_EVERY == 0 else 0,
                stamp,
                stamp,
            )
        )
        payment_rows.append((100_000 + n, 100_000 + n, f"bench-{n}", total, stamp))
        if n % REFUND_EVERY == 0:
            refund_rows.append((100_000 + n, 100_000 + n, total // 10, _stamp(paid + timedelta(days=1))))
    con.executemany(
        "INSERT INTO orders (id, number, access_token, window_id, leader_id, pickup_point_id, customer_name,"
        " customer_phone, status, payment_provider, total_fen, paid_fen, refunded_fen, created_at, paid_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'simulator', ?, ?, ?, ?, ?)",
        order_rows,
    )
    con.executemany(
        "INSERT INTO order_items (id, order_id, window_item_id, product_id, product_name, product_spec,"
        " unit_price_fen, quantity, shortage_qty, redeemed_qty, status) VALUES (?, ?, ?, ?, ?, '500g', ?, ?, 0, 0,"
        " 'redeemed')",
        line_rows,
    )
    con.executemany(
        "INSERT INTO payments (id, order_id, provider, provider_ref, amount_fen, late, recorded_by, created_at,"
        " summarized) VALUES (?, ?, 'simulator', ?, ?, 0, 'bench', ?, 0)",
        payment_rows,
    )
    con.executemany(
        "INSERT INTO refunds (id, order_id, payment_id, amount_fen, reason, status, created_at, summarized)"
        " VALUES (?, ?, ?, ?, 'after_sales', 'succeeded', ?, 0)",
        [(rid, oid, oid, fen, at) for rid, oid, fen, at in refund_rows],
    )
    con.commit()
    return {"orders": orders, "lines": len(line_rows), "refunds": len(refund_rows), "first_day": first_day}


RAW_OVERVIEW_ORDERS = """
SELECT COALESCE(SUM(p.amount_fen), 0), COUNT(*), COUNT(DISTINCT o.customer_phone)
FROM payments p JOIN orders o ON o.id = p.order_id JOIN windows w ON w.id = o.window_id
WHERE w.merchant_id = :m AND p.late = 0 AND p.created_at >= :start AND p.created_at < :end
"""
RAW_REFUNDS_ORDERS = """
SELECT COALESCE(SUM(r.amount_fen), 0) FROM refunds r JOIN orders o ON o.id = r.order_id
JOIN windows w ON w.id = o.window_id
WHERE w.merchant_id = :m AND r.reason != 'late_payment' AND r.created_at >= :start AND r.created_at < :end
"""
RAW_OVERVIEW_SUMMARY = """
SELECT SUM(paid_fen), SUM(orders_count), SUM(refunded_fen),
       (SELECT COUNT(DISTINCT customer_phone) FROM customer_days WHERE merchant_id = :m AND day BETWEEN :a AND :b)
FROM sales_daily WHERE merchant_id = :m AND day BETWEEN :a AND :b
"""


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p50_ms": statistics.median(ordered), "p95_ms": pick(0.95), "max_ms": ordered[-1]}


def _time(call, repeat: int) -> dict:
    call()  # warm the page cache and the app's own caches
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return _percentiles(samples)


def run(work: Path, *, orders: int = 1_000_000, repeat: int = 40) -> dict:
    app = data.bench_app(work / "dashboard-app", WTF_CSRF_ENABLED=False)
    db_file = work / "dashboard-app" / "bench.sqlite3"
    rng = random.Random(20261202)
    with app.app_context():
        merchant = accounts.create_merchant("鲜果坊", "王店长", data.PASSWORD, owner_phone="13800000001")
        merchant_id = merchant.id
        today = clock.to_local(clock.now()).date()
        db.session.remove()
        started = time.perf_counter()
        con = sqlite3.connect(db_file)
        written = seed(con, merchant_id, orders, today, rng)
        seed_s = time.perf_counter() - started
        print(f"dashboard: {orders} orders written in {seed_s:.0f} s; rolling up…", file=sys.stderr)

        started = time.perf_counter()
        folded = sales_rollup.roll_up_sales(batch_size=20_000, max_batches=10**6)
        rollup_s = time.perf_counter() - started
        db.session.remove()
    print(f"dashboard: {folded} ledger rows folded in {rollup_s:.0f} s; timing the page…", file=sys.stderr)

    client = app.test_client()
    login = client.post("/login", data={"login": "13800000001", "password": data.PASSWORD})
    assert login.status_code == 302, login.status_code

    def get(url: str):
        def call():
            response = client.get(url)
            assert response.status_code == 200, response.status_code

        return call

    with app.app_context():
        zone = clock.local_zone()
    ranges = {}
    for preset, days in (("today", 1), ("7d", 7), ("30d", 30)):
        start = today - timedelta(days=days - 1)
        bounds = {
            "m": merchant_id,
            "start": _stamp(datetime.combine(start, datetime.min.time(), tzinfo=zone)),
            "end": _stamp(datetime.combine(today + timedelta(days=1), datetime.min.time(), tzinfo=zone)),
            "a": start.isoformat(),
            "b": today.isoformat(),
        }
        raw = sqlite3.connect(db_file)

        def raw_orders(bounds=bounds, raw=raw):
            raw.execute(RAW_OVERVIEW_ORDERS, bounds).fetchone()
            raw.execute(RAW_REFUNDS_ORDERS, bounds).fetchone()

        def raw_summary(bounds=bounds, raw=raw):
            return raw.execute(RAW_OVERVIEW_SUMMARY, bounds).fetchone()

        # The page and the two baselines must agree on the money, or the comparison means nothing.
        gmv_orders = raw.execute(RAW_OVERVIEW_ORDERS, bounds).fetchone()
        gmv_summary = raw_summary()
        ranges[preset] = {
            "overview_api": _time(get(f"/api/v1/merchant/reports/overview?range={preset}"), repeat),
            "page": _time(get(f"/merchant/reports?range={preset}"), repeat),
            "raw_sql_over_orders": _time(raw_orders, max(5, repeat // 4)),
            "raw_sql_over_summaries": _time(raw_summary, repeat),
            "gmv_fen": gmv_summary[0] or 0,
            "figures_agree": (gmv_orders[0], gmv_orders[1]) == (gmv_summary[0] or 0, gmv_summary[1] or 0),
        }
        raw.close()
    with app.app_context():
        db.engine.dispose()
    return {
        "orders": written["orders"],
        "order_lines": written["lines"],
        "refunds": written["refunds"],
        "days": YEAR_DAYS,
        "pickup_points": POINTS,
        "seed_s": seed_s,
        "rollup": {"ledger_rows": folded, "seconds": rollup_s, "rows_per_s": folded / rollup_s if rollup_s else 0},
        "ranges": ranges,
    }
