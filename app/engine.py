"""Engine tuning that every connection gets, and small query helpers for services."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine

_installed = False


def install_engine_hooks(busy_timeout_ms: int) -> None:
    """SQLite: WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE transactions.

    pysqlite starts transactions lazily with a plain BEGIN; a reader that later writes can
    then fail at once with "database is locked" instead of waiting. Taking the write lock at
    BEGIN makes writers queue on the busy timeout, which is what the concurrency tests need.
    """
    global _installed
    if _installed:
        return
    _installed = True

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # noqa: ARG001
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(conn):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
