"""The baseline for the redeem figure: bare Flask doing the least a redeem must do.

One POST endpoint parses a JSON body and runs one compare-and-set UPDATE by primary key on
SQLite with the app's connection settings (WAL, busy timeout, synchronous=NORMAL, BEGIN
IMMEDIATE), served by waitress with the same thread count. No auth, ORM, audit or idempotency:
the gap between this and the real endpoint is what those cost.
"""

from __future__ import annotations

import argparse
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, jsonify, request

BUSY_TIMEOUT_MS = 30000  # the app's SQLITE_BUSY_TIMEOUT_MS default


def connect(database: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def create_codes(database: Path, count: int) -> None:
    """A table of `count` issued codes, ids 1..count."""
    conn = connect(database)
    conn.execute(
        "CREATE TABLE codes (id INTEGER PRIMARY KEY, status TEXT NOT NULL, redeemed_at TEXT, idempotency_key TEXT)"
    )
    conn.executemany("INSERT INTO codes (id, status) VALUES (?, 'issued')", ((n,) for n in range(1, count + 1)))
    conn.close()


def create_bare_app(database: Path) -> Flask:
    app = Flask(__name__)
    local = threading.local()

    def db() -> sqlite3.Connection:
        if not hasattr(local, "conn"):
            local.conn = connect(database)
        return local.conn

    @app.get("/ping")
    def ping():
        return "ok"

    @app.post("/redeem")
    def redeem():
        body = request.get_json()
        conn = db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            changed = conn.execute(
                "UPDATE codes SET status = 'redeemed', redeemed_at = ?, idempotency_key = ? "
                "WHERE id = ? AND status = 'issued'",
                (datetime.now(UTC).isoformat(), body["idempotency_key"], int(body["code_id"])),
            ).rowcount
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if not changed:
            return jsonify({"error": {"code": "already_redeemed"}}), 409
        return jsonify({"outcome": "redeemed", "code_id": int(body["code_id"])})

    return app


def main() -> None:
    from waitress import serve

    parser = argparse.ArgumentParser()
    parser.add_argument("database", type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args()
    serve(create_bare_app(args.database), host="127.0.0.1", port=args.port, threads=args.threads, ident="baseline")


if __name__ == "__main__":
    main()
