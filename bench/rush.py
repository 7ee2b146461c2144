"""Figure (a): an order rush. 200 customers order one hot item at once, beside a bare-Flask baseline.

The app runs as in production: gunicorn with deploy/gunicorn.conf.py (gthread workers, access
log, no scheduler), SQLite in WAL with the app's own settings (BEGIN IMMEDIATE writes, rate
limits on), behind a proxy as far as the app can tell (TRUSTED_PROXIES=1, each client sends
its own X-Forwarded-For, so each is rate limited as one customer, as behind nginx). The data
comes from the services: one open window with a hot item (stock 3/4 of the demand, so the
last quarter of the orders is refused as sold out; a per-customer limit each customer reaches
but never passes, so that check runs too) and a warm-up item with stock to spare. Rate limits
count in memory per worker (REDIS_URL unset), the app's default on one host.

Each client first places one warm-up order (the connection, the worker's first request), then
`requests` orders of one unit of the hot item, one after another over a keep-alive connection
(bench/load.py). "orders/s" counts every order request answered, placed (201) or refused as
sold out (409); latency is per request. Afterwards the database is counted: stock never
negative, units in orders never above the stock there was, counters agreeing with the orders.

The baseline (bench/bare_rush_app.py) does the least a placed order must do (a conditional
stock decrement and an insert) on the same gunicorn settings, driven by the same clients.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OrderItem, PointWindowUsage, Product, WindowItem
from app.services.accounts import accounts
from app.services.catalog import catalog
from app.services.core import clock
from app.services.pickup import points
from app.services.windows import sharing, windows
from bench import bare_rush_app, data, load, servers

CONF = servers.ROOT / "deploy" / "gunicorn.conf.py"
APP_PATH_TEMPLATE = "/api/v1/shop/{slug}/orders"
BASELINE_PATH = "/rush/orders"
BASELINE_LABEL = "bare Flask JSON endpoint on gunicorn"
# Orders per buyer: 4,800 in all. At 8 (1,600, a few seconds) the baseline moved between 1,189
# and 2,129 orders/s from run to run; at 24 it stayed within 1,720–1,980.
REQUESTS = 24
WORKERS = 2  # one per CPU on the 2-core bench machine, the conf's default there
THREADS = 4  # the conf's default


def _hot_window(stock: int, warmup_stock: int, capacity: int, limit: int) -> dict:
    """An open window with a hot item and a warm-up item at one pickup point. Needs an app context."""
    now = clock.now()
    merchant = accounts.create_merchant("抢购鲜果", "周店长", data.PASSWORD, owner_phone="13800000301")
    leader = accounts.create_leader("晨光小区", "吴团长", data.PASSWORD, phone="13800000302")
    point = points.create_point(
        leader, points.PointInput("晨光小区 北门", "晨光路 1 号北门", "13800000312", "08:00-21:00", capacity)
    )
    hot = catalog.create_product(merchant, name="爆款草莓", spec="500g", category="水果", price_fen=1990, stock=stock)
    warm = catalog.create_product(
        merchant, name="海南香蕉", spec="1kg", category="水果", price_fen=990, stock=warmup_stock
    )
    earlier = now - timedelta(minutes=1)
    with clock.frozen_at(earlier):
        window = windows.create_window(
            merchant,
            windows.WindowInput(
                title="限时抢购",
                opens_at=earlier - timedelta(minutes=1),
                closes_at=now + timedelta(hours=2),
                pickup_date=clock.to_local(now).date() + timedelta(days=1),
            ),
        )
        items = [
            windows.ItemInput(product_id=hot.id, group_price_fen=1590, per_customer_limit=limit),
            windows.ItemInput(product_id=warm.id, group_price_fen=890),
        ]
        windows.update_window(
            window,
            windows.WindowInput(window.title, window.opens_at, window.closes_at, window.pickup_date, items=items),
        )
        windows.schedule_window(window)
        windows.open_due_windows()
    by_product = {item.product_id: item.id for item in window.items}
    return {
        "slug": sharing.get_or_create_share_link(window, leader).slug,
        "point_id": point.id,
        "hot_product_id": hot.id,
        "hot_item_id": by_product[hot.id],
        "warm_item_id": by_product[warm.id],
        "window_id": window.id,
    }


def _clients(count: int, requests: int, body) -> list[load.Client]:
    """Client n: its own phone and client address, one warm-up order, then `requests` hot orders."""
    clients = []
    for n in range(count):
        phone = f"137{n:08d}"
        headers = {"X-Forwarded-For": f"10.{n // 250}.{n % 250}.1"}
        clients.append(load.Client(headers=headers, warmup=[body(phone, warm=True)], bodies=[body(phone)] * requests))
    return clients


def _app_body(plan: dict):
    def body(phone: str, warm: bool = False) -> bytes:
        item = plan["warm_item_id"] if warm else plan["hot_item_id"]
        order = {
            "items": [{"window_item_id": item, "quantity": 1}],
            "pickup_point_id": plan["point_id"],
            "customer_name": "抢购顾客",
            "customer_phone": phone,
            "payment_provider": "simulator",
        }
        return json.dumps(order).encode()

    return body


def _bare_body(phone: str, warm: bool = False) -> bytes:
    # Product 2 does not exist: a warm-up that reaches the database and takes nothing.
    return json.dumps({"product_id": 2 if warm else 1, "quantity": 1, "customer_phone": phone}).encode()


def _gunicorn(app_spec: str, env: dict, log_dir: Path, name: str, probe: str, workers: int, threads: int):
    port = servers.free_port()
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_ACCESS_LOG": str(log_dir / f"{name}-access.log"),
        "GUNICORN_CONTROL_SOCKET": "",
    }
    argv = [sys.executable, "-m", "gunicorn", "-c", str(CONF), app_spec]
    return servers.Server(argv, env, log_dir / f"{name}-server.log", port, probe)


def _outcomes(summary: dict) -> dict:
    statuses = summary["statuses"]
    placed, refused = statuses.get("201", 0), statuses.get("409", 0)
    wall = summary["wall_s"]
    return {
        "placed": placed,
        "refused_sold_out": refused,
        "errors": summary["requests"] - placed - refused,
        "orders_per_s": summary["throughput_rps"],
        "placed_per_s": placed / wall if wall > 0 else 0.0,
        "p50_ms": summary["p50_ms"],
        "p95_ms": summary["p95_ms"],
        "p99_ms": summary["p99_ms"],
        "max_ms": summary["max_ms"],
        "wall_s": wall,
        "statuses": statuses,
    }


def _app_counts(plan: dict, stock: int) -> dict:
    """What the database holds for the hot item after the rush. Needs an app context."""
    hot_lines = (
        select(func.count(OrderItem.id), func.coalesce(func.sum(OrderItem.quantity), 0))
        .join(Order, Order.id == OrderItem.order_id)
        .where(OrderItem.window_item_id == plan["hot_item_id"], Order.status != "cancelled")
    )
    orders, units = db.session.execute(hot_lines).one()
    left = db.session.scalar(select(Product.stock).where(Product.id == plan["hot_product_id"]))
    item_sold = db.session.scalar(select(WindowItem.sold).where(WindowItem.id == plan["hot_item_id"]))
    all_orders = db.session.scalar(select(func.count()).select_from(Order).where(Order.window_id == plan["window_id"]))
    point_orders = db.session.scalar(
        select(PointWindowUsage.orders_count).where(PointWindowUsage.window_id == plan["window_id"])
    )
    return {
        "stock": stock,
        "stock_left": left,
        "orders": orders,
        "units_sold": units,
        "oversold": max(0, units - stock, -left),
        "counters_agree": left == stock - units and item_sold == units and point_orders == all_orders,
    }


def _bare_counts(database: Path, stock: int) -> dict:
    left, orders, units = bare_rush_app.units_sold(database)
    return {
        "stock": stock,
        "stock_left": left,
        "orders": orders,
        "units_sold": units,
        "oversold": max(0, units - stock, -left),
        "counters_agree": left == stock - units,
    }


def run(
    work: Path,
    *,
    clients: int = 200,
    requests: int = REQUESTS,
    workers: int = WORKERS,
    threads: int = THREADS,
    processes: int = 4,
) -> dict:
    """Seed and rush the app on gunicorn, then the baseline; outcomes, latency and the database's count."""
    demand = clients * requests
    stock = demand * 3 // 4
    instance = work / "rush-app"
    app = data.bench_app(instance)
    with app.app_context():
        plan = _hot_window(
            stock, warmup_stock=clients, capacity=min(points.MAX_CAPACITY, demand + clients), limit=requests
        )
        db.session.remove()
        db.engine.dispose()  # nothing of ours holds SQLite while the server works
    env = {
        "DATABASE_URL": data.database_url(instance),
        "SECRET_KEY": data.SECRET,
        "INSTANCE_PATH": str(instance),
        "TRUSTED_PROXIES": "1",
        "RATELIMIT_ENABLED": "1",
        # The same figure whatever the caller's environment holds.
        "REDIS_URL": "",
        "RATELIMIT_STORAGE_URI": "",
    }
    path = APP_PATH_TEMPLATE.format(slug=plan["slug"])
    with _gunicorn("app:create_app()", env, work, "app", "/login", workers, threads) as server:
        app_load = load.run(server.port, path, _clients(clients, requests, _app_body(plan)), processes=processes)
    with app.app_context():
        app_db = _app_counts(plan, stock)
        db.engine.dispose()

    baseline_db = work / "bare-rush.sqlite3"
    bare_rush_app.create_tables(baseline_db, stock)
    env = {"BARE_RUSH_DB": str(baseline_db)}
    with _gunicorn("bench.bare_rush_app:create_app()", env, work, "baseline", "/ping", workers, threads) as server:
        base_load = load.run(server.port, BASELINE_PATH, _clients(clients, requests, _bare_body), processes=processes)
    return {
        "clients": clients,
        "requests_per_client": requests,
        "demand": demand,
        "stock": stock,
        "gunicorn_workers": workers,
        "gunicorn_threads": threads,
        "load_processes": processes,
        "app": {**_outcomes(app_load.summary()), "database": app_db},
        "baseline": {**_outcomes(base_load.summary()), "database": _bare_counts(baseline_db, stock)},
    }


