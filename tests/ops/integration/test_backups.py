"""`flask backup` and `flask restore`: an online SQLite copy taken while orders keep coming is one
consistent moment, a restore brings back every order as it was, and bad input changes nothing."""

from __future__ import annotations

import re
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.models import PickupPoint, Window, WindowItem
from app.services.ops.backups import take_backup
from tests.conftest import SECRET

STOCK = 100_000
# id, number, status and pickup code of every order: what a restore must bring back exactly.
ORDERS_SQL = (
    "SELECT o.id, o.number, o.status, c.code FROM orders o LEFT JOIN pickup_codes c ON c.order_id = o.id ORDER BY o.id"
)


@pytest.fixture
def shop(make_product, make_window, make_point):
    """(window, point, window item) with room for many orders."""
    product = make_product(stock=STOCK)
    window = make_window(items=[{"product": product}])
    point = make_point(capacity=STOCK)
    return window, point, window.items[0]


@pytest.fixture
def some_orders(shop, make_order):
    """Orders in several states, confirmed ones with their pickup codes."""
    window, point, item = shop
    for status in ("confirmed", "confirmed", "ready_for_pickup", "paid", "pending_payment", "confirmed"):
        make_order(window, point, [(item, 2)], status=status)
    return _orders()


@pytest.fixture
def fresh_app(tmp_path, monkeypatch):
    """A second app over a database file that does not exist yet (a new machine)."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "fresh-instance"))
    fresh = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh-instance' / 'groupbuy.sqlite3'}",
            "SECRET_KEY": SECRET,
            "TESTING": True,
        }
    )
    yield fresh
    with fresh.app_context():
        db.engine.dispose()


def _orders(conn=None) -> list[tuple]:
    if conn is not None:
        return [tuple(row) for row in conn.execute(ORDERS_SQL)]
    db.session.rollback()  # end any read left open: a fresh snapshot
    return [tuple(row) for row in db.session.execute(text(ORDERS_SQL))]


def _database() -> Path:
    return Path(db.engine.url.database)


def _leftovers(folder: Path) -> list[str]:
    """Files a refused command must not have left: kept copies and temporary files."""
    return sorted(p.name for p in folder.iterdir() if "before-restore" in p.name or p.name.endswith(".tmp"))


def _backup(app, path: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.sqlite_only
def test_backup_taken_while_orders_keep_coming_is_one_consistent_moment(app, shop, make_order, tmp_path):
    window, point, item = shop
    for _ in range(5):
        make_order(window, point, [(item, 1)], status="confirmed")
    committed, stop, placed = threading.Semaphore(0), threading.Event(), []
    # Ids read here: touching this session's objects from the writer would use this session.
    window_id, point_id, item_id, product_id = window.id, point.id, item.id, item.product_id

    def keep_ordering():
        with app.app_context():
            try:
                w, p = db.session.get(Window, window_id), db.session.get(PickupPoint, point_id)
                i = db.session.get(WindowItem, item_id)
                while not stop.is_set():
                    placed.append(make_order(w, p, [(i, 1)], status="confirmed").id)
                    committed.release()
            finally:
                db.session.remove()

    steps = []

    def after_each_step(remaining, total):
        # An order is committed between every two steps; each of those writes would make a copy
        # without a pinned snapshot start over (for ever, as long as orders keep coming).
        steps.append(remaining)
        assert len(steps) <= total // 4 + 1, "the copy started over"
        assert committed.acquire(timeout=30), "the writer stopped writing"

    writer = threading.Thread(target=keep_ordering)
    writer.start()
    try:
        info = take_backup(tmp_path / "during.sqlite3", pages=4, progress=after_each_step)
    finally:
        stop.set()
        writer.join(timeout=60)

    assert len(steps) > 10 and len(placed) >= len(steps)
    live = _orders()
    with closing(sqlite3.connect(info.path)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert copy.execute("PRAGMA foreign_key_check").fetchall() == []
        saved = _orders(copy)
        # Every counter the order path moves agrees with the orders in the copy: one moment.
        sold = copy.execute("SELECT sold FROM window_items WHERE id = ?", (item_id,)).fetchone()[0]
        stock = copy.execute("SELECT stock FROM products WHERE id = ?", (product_id,)).fetchone()[0]
        usage = copy.execute("SELECT orders_count FROM point_window_usage").fetchone()[0]
        lines = copy.execute("SELECT sum(quantity) FROM order_items").fetchone()[0]
    assert 5 <= len(saved) < len(live) == 5 + len(placed)
    assert saved == live[: len(saved)]  # the orders committed before the snapshot, codes and all
    assert sold == lines == usage == len(saved) == info.orders
    assert stock == STOCK - len(saved)
    assert all(code for _, _, _, code in saved)


@pytest.mark.sqlite_only
def test_restore_brings_back_every_order_as_it_was_and_drops_later_ones(app, shop, some_orders, make_order, tmp_path):
    window, point, item = shop
    backup = _backup(app, tmp_path / "nightly.sqlite3")
    later = make_order(window, point, [(item, 1)], status="confirmed").id
    db.session.execute(text("UPDATE orders SET status = 'cancelled' WHERE id = :id"), {"id": some_orders[0][0]})
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])

    assert result.exit_code == 0, result.output
    assert _orders() == some_orders
    assert later not in {row[0] for row in _orders()}
    kept = Path(re.search(r"kept as (\S+)", result.output).group(1))
    with closing(sqlite3.connect(kept)) as before:
        assert len(_orders(before)) == len(some_orders) + 1  # what the restore replaced, kept
    kept.unlink()
    assert f"orders: {len(some_orders)}" in result.output


@pytest.mark.sqlite_only
def test_restore_into_a_new_instance_finds_every_order(app, some_orders, fresh_app, tmp_path):
    backup = _backup(app, tmp_path / "nightly.sqlite3")

    with fresh_app.app_context():  # the CLI would otherwise run in the test app's context
        result = fresh_app.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])

        assert result.exit_code == 0, result.output
        assert "kept as" not in result.output  # there was no database to keep
        restored = _database()
        assert restored.stat().st_mode & 0o777 == 0o600  # the restore created it: owner only
        assert _orders() == some_orders
        db.session.remove()


@pytest.mark.sqlite_only
def test_backup_goes_to_instance_backups_by_default_and_says_what_it_holds(app, some_orders):
    result = app.test_cli_runner().invoke(args=["backup"])

    assert result.exit_code == 0, result.output
    path = Path(re.search(r"backup written: (\S+)", result.output).group(1))
    assert path.parent == Path(current_app.instance_path) / "backups"
    assert re.fullmatch(r"groupbuy-\d{8}-\d{6}\.sqlite3", path.name)
    assert f"orders: {len(some_orders)}" in result.output and "(current)" in result.output
    with closing(sqlite3.connect(path)) as copy:
        assert _orders(copy) == some_orders
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
    path.unlink()


@pytest.mark.sqlite_only
def test_backup_never_replaces_an_existing_file(app, some_orders, tmp_path):
    taken = tmp_path / "taken.sqlite3"
    taken.write_text("the operator's own file")

    result = app.test_cli_runner().invoke(args=["backup", str(taken)])

    assert result.exit_code != 0 and "already exists" in result.output
    assert taken.read_text() == "the operator's own file"
    assert _leftovers(tmp_path) == []


@pytest.mark.sqlite_only
@pytest.mark.parametrize("name", ["nightly", "some/missing/folder"])
def test_backup_to_a_path_ending_in_a_slash_creates_that_folder_and_backs_up_into_it(
    app, some_orders, tmp_path, frozen_clock, name
):
    folder = tmp_path / name

    first = app.test_cli_runner().invoke(args=["backup", f"{folder}/"])
    frozen_clock.advance(seconds=1)
    second = app.test_cli_runner().invoke(args=["backup", f"{folder}/"])  # and again, later

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert folder.is_dir() and folder.stat().st_mode & 0o777 == 0o700
    backups = sorted(folder.iterdir())
    assert [p.name for p in backups] == ["groupbuy-20261122-020000.sqlite3", "groupbuy-20261122-020001.sqlite3"]
    for path in backups:
        with closing(sqlite3.connect(path)) as copy:
            assert _orders(copy) == some_orders


@pytest.mark.sqlite_only
def test_backup_to_a_path_ending_in_a_slash_that_is_a_file_is_refused(app, some_orders, tmp_path):
    taken = tmp_path / "nightly"
    taken.write_text("the operator's own file")

    result = app.test_cli_runner().invoke(args=["backup", f"{taken}/"])

    assert result.exit_code != 0 and "is a file, not a folder" in result.output
    assert taken.read_text() == "the operator's own file"
    assert _leftovers(tmp_path) == []


@pytest.mark.sqlite_only
def test_backup_into_a_missing_folder_without_the_slash_is_refused_and_creates_nothing(app, some_orders, tmp_path):
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "missing" / "nightly.sqlite3")])

    assert result.exit_code != 0 and "does not exist" in result.output and "end the path with /" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.sqlite_only
def test_backup_that_fails_removes_the_folder_it_created(app, some_orders, tmp_path, monkeypatch):
    from app.services.ops import backups

    def disk_full(*_args, **_kwargs):
        raise backups.BackupRefused("No space left on device.")

    monkeypatch.setattr(backups, "_online_copy", disk_full)
    result = app.test_cli_runner().invoke(args=["backup", f"{tmp_path / 'new' / 'folder'}/"])

    assert result.exit_code != 0 and "No space left" in result.output
    assert list(tmp_path.iterdir()) == []


def _garbage(path: Path, good: Path) -> None:
    path.write_bytes(bytes(range(256)) * 64)


def _empty(path: Path, good: Path) -> None:
    path.write_bytes(b"")


def _truncated(path: Path, good: Path) -> None:
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])


def _text(path: Path, good: Path) -> None:
    path.write_text("id,status\n1,paid\n")


def _corrupt(path: Path, good: Path) -> None:
    with closing(sqlite3.connect(good)) as conn:
        root, page_size = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'orders'").fetchone()[0], 4096
    data = bytearray(good.read_bytes())
    data[(root - 1) * page_size : root * page_size] = b"\xff" * page_size
    path.write_bytes(bytes(data))


def _not_groupbuy(path: Path, good: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.commit()


def _newer_release(path: Path, good: Path) -> None:
    path.write_bytes(good.read_bytes())
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'")
        conn.commit()


def _missing(path: Path, good: Path) -> None:
    pass


def _folder(path: Path, good: Path) -> None:
    path.mkdir()


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("make_bad", "says"),
    [
        (_garbage, "is not a SQLite database"),
        (_empty, "is not a SQLite database"),
        (_truncated, "is truncated"),
        (_text, "is not a SQLite database"),
        (_corrupt, r"is corrupt|cannot be read"),
        (_not_groupbuy, "not a GroupBuy one"),
        (_newer_release, "newer release"),
        (_missing, "no such file"),
        (_folder, "is a directory|not a file"),
    ],
)
def test_restore_refuses_a_bad_file_and_changes_nothing(app, some_orders, tmp_path, make_bad, says):
    good = _backup(app, tmp_path / "good.sqlite3")
    bad = tmp_path / "restore-me.sqlite3"
    make_bad(bad, good)
    folder = _database().parent
    before = _leftovers(folder)

    result = app.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])

    assert result.exit_code != 0
    assert re.search(says, result.output), result.output
    assert "Traceback" not in result.output
    assert _orders() == some_orders
    assert _leftovers(folder) == before


@pytest.mark.sqlite_only
def test_restore_without_yes_checks_the_backup_and_says_to_stop_the_app(app, shop, some_orders, make_order, tmp_path):
    window, point, item = shop
    backup = _backup(app, tmp_path / "nightly.sqlite3")
    make_order(window, point, [(item, 1)])
    now, before = _orders(), _leftovers(_database().parent)

    result = app.test_cli_runner().invoke(args=["restore", str(backup)])

    assert result.exit_code != 0
    assert "is a valid backup" in result.output and f"orders: {len(some_orders)}" in result.output
    assert "Stop the app and every scheduler" in result.output and "--yes" in result.output
    assert _orders() == now
    assert _leftovers(_database().parent) == before


@pytest.mark.sqlite_only
def test_restoring_an_older_backup_says_to_run_db_upgrade(app, some_orders, fresh_app, tmp_path):
    backup = _backup(app, tmp_path / "nightly.sqlite3")
    scripts = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    previous = scripts.get_revision(scripts.get_current_head()).down_revision
    with closing(sqlite3.connect(backup)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (previous,))
        conn.commit()

    with fresh_app.app_context():
        result = fresh_app.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])

    assert result.exit_code == 0, result.output
    assert previous in result.output and "flask db upgrade" in result.output


@pytest.mark.postgresql_only
def test_backup_and_restore_refuse_postgresql_and_point_to_pg_dump(app, some_orders, tmp_path):
    runner = app.test_cli_runner()

    backup = runner.invoke(args=["backup", str(tmp_path / "pg.sqlite3")])
    restore = runner.invoke(args=["restore", str(tmp_path / "pg.sqlite3"), "--yes"])

    for result in (backup, restore):
        assert result.exit_code != 0 and "pg_dump" in result.output, result.output
    assert not (tmp_path / "pg.sqlite3").exists()
    assert _orders() == some_orders


HOLDER = """
import sys
from app import create_app
from app.extensions import db
from sqlalchemy import text

