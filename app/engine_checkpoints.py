"""SQLite WAL checkpoints off the request path.

SQLite checkpoints the WAL inside the COMMIT that crosses `wal_autocheckpoint` pages (1000 by
default): that request then copies pages into the database file and fsyncs it, tens to hundreds
of milliseconds on a small server's disk, while still holding this process's write mutex (see
engine.py), so every writer queued behind it waits too. At a busy pickup counter that was the
slow tail: one redeem in about a hundred crossed the threshold.

Here one thread per process and database file runs PASSIVE checkpoints, which never wait for and
never block readers or writers, a couple of times a second while the WAL grows. The commit-time
checkpoint stays as a safety net at ten times the default size, should this thread fall behind or
die. The thread ends after a while with nothing to do and the next commit starts it again, so
short-lived apps (the CLI, tests) do not leave it running.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

log = logging.getLogger(__name__)

CHECK_EVERY_S = 0.5
IDLE_EXIT_S = 30.0
# The commit-time checkpoint left as a safety net, in pages (4 KiB each): 40 MiB of WAL.
SAFETY_NET_PAGES = 10_000

_threads: dict[tuple[int, str], threading.Thread] = {}
_stops: dict[tuple[int, str], threading.Event] = {}
_guard = threading.Lock()


def ensure_running(database: str) -> None:
    """Make sure this process has a checkpointer for `database` (cheap when it has)."""
    key = (os.getpid(), database)  # a forked worker starts its own: threads do not survive fork
    thread = _threads.get(key)
    if thread is not None and thread.is_alive():
        return
    with _guard:
        thread = _threads.get(key)
        if thread is not None and thread.is_alive():
            return
        stop = _stops[key] = threading.Event()
        thread = threading.Thread(target=_run, args=(database, stop), name="sqlite-checkpoint", daemon=True)
        _threads[key] = thread
        thread.start()


def stop(database: str, timeout: float = 5.0) -> None:
    """End this process's checkpointer for `database` and wait for it to close its connection
    (a restore replaces the file under it; the next commit starts a new one)."""
    target = os.path.realpath(database)
    with _guard:
        keys = [k for k in _threads if k[0] == os.getpid() and os.path.realpath(k[1]) == target]
        ended = [(_threads.pop(k), _stops.pop(k, None)) for k in keys]
    for thread, event in ended:
        if event is not None:
            event.set()
        if thread is not threading.current_thread():
            thread.join(timeout)


def _run(database: str, stop: threading.Event) -> None:
    try:
        conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    except sqlite3.Error:
        log.warning("no background checkpoints for %s; commits checkpoint instead", database, exc_info=True)
        return
    last_frames, idle = -1, 0.0
    try:
        while idle < IDLE_EXIT_S and os.path.exists(database):
            if stop.wait(CHECK_EVERY_S):
                return
            try:
                _busy, frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error:
                log.info("background checkpoint of %s failed; trying again", database, exc_info=True)
                continue
            idle = idle + CHECK_EVERY_S if frames == last_frames else 0.0
            last_frames = frames
    finally:
        conn.close()
