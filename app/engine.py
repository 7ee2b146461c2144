"""Engine tuning that every connection gets.

SQLite: WAL (readers never block the writer), a busy timeout, foreign keys, and the choice of
how a transaction begins. pysqlite begins lazily with a plain BEGIN, and a transaction that
reads and later writes then fails at once with "database is locked" when another writer got
in between (the busy timeout does not apply to that upgrade). So writes begin with
BEGIN IMMEDIATE, which takes the write lock up front and makes writers queue. Read-only
requests (GET/HEAD) begin DEFERRED so they never wait for a writer.

Writers of one process queue on a mutex per database file rather than on SQLite's busy
handler: that handler polls with sleeps of up to 100 ms, so under load a waiting writer often
sleeps long after the lock came free, which is where the slow tail of a busy counter came
from. Between processes (several gunicorn workers, the scheduler, the CLI) the thread holding
its process's mutex then takes an advisory lock on a file beside the database, polled every
millisecond or two rather than SQLite's up to 100 ms; past the busy timeout a writer goes on
without it and SQLite's own timeout decides, as before.

A view marked `writes_late` begins DEFERRED and calls `begin_writing()` just before its first
write: its reads (token, permissions, the replay check) then run beside other writers and the
write lock is held only for the writes themselves.

The database file holds customers' names and phone numbers, so every connection makes it (and
its -wal and -shm files) readable by its owner only, before writing anything: SQLite creates the
file as it opens it (0644 under the usual umask) and gives the -wal and -shm files the database
file's permissions, so a new database is private from its first byte and an older one is made so.
The lock files beside it hold nothing and are made owner-only when created.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

from app import engine_checkpoints, engine_in_use
from app.extensions import db

# "IMMEDIATE", "DEFERRED" or "WRITES_LATE" (DEFERRED until begin_writing(), then IMMEDIATE);
# set per request in create_app, IMMEDIATE for jobs and the CLI.
sqlite_begin_mode: ContextVar[str] = ContextVar("sqlite_begin_mode", default="IMMEDIATE")
WRITES_LATE_ATTR = "sqlite_writes_late"
_installed = False
_busy_timeout_s = 30.0
_background_checkpoints = True
_mutexes: dict[str, threading.Lock] = {}
_lock_fds: dict[tuple[int, str], int | None] = {}
_mutexes_guard = threading.Lock()
_not_private: set[str] = set()  # files that could not be made private, warned about once
logger = logging.getLogger(__name__)


def writes_late(view):
    """Mark a view whose reads come first and whose writes start with begin_writing()."""
    setattr(view, WRITES_LATE_ATTR, True)
    return view


def begin_writing() -> None:
    """From here on this request writes: end its read-only transaction (keeping what it loaded)
    so that the next statement begins IMMEDIATE. A no-op unless the request writes late."""
    if sqlite_begin_mode.get() != "WRITES_LATE":
        return

    session = db.session()  # the request's own session, not the scoped proxy
    if session.in_transaction():
        keep = session.expire_on_commit
        session.expire_on_commit = False  # nothing was written, so nothing loaded can be stale
        try:
            session.commit()
        finally:
            session.expire_on_commit = keep
    sqlite_begin_mode.set("IMMEDIATE")


class WriteQueuedConnection(sqlite3.Connection):
    """A pysqlite connection that holds its database's process-wide write mutex from
    BEGIN IMMEDIATE until COMMIT, ROLLBACK or close."""

    _held: threading.Lock | None = None
    _file_held: int | None = None

    def hold(self, mutex: threading.Lock, lock_fd: int | None = None) -> None:
        # Past the busy timeout, go on without the mutex: SQLite's own timeout then decides,
        # as it did before (and a thread with two connections cannot deadlock itself).
        deadline = time.monotonic() + _busy_timeout_s
        if not mutex.acquire(timeout=_busy_timeout_s):
            return
        self._held = mutex
        if lock_fd is not None and _lock_file(lock_fd, deadline):
            self._file_held = lock_fd

    def release(self) -> None:
        fd, self._file_held = self._file_held, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        mutex, self._held = self._held, None
        if mutex is not None:
            mutex.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release()
        if _background_checkpoints:
            engine_checkpoints.ensure_running(self.database)

    database = ""  # the file, set on connect, for the checkpointer

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release()


def engine_options(url: str) -> dict:
    """SQLAlchemy engine options for a database URL. A file SQLite database gets queued writers
    and no pre-ping (a local file cannot drop the connection); a server gets pre-ping."""
    if not url.startswith("sqlite"):
        return {"pool_pre_ping": True}
    if url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url:
        return {}
    return {"connect_args": {"factory": WriteQueuedConnection}}


def _mutex_for(database: str) -> threading.Lock:
    with _mutexes_guard:
        return _mutexes.setdefault(database, threading.Lock())


def _lock_fd_for(database: str) -> int | None:
    """This process's descriptor of the writers' lock file beside `database` (None: no file
    database, or the folder is read-only). Per pid: a descriptor inherited across fork shares
    its lock with the parent, so a forked worker opens its own."""
    if not database or database == ":memory:":
        return None
    key = (os.getpid(), database)
    with _mutexes_guard:
        if key not in _lock_fds:
            try:
                _lock_fds[key] = os.open(f"{database}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                _lock_fds[key] = None
        return _lock_fds[key]


def _lock_file(fd: int, deadline: float) -> bool:
    """Take the cross-process writers' lock, polling briefly; False past the deadline."""
    delay = 0.0005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.002)


def keep_private(database: str) -> None:
    """Make a SQLite database file, and its -wal and -shm files when present, readable and
    writable by their owner only (all three hold the data); a file of another owner is left
    as it is, with a warning. Run every process on one database as the same user."""
    for path in (database, f"{database}-wal", f"{database}-shm"):
        try:
            mode = os.stat(path).st_mode & 0o777
            if mode & 0o077:
                os.chmod(path, mode & 0o700)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if path not in _not_private:
                _not_private.add(path)
                logger.warning("%s is readable by other users and could not be made private: %s", path, exc)


def install_engine_hooks(busy_timeout_ms: int, background_checkpoints: bool = True) -> None:
    global _installed, _busy_timeout_s, _background_checkpoints
    _busy_timeout_s = busy_timeout_ms / 1000
    _background_checkpoints = background_checkpoints
    if _installed:
        return
    _installed = True

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, connection_record):  # noqa: ARG001
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            database = cursor.execute("PRAGMA database_list").fetchone()[2]
            if database:  # a file, not memory: private before the first write (the WAL switch)
                keep_private(database)
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            if isinstance(dbapi_connection, WriteQueuedConnection):
                engine_in_use.mark_in_use(database)  # so that `flask restore` knows (engine_in_use.py)
                if _background_checkpoints:
                    # A thread checkpoints instead of the commits (engine_checkpoints.py).
                    cursor.execute(f"PRAGMA wal_autocheckpoint={engine_checkpoints.SAFETY_NET_PAGES}")
                    dbapi_connection.database = database
            cursor.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(conn):
        if conn.dialect.name != "sqlite":
            return
        mode = sqlite_begin_mode.get()
        if mode != "IMMEDIATE":
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        raw = conn.connection.dbapi_connection
        queued = isinstance(raw, WriteQueuedConnection)
        if queued:
            database = conn.engine.url.database or ""
            raw.hold(_mutex_for(database), _lock_fd_for(database))
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queued:
                raw.release()
            raise
