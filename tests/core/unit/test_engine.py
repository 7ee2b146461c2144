"""SQLite writers of one process queue on a mutex, and a writes-late request reads beside them."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.engine import begin_writing, engine_options, sqlite_begin_mode
from app.extensions import db
from app.models import User

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def engine(tmp_path):
    # The hooks are installed by create_app (the `app` fixture); this engine gets them too.
    url = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    eng = create_engine(url, **engine_options(url))
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    yield eng
    eng.dispose()


def _write_without_waiting(eng, value: int, log: list) -> None:
    """A writer whose SQLite busy timeout is 0: without the mutex it fails at once while
    another connection holds the write lock."""
    try:
        with eng.connect() as conn:
            conn.connection.dbapi_connection.execute("PRAGMA busy_timeout=0")
            with conn.begin():
                log.append(f"begun {value}")
                conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": value})
    except Exception as exc:  # noqa: BLE001 - recorded for the assertion
        log.append(f"failed {value}: {exc.__class__.__name__}")


@pytest.fixture
def immediate(app):
    token = sqlite_begin_mode.set("IMMEDIATE")  # as jobs, the CLI and write requests begin
    yield
    sqlite_begin_mode.reset(token)


@pytest.mark.parametrize("finish", ["commit", "rollback", "close"])
def test_second_writer_waits_for_the_first_instead_of_failing(immediate, engine, finish):
    log: list[str] = []
    first = engine.connect()
    first.begin()
    first.execute(text("INSERT INTO t (n) VALUES (1)"))
    second = threading.Thread(target=_write_without_waiting, args=(engine, 2, log))
    second.start()
    second.join(timeout=0.5)
    assert second.is_alive(), log  # queued on the mutex, not refused by SQLite
    log.append(f"first {finish}")
    if finish == "commit":
        first.commit()
    elif finish == "rollback":
        first.rollback()
    else:
        first.invalidate()  # the connection is closed: its lock must not outlive it
    second.join(timeout=30)
    first.close()
    assert log == [f"first {finish}", "begun 2"]
    with engine.connect() as conn:
        rows = sorted(n for (n,) in conn.execute(text("SELECT n FROM t")))
    assert rows == ([1, 2] if finish == "commit" else [2])


def test_readers_do_not_wait_for_a_writer(immediate, engine):
    writer = engine.connect()
    writer.begin()
    writer.execute(text("INSERT INTO t (n) VALUES (1)"))
    token = sqlite_begin_mode.set("DEFERRED")
    try:
        with engine.connect() as reader:
            assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        sqlite_begin_mode.reset(token)
        writer.rollback()
        writer.close()


def _other_writer_is_locked_out(database: str) -> bool:
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        other.close()


def test_writes_late_request_takes_the_write_lock_only_at_begin_writing(app, make_user):
    user_id = make_user("店员").id
    database = db.engine.url.database
    token = sqlite_begin_mode.set("WRITES_LATE")
    try:
        db.session.remove()
        loaded = db.session.get(User, user_id)
        assert db.session().in_transaction()
        assert not _other_writer_is_locked_out(database)
        begin_writing()
        assert "name" in loaded.__dict__  # what the read phase loaded is kept, not expired
        db.session.execute(text("SELECT 1"))
        assert _other_writer_is_locked_out(database)
        db.session.commit()
        assert not _other_writer_is_locked_out(database)
    finally:
        sqlite_begin_mode.reset(token)
        db.session.remove()


def test_begin_writing_changes_nothing_outside_a_writes_late_request(app, make_user):
    make_user("店员")
    db.session.execute(text("SELECT 1"))
    assert sqlite_begin_mode.get() == "DEFERRED"  # the test app's mode
    begin_writing()
    assert sqlite_begin_mode.get() == "DEFERRED"
    assert db.session().in_transaction()  # nothing was committed behind the caller's back


# ---- the database files hold names and phones: owner only


@pytest.fixture
def usual_umask():
    previous = os.umask(0o022)  # what most machines have: new files 0644
    yield
    os.umask(previous)


def _modes(folder) -> dict[str, int]:
    return {path.name: path.stat().st_mode & 0o777 for path in folder.iterdir()}


def test_a_new_database_its_wal_and_shm_are_readable_by_their_owner_only(app, usual_umask, tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    eng = create_engine(url, **engine_options(url))
    try:
        with eng.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
            conn.exec_driver_sql("INSERT INTO t (n) VALUES (1)")
        # The pooled connection is still open, so the -wal and -shm files are there.
        assert {"new.sqlite3", "new.sqlite3-wal", "new.sqlite3-shm"} <= set(_modes(tmp_path))
        assert set(_modes(tmp_path).values()) == {0o600}  # the lock files beside it too
    finally:
        eng.dispose()


def test_a_world_readable_database_from_an_earlier_release_is_made_private(app, usual_umask, tmp_path):
    path = tmp_path / "old.sqlite3"
    older = sqlite3.connect(path, isolation_level=None)  # as SQLite makes it: 0644, and so its WAL
    older.execute("PRAGMA journal_mode=WAL")
    older.execute("CREATE TABLE t (n INTEGER)")
    older.execute("INSERT INTO t (n) VALUES (7)")
    assert _modes(tmp_path) == {"old.sqlite3": 0o644, "old.sqlite3-wal": 0o644, "old.sqlite3-shm": 0o644}
    url = f"sqlite:///{path}"
    eng = create_engine(url, **engine_options(url))
    try:
        with eng.connect() as conn:
            assert conn.execute(text("SELECT n FROM t")).scalar() == 7
        assert set(_modes(tmp_path).values()) == {0o600}
    finally:
        eng.dispose()
        older.close()


def test_the_apps_own_database_files_are_private(app, make_user):
    make_user("店员")  # a write: the WAL has something in it
    database = Path(db.engine.url.database)
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        assert path.stat().st_mode & 0o777 == 0o600, path