app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": sys.argv[2], "SCHEDULER_ENABLED": False})
with app.app_context():
    if sys.argv[3] == "connected":
        db.session.execute(text("SELECT count(*) FROM orders")).scalar()
        db.session.rollback()
    print("open", flush=True)
    sys.stdin.read()  # holds on until the test closes our stdin
"""


@pytest.mark.sqlite_only
@pytest.mark.parametrize("holder_state", ["connected", "built"])  # "built": a worker before its first request
def test_restore_refuses_while_another_process_has_the_database_open(
    app, shop, some_orders, make_order, tmp_path, holder_state
):
    import subprocess
    import sys

    window, point, item = shop
    backup = _backup(app, tmp_path / "nightly.sqlite3")
    make_order(window, point, [(item, 1)])
    now, before = _orders(), _leftovers(_database().parent)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    holder = subprocess.Popen(  # what a running app or scheduler looks like to the restore
        [sys.executable, "-c", HOLDER, url, SECRET, holder_state],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"

        refused = app.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])

        assert refused.exit_code != 0
        assert "Another process has" in refused.output and "Nothing was changed" in refused.output
        assert "Traceback" not in refused.output
        assert _orders() == now
        assert _leftovers(_database().parent) == before
    finally:
        holder.communicate(input="", timeout=30)  # the holder ends: its lock goes with it

    restored = app.test_cli_runner().invoke(args=["restore", str(backup), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert _orders() == some_orders
    Path(re.search(r"kept as (\S+)", restored.output).group(1)).unlink()
