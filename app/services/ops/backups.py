"""Online backups of the SQLite database, and restoring one (PostgreSQL: pg_dump, see README).

A backup copies pages with SQLite's backup API in steps from a read transaction opened before
the first step. The database runs in WAL mode, so that read transaction never blocks the app's
or the scheduler's writers; and because it pins one snapshot, writes committed between steps
do not restart the copy (without it SQLite starts over after every foreign write, and a busy
counter would keep a backup restarting for ever). The copy is the database as of that snapshot;
the WAL grows meanwhile, as checkpoints cannot pass an open snapshot, and is checkpointed after.

A restore writes the backup into the database with the same API in one step, which is one
transaction: other connections see the old database or the new one, never a mix, and a failure
rolls back. It cannot tell whether the app is running (each process keeps an idle checkpoint
connection open, see engine_checkpoints.py), so the operator is asked to stop it (`--yes`).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app

from app import engine_checkpoints, engine_in_use
from app.engine import keep_private
from app.extensions import db
from app.services.core import clock

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_BYTES = 100
# 1 MiB of 4 KiB pages a step: the progress callback runs and other threads get the GIL between.
STEP_PAGES = 256
# What the backup API waits between tries when a step finds the database busy.
BUSY_SLEEP_S = 0.05

Progress = Callable[[int, int], None]  # (pages remaining, pages in all) after each step

_DAMAGED = (
    "The current database {database} could not be read ({exc}); nothing was restored. If it is "
    "damaged, move it away with its -wal and -shm files and run the restore again."
)


class BackupRefused(Exception):
    """A backup or restore that was not made, saying why and what to do; nothing was changed."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    orders: int
    revision: str
    # "current", "older" (restore, then `flask db upgrade`) or "unknown" (made by a newer release).
    schema: str


@dataclass(frozen=True)
class Restored:
    database: BackupInfo
    kept: Path | None  # the database as it was before the restore; None when there was none