def headline(result: dict) -> dict[str, dict]:
    """The rush's rows for the report: throughput against the 0.5 × baseline target, latency, oversold."""
    app, base = result["app"], result["baseline"]
    rate, base_rate = app["orders_per_s"], base["orders_per_s"]
    oversold = app["database"]["oversold"]
    common = {"baseline_label": BASELINE_LABEL}
    return {
        "rush_orders_per_s": {
            "value": round(rate, 1),
            "unit": "orders/s",
            "baseline": round(base_rate, 1),
            **common,
            "target": "≥ 0.5 × baseline",
            "met": rate >= 0.5 * base_rate,
        },
        **{
            f"rush_{pct}_ms": {
                "value": round(app[f"{pct}_ms"], 1),
                "unit": "ms",
                "baseline": round(base[f"{pct}_ms"], 1),
                **common,
                "target": None,
                "met": None,
            }
            for pct in ("p50", "p99")
        },
        "rush_oversold": {
            "value": oversold,
            "unit": "units",
            "baseline": None,
            "baseline_label": None,
            "target": "0",
            "met": oversold == 0 and app["database"]["counters_agree"],
        },
    }


def main(argv: list[str] | None = None) -> dict:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.rush", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="concurrent customers (200)")
    parser.add_argument("--requests", type=int, default=REQUESTS, help=f"hot-item orders per customer ({REQUESTS})")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"gunicorn workers, app and baseline ({WORKERS})")
    parser.add_argument("--threads", type=int, default=THREADS, help=f"threads per worker ({THREADS})")
    parser.add_argument("--processes", type=int, default=4, help="load generator processes (4)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="groupbuy-rush-") as work:
        result = run(
            Path(work),
            clients=args.clients,
            requests=args.requests,
            workers=args.workers,
            threads=args.threads,
            processes=args.processes,
        )
    print(json.dumps(result, indent=2, ensure_ascii=False))
    for name, row in headline(result).items():
        target = f"target {row['target']}: {'met' if row['met'] else 'NOT met'}" if row["target"] else "no target"
        print(f"{name}: {row['value']} {row['unit']} (baseline {row['baseline']}; {target})")
    return result


if __name__ == "__main__":
    main()
