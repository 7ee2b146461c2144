"""Which processes have a SQLite database open, so that `flask restore` can refuse while any do.

From its first connection on, every process holds a shared lock on `<database>-inuse.lock`
(released by the kernel when the process ends, however it ends). A restore asks for the lock
exclusively: granted only when no other process — the app, a scheduler, another `flask`
command — has the database open, and held until the new file is in place. A restore under a
running app would otherwise leave that app writing through connections to the replaced file.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_guard = threading.Lock()
_held: dict[tuple[int, str], int] = {}  # (pid, database) -> descriptor holding the shared lock


class InUse(Exception):
    """Another process has the database open."""


def _lock_path(database: str) -> str:
    return os.path.realpath(database) + "-inuse.lock"


def mark_in_use(database: str) -> None:
    """Say this process has `database` open (once per process; a forked child marks its own)."""
    if not database or database == ":memory:":
        return
    key = (os.getpid(), os.path.realpath(database))
    with _guard:
        if key in _held:
            return
        try:
            fd = os.open(_lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return  # a read-only folder: nothing to restore into there either
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            # A restore holds it right now; this connection sees the old or the new file whole.
            os.close(fd)
            return
        _held[key] = fd


@contextmanager
def alone(database: str) -> Iterator[None]:
    """Hold `database` exclusively for the block; InUse if another process has it open. This
    process's own mark is dropped first (its connections must be closed by the caller)."""
    key = (os.getpid(), os.path.realpath(database))
    with _guard:
        own = _held.pop(key, None)
        if own is not None:
            os.close(own)
    fd = os.open(_lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InUse() from None
        yield
    finally:
        os.close(fd)
