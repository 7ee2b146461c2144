"""Engine tuning that every connection gets.

SQLite: WAL (readers never block the writer), a busy timeout, foreign keys, and the choice of
how a transaction begins. pysqlite begins lazily with a plain BEGIN, and a transaction that
reads and later writes then fails at once with "database is locked" when another writer got
in between (the busy timeout does not apply to that upgrade). So writes begin with
BEGIN IMMEDIATE, which takes the write lock up front and makes writers queue on the busy
timeout. Read-only requests (GET/HEAD) begin DEFERRED so they never wait for a writer.
"""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

# "IMMEDIATE" or "DEFERRED"; set per request in create_app, IMMEDIATE for jobs and the CLI.
sqlite_begin_mode: ContextVar[str] = ContextVar("sqlite_begin_mode", default="IMMEDIATE")
_installed = False


def install_engine_hooks(busy_timeout_ms: int) -> None:
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
            conn.exec_driver_sql(f"BEGIN {sqlite_begin_mode.get()}")
