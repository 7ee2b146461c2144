"""The baseline for the order rush: bare Flask doing the least a placed order must do.

POST /rush/orders parses a JSON body and, in one BEGIN IMMEDIATE transaction on SQLite with
the app's connection settings (WAL, busy timeout, synchronous=NORMAL), takes the units with a
conditional decrement (`stock = stock - :qty WHERE stock >= :qty`) and inserts the order:
201, or 409 when sold out. No share link, window, quota, limit or capacity checks, ORM, rate
limit or audit event: the gap between this and the real endpoint is what those cost.

Served by gunicorn with the app's own settings (deploy/gunicorn.conf.py):
`BARE_RUSH_DB=… gunicorn -c deploy/gunicorn.conf.py "bench.bare_rush_app:create_app()"`.
"""

from __future__ import annotations

import os
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, jsonify, request

from bench.bare_app import connect


def create_tables(database: Path, stock: int) -> None:
    """One product (id 1) with `stock` units and an empty orders table."""
    conn = connect(database)
    conn.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, stock INTEGER NOT NULL CHECK (stock >= 0))")
    conn.execute(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, product_id INTEGER NOT NULL, quantity INTEGER NOT NULL, "
        "customer_phone TEXT NOT NULL, access_token TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)"
    )
    conn.execute("INSERT INTO products (id, stock) VALUES (1, ?)", (stock,))
    conn.close()


def units_sold(database: Path) -> tuple[int, int, int]:
    """(stock left, orders, units in orders)."""
    conn = connect(database)
    stock = conn.execute("SELECT stock FROM products WHERE id = 1").fetchone()[0]
    orders, units = conn.execute("SELECT count(*), coalesce(sum(quantity), 0) FROM orders").fetchone()
    conn.close()
    return stock, orders, units


def create_app(database: str | None = None) -> Flask:
    database = database or os.environ["BARE_RUSH_DB"]
    app = Flask(__name__)
    local = threading.local()

    def db():
        if not hasattr(local, "conn"):
            local.conn = connect(Path(database))
        return local.conn

    @app.get("/ping")
    def ping():
        return "ok"

    @app.post("/rush/orders")
    def place_order():
        body = request.get_json()
        product_id, quantity, phone = int(body["product_id"]), int(body["quantity"]), str(body["customer_phone"])
        token = secrets.token_urlsafe(32)
        conn = db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            taken = conn.execute(
                "UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?",
                (quantity, product_id, quantity),
            ).rowcount
            if taken:
                conn.execute(
                    "INSERT INTO orders (product_id, quantity, customer_phone, access_token, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (product_id, quantity, phone, token, datetime.now(UTC).isoformat()),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if not taken:
            return jsonify({"error": {"code": "out_of_stock"}}), 409
        return jsonify({"access_token": token, "status": "pending_payment"}), 201

    return app