def sqlite_database() -> Path:
    """The configured SQLite database file; BackupRefused for any other kind of database."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(
            f"The configured database is {url.get_backend_name()}, not SQLite: back it up with "
            '`pg_dump --format=custom` and restore with `pg_restore` (README, "Backups").'
        )
    if not url.database or url.database == ":memory:" or "mode=memory" in str(url):
        raise BackupRefused("The configured SQLite database is in memory: there is no file to back up.")
    return Path(url.database).resolve()


def default_backup_path() -> Path:
    """instance/backups/groupbuy-YYYYmmdd-HHMMSS.sqlite3, stamped in UTC."""
    return Path(current_app.instance_path) / "backups" / f"groupbuy-{_stamp()}.sqlite3"


def take_backup(
    target: Path | str | None = None, *, pages: int = STEP_PAGES, progress: Progress | None = None
) -> BackupInfo:
    """Copy the live database to `target` (default: default_backup_path(); a folder, or a path
    ending in a slash, which is created if missing: that name inside it) without stopping the
    app, verify the copy, and describe it."""
    database = sqlite_database()
    if not database.is_file():
        raise BackupRefused(f"There is no database at {database} yet: nothing to back up.")
    if target is None:
        target = default_backup_path()
        with _folder(target.parent) as folder:
            return _take(database, folder / target.name, pages, progress)
    if str(target).endswith(("/", os.sep)):  # a Path drops the slash: it must be looked at here
        with _folder(Path(target)) as folder:
            return _take(database, folder / default_backup_path().name, pages, progress)
    target = Path(target)
    if target.is_dir():
        target = target / default_backup_path().name
    if not target.resolve().parent.is_dir():
        raise BackupRefused(
            f"The folder {target.resolve().parent} does not exist. Create it, or end the path with / "
            "to back up into a new folder."
        )
    return _take(database, target, pages, progress)


def _take(database: Path, target: Path, pages: int, progress: Progress | None) -> BackupInfo:
    target = target.resolve()
    if target.exists():
        raise BackupRefused(f"{target} already exists: a backup never replaces a file. Choose another path.")
    with _new_file(target) as tmp:
        _online_copy(database, tmp, pages=pages, progress=progress)
        info = describe_backup(tmp)
    return replace(info, path=target)


@contextmanager
def _folder(folder: Path) -> Iterator[Path]:
    """`folder`, created (owner only: backups hold names and phones) with any missing parents
    when it does not exist yet; the folders it created are removed again if the block fails."""
    folder = folder.resolve()
    if folder.exists() and not folder.is_dir():
        raise BackupRefused(f"{folder} is a file, not a folder: a backup never replaces a file.")
    created = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupRefused(f"The folder {folder} could not be created: {exc.strerror}.") from None
    try:
        yield folder
    except BaseException:
        for made in created:  # deepest first; one that now holds something stays
            try:
                made.rmdir()
            except OSError:
                break
        raise


def check_restorable(path: Path) -> BackupInfo:
    """describe_backup(), refusing a schema this release does not know. Reads only."""
    info = describe_backup(path)
    if info.schema == "unknown":
        raise BackupRefused(
            f"{path} has schema revision {info.revision or 'none'}, which this release does not know: it was "
            "made by a newer release (or another application). Restore it with that release."
        )
    return info


def describe_backup(path: Path) -> BackupInfo:
    """Check that `path` is a whole, uncorrupted GroupBuy database and describe it;
    BackupRefused saying what is wrong otherwise. Reads only."""
    path = Path(path)
    if not path.exists():
        raise BackupRefused(f"{path}: no such file.")
    if not path.is_file():
        raise BackupRefused(f"{path} is not a file.")
    size = path.stat().st_size
    with path.open("rb") as fh:
        header = fh.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES or not header.startswith(SQLITE_MAGIC):
        raise BackupRefused(f"{path} is not a SQLite database ({size} bytes, no SQLite header).")
    expected = _size_from_header(header)
    if expected is not None and size < expected:
        raise BackupRefused(f"{path} is truncated: its header says {expected} bytes, the file has {size}.")
    try:
        with closing(_connect(path, mode="ro")) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(5)")]
            if problems != ["ok"]:
                raise BackupRefused(f"{path} is corrupt: {'; '.join(problems)}")
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"alembic_version", "orders"} <= tables:
                raise BackupRefused(
                    f"{path} is a SQLite database but not a GroupBuy one (no schema revision or orders)."
                )
            revisions = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
            orders = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"{path} cannot be read as a SQLite database: {exc}.") from None
    return BackupInfo(path, size, orders, ",".join(revisions), _schema(revisions))


def restore_backup(source: Path) -> Restored:
    """Replace the database with the backup at `source`, keeping the current one beside it as
    `<db>.before-restore-<stamp>`. The app and every scheduler must be stopped."""
    database = sqlite_database()
    check_restorable(source)
    if Path(source).resolve() == database:
        raise BackupRefused(f"{source} is the configured database itself.")
    if not database.parent.is_dir():
        raise BackupRefused(f"The folder {database.parent} does not exist.")
    db.session.remove()  # nothing this process loaded may be written back over the restored data
    db.engine.dispose()  # nor through a connection opened before it
    engine_checkpoints.stop(str(database))  # nor by this process's background checkpointer
    try:
        with engine_in_use.alone(str(database)):
            kept = _restore_alone(Path(source), database)
    except engine_in_use.InUse:
        raise BackupRefused(
            f"Another process has {database} open (the app, a scheduler or another flask command): "
            "stop them all first, then run the restore again. Nothing was changed."
        ) from None
    return Restored(describe_backup(database), kept)


def _restore_alone(source: Path, database: Path) -> Path | None:
    """The restore proper, with no other process on the database; where the old file was kept."""
    existed = database.exists()
    had_data = existed and database.stat().st_size > 0
    kept = None
    try:
        with closing(sqlite3.connect(database, isolation_level=None, timeout=30)) as live:
            keep_private(str(database))  # connecting may have created it, world-readable
            if had_data:
                kept = database.with_name(f"{database.name}.before-restore-{_stamp()}")
                _keep_current(database, kept)
            _copy_in(source, live)
            live.execute("PRAGMA journal_mode=WAL")  # a new file starts in rollback mode
    except BackupRefused:
        if not existed:  # connecting created it
            database.unlink(missing_ok=True)
        raise
    return kept


def _online_copy(database: Path, dest: Path, *, pages: int, progress: Progress | None) -> None:
    with closing(_connect(database, mode="rw")) as src, closing(sqlite3.connect(dest, isolation_level=None)) as dst:
        src.execute("PRAGMA journal_mode=WAL")  # what every app connection sets; a no-op then
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the pinned snapshot
        step = (lambda _status, remaining, total: progress(remaining, total)) if progress else None
        src.backup(dst, pages=pages, progress=step, sleep=BUSY_SLEEP_S)
        src.execute("COMMIT")
        # The copy arrives in WAL mode like its source; one self-contained file is what a backup
        # should be (no -wal/-shm files appear beside it when it is opened).
        dst.execute("PRAGMA journal_mode=DELETE")


def _copy_in(source: Path, live: sqlite3.Connection) -> None:
    try:
        with closing(_connect(source, mode="ro")) as backup:
            backup.backup(live, sleep=BUSY_SLEEP_S)  # one step: one transaction, all or nothing
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"Restoring {source} failed and was rolled back: {exc}.") from None


def _keep_current(database: Path, kept: Path) -> None:
    try:
        with _new_file(kept) as tmp:
            _online_copy(database, tmp, pages=STEP_PAGES, progress=None)
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(_DAMAGED.format(database=database, exc=exc)) from None


@contextmanager
def _new_file(path: Path) -> Iterator[Path]:
    """A temporary file beside `path`, published as `path` only if the block succeeds and
    nothing took the name meanwhile. Unlike files.replacing(), which exists to regenerate a file,
    this never replaces one: link() fails on an existing name where rename() would not."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise BackupRefused(f"{path} appeared while the copy was written; it was left alone.") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _connect(path: Path, *, mode: str) -> sqlite3.Connection:
    # A URI with mode=ro/rw: opening never creates a missing database file.
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, isolation_level=None, timeout=30)


def _size_from_header(header: bytes) -> int | None:
    """The file size the header declares, when the header's page count is trustworthy."""
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    page_count = int.from_bytes(header[28:32], "big")
    # The count is valid only if the change counter matches the "version valid for" number.
    if page_count == 0 or header[24:28] != header[92:96]:
        return None
    return page_size * page_count


def _schema(revisions: list[str]) -> str:
    """How a file's schema revisions compare with this release's migrations."""
    scripts = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if not revisions or not set(revisions) <= known:
        return "unknown"
    return "current" if set(revisions) == set(scripts.get_heads()) else "older"


def _stamp() -> str:
    return clock.now().strftime("%Y%m%d-%H%M%S")
