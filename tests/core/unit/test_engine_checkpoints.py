"""WAL checkpoints run on a background thread, so no request pays for one inside its commit."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import create_engine, text

from app import engine_checkpoints
from app.engine import engine_options

pytestmark = pytest.mark.sqlite_only

ROWS = 400  # ~2 MiB: well under the commit-time threshold, so only the thread can checkpoint them
ROW = "x" * 4000


def _wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def engine(app, tmp_path):  # noqa: ARG001 - the app installs the engine hooks
    path = tmp_path / "wal.sqlite3"
    url = f"sqlite:///{path}"
    eng = create_engine(url, **engine_options(url))
    yield eng, path
    eng.dispose()


def _write(eng) -> None:
    with eng.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (s TEXT)")
        conn.execute(text("INSERT INTO t (s) VALUES (:s)"), [{"s": ROW}] * ROWS)


def test_commits_leave_checkpoints_to_the_background_thread(engine):
    eng, path = engine
    with eng.connect() as conn:
        autocheckpoint = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert autocheckpoint == engine_checkpoints.SAFETY_NET_PAGES
    _write(eng)
    assert os.path.getsize(path) < 1024 * 1024  # committed to the WAL, not yet to the database file
    # The thread copies the pages into the database file without any further commit.
    assert _wait_for(lambda: os.path.getsize(path) > ROWS * len(ROW))


def test_an_idle_checkpointer_ends_and_the_next_commit_starts_another(engine, monkeypatch):
    eng, path = engine
    monkeypatch.setattr(engine_checkpoints, "CHECK_EVERY_S", 0.05)
    monkeypatch.setattr(engine_checkpoints, "IDLE_EXIT_S", 0.3)
    _write(eng)
    key = (os.getpid(), str(path))
    first = engine_checkpoints._threads[key]
    assert _wait_for(lambda: not first.is_alive())
    _write(eng)
    second = engine_checkpoints._threads[key]
    assert second is not first and second.is_alive()
    assert _wait_for(lambda: os.path.getsize(path) > 2 * ROWS * len(ROW))


def test_stop_ends_the_checkpointer_and_the_next_commit_starts_another(engine):
    eng, path = engine
    _write(eng)

    def running():
        return [k for k, t in engine_checkpoints._threads.items() if k[0] == os.getpid() and t.is_alive()]

    mine = [k for k in running() if os.path.realpath(k[1]) == os.path.realpath(path)]
    assert len(mine) == 1
    thread = engine_checkpoints._threads[mine[0]]

    engine_checkpoints.stop(str(path))

    assert not thread.is_alive()  # joined: its connection is closed before a restore writes
    assert mine[0] not in engine_checkpoints._threads
    _write(eng)
    assert engine_checkpoints._threads[mine[0]].is_alive()
